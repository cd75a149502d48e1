"""Body parsing shared by the JSON receivers: a malformed body is a 422 naming every field."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: bytes | dict[str, Any], *, what: str) -> Model:
    """Validate a payload, or answer 422 naming every field that is wrong."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise HTTPException(422, f"malformed {what}: {reasons}") from exc
