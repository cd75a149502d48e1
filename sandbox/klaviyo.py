"""Offline Klaviyo: profiles with SMS consent, the Events API, and `/_sandbox/*` for tests.

Requests and answers are JSON:API documents shaped by `klaviyo-openapi.json` (revision
2026-07-15); every API request needs the `Authorization: Klaviyo-API-Key` and `revision`
headers, as the real API does.
"""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.responses import Response

from sandbox import credentials
from sandbox.klaviyo_state import (
    JSON_API,
    EventAttributes,
    KlaviyoError,
    KlaviyoState,
    Profile,
    ProfileSeed,
    invalid,
    iso,
)
from sandbox.middleware import CONTROL_PREFIX, ApiSurface
from sandbox.service import service_app

API_KEY = credentials.KLAVIYO_API_KEY
BASE_URL = "https://a.klaviyo.com"
REVISION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")
FILTER_FIELDS = frozenset({"id", "email", "phone_number", "external_id"})
_FILTER_TERM = re.compile(r'(equals|any)\((\w+),("(?:[^"\\]|\\.)*"|\[[^\]]*\])\)(?:,|$)')
_TITLES = {
    400: ("invalid", "Invalid input."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    404: ("not_found", "Not found."),
    429: ("throttled", "Request was throttled."),
}


def klaviyo_error(status: int, message: str) -> Response:
    code, title = _TITLES.get(status, ("error", "A server error occurred."))
    return KlaviyoError(status, code, title, message).response()


def _surface(api_key: str) -> ApiSurface:
    def admit(request: Request) -> Response | None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Klaviyo-API-Key {api_key}".encode()):
            return klaviyo_error(401, "Missing or invalid private key.")
        revision = request.headers.get("revision")
        if revision is None or not REVISION.fullmatch(revision):
            return invalid(
                "The `revision` header is required: an API revision date like 2026-07-15.",
                parameter="revision",
            ).response()
        return None

    return ApiSurface(spec="klaviyo", admit=admit, error=klaviyo_error)


def parse_filter(text: str) -> list[tuple[str, list[str]]]:
    """`equals(field,"value")` and `any(field,["a","b"])` terms, comma-separated (all must
    hold), on the fields Klaviyo lets profiles be looked up by."""
    terms: list[tuple[str, list[str]]] = []
    position = 0
    while position < len(text):
        match = _FILTER_TERM.match(text, position)
        if match is None:
            raise invalid(f"Invalid filter provided: {text}", parameter="filter")
        operation, field, raw = match.groups()
        if field not in FILTER_FIELDS:
            raise invalid(
                f"'{field}' is not a valid field for the resource 'profile'.", parameter="filter"
            )
        value = json.loads(raw)
        if (operation == "any") != isinstance(value, list):
            raise invalid(f"Invalid filter provided: {text}", parameter="filter")
        terms.append((field, value if isinstance(value, list) else [value]))
        position = match.end()
    return terms


def profile_json(profile: Profile, *, subscriptions: bool) -> dict[str, Any]:
    """A profile resource; `subscriptions` only when asked for, as in Klaviyo."""
    attributes: dict[str, Any] = {
        "email": profile.email,
        "phone_number": profile.phone_number,
        "external_id": profile.external_id,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "organization": None,
        "locale": None,
        "title": None,
        "image": None,
        "created": iso(profile.created),
        "updated": iso(profile.updated),
        "last_event_date": iso(profile.last_event),
        "location": None,
        "properties": profile.properties,
    }
    if subscriptions:
        attributes["subscriptions"] = _subscriptions(profile)
    return {
        "type": "profile",
        "id": profile.id,
        "attributes": attributes,
        "links": {"self": f"{BASE_URL}/api/profiles/{profile.id}/"},
    }


def _subscriptions(profile: Profile) -> dict[str, Any]:
    def channel(can_receive: str, consent: str) -> dict[str, Any]:
        decided = consent != "NEVER_SUBSCRIBED"
        return {
            can_receive: consent == "SUBSCRIBED",
            "consent": consent,
            "consent_timestamp": iso(profile.consent_updated) if decided else None,
            "last_updated": iso(profile.consent_updated) if decided else None,
            "method": "API" if decided else None,
            "method_detail": "",
        }

    return {
        "email": {"marketing": channel("can_receive_email_marketing", profile.email_marketing)},
        "sms": {
            "marketing": channel("can_receive_sms_marketing", profile.sms_marketing),
            "transactional": channel("can_receive_sms_transactional", profile.sms_transactional),
        },
    }


def _add_api_routes(app: FastAPI, state: KlaviyoState) -> None:
    """Profiles and Events."""

    @app.get("/api/profiles")
    async def get_profiles(
        request: Request,
        filter_: str | None = Query(default=None, alias="filter"),
        additional_fields: str = Query(default="", alias="additional-fields[profile]"),
    ) -> JSONResponse:
        """Every match in one page: look-ups by phone or email find one or two profiles."""
        found = state.filter_profiles(parse_filter(filter_ or ""))
        with_subscriptions = "subscriptions" in additional_fields.split(",")
        document = {
            "data": [profile_json(p, subscriptions=with_subscriptions) for p in found],
            "links": {"self": str(request.url)},
        }
        return JSONResponse(document, media_type=JSON_API)

    @app.get("/api/profiles/{profile_id}")
    async def get_profile(
        profile_id: str,
        additional_fields: str = Query(default="", alias="additional-fields[profile]"),
    ) -> JSONResponse:
        profile = state.data.profiles.get(profile_id)
        if profile is None:
            raise KlaviyoError(404, "not_found", "Not found.", f"Profile {profile_id} not found")
        with_subscriptions = "subscriptions" in additional_fields.split(",")
        document = {"data": profile_json(profile, subscriptions=with_subscriptions)}
        return JSONResponse(document, media_type=JSON_API)

    @app.post("/api/events", status_code=202)
    async def create_event(request: Request) -> Response:
        """202 with no body, also when the `unique_id` repeats (the event is then dropped)."""
        try:
            body = json.loads(await request.body())
            attributes = EventAttributes.model_validate(body["data"]["attributes"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise invalid(f"Invalid event document: {exc}") from exc
        state.record_event(attributes)
        return Response(status_code=202)


def _sandbox_router(state: KlaviyoState) -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])

    @router.get("/events")
    async def all_events(metric: str | None = None) -> dict[str, Any]:
        events = [e for e in state.data.events if metric is None or e.metric == metric]
        return {"events": [e.model_dump() for e in events]}

    @router.get("/profiles")
    async def all_profiles() -> dict[str, Any]:
        return {
            "profiles": [profile_json(p, subscriptions=True) for p in state.data.profiles.values()]
        }

    @router.post("/profiles")
    async def seed_profile(seed: ProfileSeed) -> dict[str, Any]:
        return {"profile": profile_json(state.upsert(seed), subscriptions=True)}

    return router


def create_klaviyo_app(
    *,
    api_key: str = API_KEY,
    state_file: Path | None = None,
    seed_profiles: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """Build the Klaviyo sandbox; its state is `app.state.sandbox` (a `KlaviyoState`).

    Args:
        api_key: the private key accepted as `Authorization: Klaviyo-API-Key <key>`.
        state_file: JSON file the data is kept in across restarts (None: memory only).
        seed_profiles: profiles present from the start and after each reset, each like
            `{"phone_number": "+1...", "email"?, "first_name"?, "sms_marketing": "SUBSCRIBED",
            "sms_transactional"?, "email_marketing"?}` (consent defaults to NEVER_SUBSCRIBED).
    """
    seeds = [ProfileSeed.model_validate(seed) for seed in seed_profiles or []]
    state = KlaviyoState(seeds=seeds, state_file=state_file)
    return service_app(
        "Klaviyo sandbox",
        state,
        _surface(api_key),
        add_api_routes=lambda app: _add_api_routes(app, state),
        control=_sandbox_router(state),
    )
