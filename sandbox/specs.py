"""Request bodies checked against the official OpenAPI files (`../shared/specs/`).

The product's tests run against the sandbox, so whatever the real API would refuse must be
refused here as well; the sandbox answers 400 and records a spec violation. The files are big
(several MB), so each is parsed once per process, on first use, and one validator is compiled
per operation and media type.

The OpenAPI 3.0 schema dialect is openapi-schema-validator's: `OAS30WriteValidator` for
requests (a `readOnly` property is refused), `OAS30ReadValidator` for responses (a `writeOnly`
one is), `nullable` beside `type`, and the OAS formats it knows (`int32`, `int64`, `byte`, ...).
Two things are added here:
- `nullable: true` also admits `null` beside `enum` and `$ref`: the library reads OAS 3.0.3
  strictly (null must be in the enum, `$ref` siblings mean nothing), but Zendesk's and
  Klaviyo's files write nullable enums and references that way, and their APIs accept null;
- form bodies (Twilio) are all strings on the wire: each value is first converted to the
  declared scalar type, so `Attempt=5` is an integer but `Attempt=five` is refused; a name
  the schema does not declare is refused too, since the real API would ignore a misspelt
  parameter without a word; a repeated name is allowed only for array parameters.
The vendors' own formats (`phone-number`, `date-time-rfc-2822`, ...) and JSON Schema's
(`date-time`, `uri`, ...) are not checked: they are documentation more than constraints.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

import yaml  # type: ignore[import-untyped,unused-ignore]
from jsonschema import (  # type: ignore[import-untyped,unused-ignore]
    ValidationError,
    validators,
)
from jsonschema.exceptions import best_match  # type: ignore[import-untyped,unused-ignore]
from jsonschema.protocols import Validator  # type: ignore[import-untyped,unused-ignore]
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry
from referencing.jsonschema import DRAFT4

log = logging.getLogger(__name__)

SpecName = Literal["zendesk", "twilio", "klaviyo"]
SPEC_FILES: dict[SpecName, str] = {
    "zendesk": "zendesk-oas.yaml",
    "twilio": "twilio_api_v2010.json",
    "klaviyo": "klaviyo-openapi.json",
}
SPECS_DIR_ENV = "SMSDESK_SPECS_DIR"
FORM = "application/x-www-form-urlencoded"


class SpecMissing(RuntimeError):
    """A vendor's OpenAPI file is not where the sandbox looks: it will not run unchecked."""


