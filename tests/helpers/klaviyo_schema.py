"""Klaviyo's official schema for `POST /api/events`, to check the bodies the product sends.

Independent of the sandbox (which checks the same file): activity tests validate the body they
captured, e2e tests read the sandbox's recorded violations as well.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

SPEC_URI = "urn:klaviyo-openapi"


def specs_dir() -> Path:
    configured = os.environ.get("SMSDESK_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "specs"


@lru_cache(maxsize=1)
def _event_validator() -> Draft4Validator:
    document = json.loads((specs_dir() / "klaviyo-openapi.json").read_text())
    body = document["paths"]["/api/events"]["post"]["requestBody"]["content"]
    schema_ref = body["application/vnd.api+json"]["schema"]["$ref"]
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT4.create_resource(document))
    return Draft4Validator({"$ref": f"{SPEC_URI}{schema_ref}"}, registry=registry)


def event_body_problems(body: Any) -> list[str]:
    """Every way `body` breaks the spec's EventCreateQueryV2 (empty when it conforms)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'body'}: {error.message}"
        for error in _event_validator().iter_errors(body)
    ]