def specs_dir() -> Path:
    """`$SMSDESK_SPECS_DIR`, else `<repo root>/../shared/specs` (repo root holds `sandbox/`)."""
    configured = os.environ.get(SPECS_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "specs"


class _OasYamlLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    """Safe loader that also reads Zendesk's one bare `=` scalar (YAML's `value` tag)."""


_OasYamlLoader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def _read_document(path: Path) -> dict[str, Any]:
    # Parsing allocates a great many objects (YAML nodes, then the document's dicts and lists)
    # and makes no garbage cycle: the collector's passes over them took half the load time
    # and freed nothing. (Loads are serialised by `_lock`: none re-enables it meanwhile.)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with path.open("rb") as stream:
            if path.suffix in {".yaml", ".yml"}:
                document: dict[str, Any] = yaml.load(stream, Loader=_OasYamlLoader)
            else:
                document = json.load(stream)
    finally:
        if collecting:
            gc.enable()
    return document


def _admitting_null(base: type[Validator]) -> type[Validator]:
    """`base` whose `enum` and `$ref` let `null` through where the schema says `nullable`."""

    def nullable(keyword: str) -> Any:
        check = base.VALIDATORS[keyword]

        def admit_null(
            validator: Validator, value: Any, instance: Any, schema: dict[str, Any]
        ) -> Iterator[ValidationError]:
            if instance is None and schema.get("nullable") is True:
                return
            yield from check(validator, value, instance, schema)

        return admit_null

    extended: type[Validator] = validators.extend(  # type: ignore[no-untyped-call,unused-ignore]
        base, {"enum": nullable("enum"), "$ref": nullable("$ref")}
    )
    return extended


RequestValidator = _admitting_null(OAS30WriteValidator)
ResponseValidator = _admitting_null(OAS30ReadValidator)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class _Template:
    path: str
    pattern: re.Pattern[str]
    params: int


class OpenApiSpec:
    """One parsed OpenAPI document with its operations and compiled validators."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.name = name
        self._document = document
        self._uri = f"urn:smsdesk:spec:{name}"
        self._registry: Registry[Any] = Registry().with_resource(
            self._uri, DRAFT4.create_resource(document)
        )
        self._templates: dict[int, list[_Template]] = {}
        for path in document.get("paths", {}):
            pattern = re.compile(
                "".join(
                    "[^/]+" if part.startswith("{") else re.escape(part)
                    for part in re.split(r"(\{[^}]+\})", path)
                )
            )
            template = _Template(path, pattern, path.count("{"))
            self._templates.setdefault(path.count("/"), []).append(template)
        for group in self._templates.values():
            group.sort(key=lambda template: template.params)  # literal segments win
        self._validators: dict[tuple[str, bool], Validator] = {}

    def find_operation(self, method: str, path: str) -> str | None:
        """The spec's path template for this request, if the spec describes the operation."""
        for template in self._templates.get(path.count("/"), []):
            if template.pattern.fullmatch(path):
                operation = self._document["paths"][template.path].get(method.lower())
                if operation is not None:
                    return template.path
        return None

    def resolve(self, pointer: str) -> tuple[Any, str]:
        """The node at a JSON pointer, following local `$ref`s; returns it and its pointer."""
        node: Any = self._document
        for token in pointer.split("/")[1:]:
            node = node[int(token)] if isinstance(node, list) else node[_unescape(token)]
        if isinstance(node, dict) and str(node.get("$ref", "")).startswith("#"):
            return self.resolve(node["$ref"][1:])
        return node, pointer

    def validator(self, pointer: str, *, request: bool = True) -> Validator:
        """A cached validator for the schema at `pointer` (a request or a response schema)."""
        key = (pointer, request)
        if key not in self._validators:
            cls = RequestValidator if request else ResponseValidator
            self._validators[key] = cls(
                {"$ref": f"{self._uri}#{pointer}"},
                registry=self._registry,
                format_checker=cls.FORMAT_CHECKER,
            )
        return self._validators[key]

    def request_problem(self, method: str, path: str, content_type: str, body: bytes) -> str | None:
        """Why this request body breaks the spec, or None when it conforms (or is unknown)."""
        template = self.find_operation(method, path)
        if template is None:
            return None
        operation_pointer = f"/paths/{_escape(template)}/{method.lower()}"
        if "requestBody" not in self.resolve(operation_pointer)[0]:
            return None
        request_body, body_pointer = self.resolve(operation_pointer + "/requestBody")
        where = f"{method.upper()} {template}"
        if not body:
            return f"{where}: a request body is required" if request_body.get("required") else None
        content: dict[str, Any] = request_body.get("content", {})
        media = content_type.split(";")[0].strip().lower()
        if media == FORM and FORM in content:
            pointer = f"{body_pointer}/content/{_escape(FORM)}/schema"
            instance, problem = self._form_instance(pointer, body)
            if problem:
                return f"{where}: {problem}"
        elif media == "application/json" or media.endswith("+json"):
            declared = [m for m in content if m == "application/json" or m.endswith("+json")]
            if not declared:
                return f"{where}: {media} bodies are not accepted (expected {', '.join(content)})"
            pointer = f"{body_pointer}/content/{_escape(declared[0])}/schema"
            try:
                instance = json.loads(body)
            except ValueError as exc:
                return f"{where}: the body is not valid JSON ({exc})"
        elif media in content:
            return None  # binary and other bodies have no schema worth checking
        else:
            return f"{where}: content type {media or '(none)'} is not one of {', '.join(content)}"
        error = best_match(self.validator(pointer).iter_errors(instance))
        return None if error is None else f"{where}: {error.message} (at {error.json_path})"

    def _form_instance(self, pointer: str, body: bytes) -> tuple[dict[str, Any], str | None]:
        """The form body as the typed object its schema describes, or the reason it is not."""
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            return {}, f"the body is not a valid form ({exc})"
        schema, _ = self.resolve(pointer)
        properties: dict[str, Any] = schema.get("properties", {})
        given: dict[str, list[str]] = {}
        for name, value in pairs:
            given.setdefault(name, []).append(value)
        unknown = sorted(set(given) - set(properties))
        if unknown:
            return {}, f"unknown form parameter(s) {', '.join(unknown)}"
        instance: dict[str, Any] = {}
        for name, values in given.items():
            declared = self._deref(properties[name])
            if declared.get("type") == "array":
                items = self._deref(declared.get("items", {}))
                instance[name] = [_form_scalar(value, items) for value in values]
            elif len(values) > 1:
                return {}, f"form parameter {name} is given {len(values)} times but is not a list"
            else:
                instance[name] = _form_scalar(values[0], declared)
        return instance, None

    def _deref(self, schema: Any) -> dict[str, Any]:
        if isinstance(schema, dict) and str(schema.get("$ref", "")).startswith("#"):
            resolved: dict[str, Any] = self.resolve(schema["$ref"][1:])[0]
            return resolved
        return schema if isinstance(schema, dict) else {}


def _form_scalar(value: str, schema: dict[str, Any]) -> Any:
    """A form string as the declared JSON type, left as is when it does not convert."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if kind == "number" and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return float(value)
    if kind == "boolean" and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


_loaded: dict[Path, OpenApiSpec] = {}
_lock = threading.Lock()


def spec_path(name: SpecName) -> Path:
    """Where the named spec is read from.

    Raises:
        SpecMissing: the file is not there. A sandbox that quietly stopped checking would let
            every test pass against a permissive fake, so it refuses to start instead.
    """
    path = specs_dir() / SPEC_FILES[name]
    if not path.is_file():
        raise SpecMissing(
            f"{path} is missing: the {name} sandbox checks every request against the vendor's "
            f"OpenAPI file. Put the files in ../shared/specs beside the checkout, or point "
            f"{SPECS_DIR_ENV} at their folder."
        )
    return path


def load_spec(name: SpecName) -> OpenApiSpec:
    """The named spec, parsed once per process.

    Raises:
        SpecMissing: see `spec_path`.
    """
    path = spec_path(name)
    with _lock:
        if path not in _loaded:
            _loaded[path] = OpenApiSpec(name, _read_document(path))
        return _loaded[path]
