"""Klaviyo's profile and event rules as the product meets them.

Profiles carry SMS consent (marketing and transactional), which decides whether the product
may text a customer; events are stored once per (metric, profile, `unique_id`), which is how
Klaviyo makes the product's ticket metrics exactly-once; an event for an unknown person
creates the profile, as Klaviyo does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from sandbox.e164 import E164
from sandbox.service import ApiError
from sandbox.state import SandboxState

JSON_API = "application/vnd.api+json"
Consent = Literal["SUBSCRIBED", "UNSUBSCRIBED", "NEVER_SUBSCRIBED"]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class KlaviyoError(ApiError):
    """A JSON:API error document (`{"errors": [...]}`) with Klaviyo's codes and titles."""

    media_type = JSON_API

    def __init__(self, status: int, code: str, title: str, detail: str, **source: str) -> None:
        error = {
            "id": str(uuid.uuid4()),
            "status": status,
            "code": code,
            "title": title,
            "detail": detail,
            "source": source or {"pointer": "/data/"},
        }
        super().__init__(status, {"errors": [error]})


def invalid(detail: str, **source: str) -> KlaviyoError:
    return KlaviyoError(400, "invalid", "Invalid input.", detail, **source)


class ProfileSeed(BaseModel):
    """A profile as tests describe it (`seed_profiles`, `POST /_sandbox/profiles`)."""

    model_config = ConfigDict(extra="forbid")

    phone_number: str | None = None
    email: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    sms_marketing: Consent = "NEVER_SUBSCRIBED"
    sms_transactional: Consent = "NEVER_SUBSCRIBED"
    email_marketing: Consent = "NEVER_SUBSCRIBED"

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if not (self.phone_number or self.email):
            raise ValueError("a profile needs a phone_number or an email")
        return self


class Profile(BaseModel):
    id: str
    email: str | None = None
    phone_number: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    properties: dict[str, Any] = {}
    sms_marketing: Consent = "NEVER_SUBSCRIBED"
    sms_transactional: Consent = "NEVER_SUBSCRIBED"
    email_marketing: Consent = "NEVER_SUBSCRIBED"
    consent_updated: float | None = None
    created: float
    updated: float
    last_event: float | None = None


class StoredEvent(BaseModel):
    id: str
    metric: str
    profile_id: str
    properties: dict[str, Any]
    time: str
    value: float | None = None
    unique_id: str | None = None
    received: float


class KlaviyoData(BaseModel):
    profiles: dict[str, Profile] = {}
    events: list[StoredEvent] = []


class _Named(BaseModel):
    name: str


class _Metric(BaseModel):
    attributes: _Named


class _MetricRef(BaseModel):
    data: _Metric


class ProfileAttributes(BaseModel):
    email: str | None = None
    phone_number: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    properties: dict[str, Any] | None = None


class _ProfileData(BaseModel):
    id: str | None = None
    attributes: ProfileAttributes = ProfileAttributes()


class _ProfileRef(BaseModel):
    data: _ProfileData


class EventAttributes(BaseModel):
    """`data.attributes` of `POST /api/events` (the parts the sandbox acts on)."""

    properties: dict[str, Any]
    time: str | None = None
    value: float | None = None
    unique_id: str | None = None
    metric: _MetricRef
    profile: _ProfileRef


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


class KlaviyoState(SandboxState[KlaviyoData]):
    """The Klaviyo account: profiles with consent, and the events received."""

    def __init__(self, *, seeds: list[ProfileSeed], state_file: Path | None) -> None:
        def seeded() -> KlaviyoData:
            self.data = KlaviyoData()
            for seed in seeds:
                self._upsert(seed)
            return self.data

        super().__init__(seeded, state_file)

    def new_profile_id(self) -> str:
        """A ULID, the shape of Klaviyo's profile ids (26 Crockford base-32 characters)."""
        value = (int(self.clock() * 1000) << 80) | self.rng.getrandbits(80)
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))

    def _find(self, field: str, value: str) -> Profile | None:
        return next((p for p in self.data.profiles.values() if getattr(p, field) == value), None)

    def upsert(self, seed: ProfileSeed) -> Profile:
        """Create a profile or update the one with that phone number (else email)."""
        profile = self._upsert(seed)
        self.save()
        return profile

    def _upsert(self, seed: ProfileSeed) -> Profile:
        if seed.phone_number is not None and not E164.fullmatch(seed.phone_number):
            raise invalid(f"Invalid phone number format: {seed.phone_number}")
        now = self.clock()
        profile = None
        if seed.phone_number is not None:
            profile = self._find("phone_number", seed.phone_number)
        if profile is None and seed.email is not None:
            profile = self._find("email", seed.email)
        if profile is None:
            profile = Profile(id=self.new_profile_id(), created=now, updated=now)
            self.data.profiles[profile.id] = profile
        for name, value in seed.model_dump(exclude_unset=True).items():
            setattr(profile, name, value)
        profile.updated = profile.consent_updated = now
        return profile

    def filter_profiles(self, terms: list[tuple[str, list[str]]]) -> list[Profile]:
        """Profiles whose `field` is one of the values, for every (field, values) term."""
        return [
            p
            for p in self.data.profiles.values()
            if all(getattr(p, field) in values for field, values in terms)
        ]

    def record_event(self, given: EventAttributes) -> bool:
        """Store an event (creating its profile if needed); False for a repeated unique_id."""
        metric = given.metric.data.attributes.name
        profile = self._event_profile(given.profile.data)
        if given.unique_id is not None and any(
            e.unique_id == given.unique_id and e.metric == metric and e.profile_id == profile.id
            for e in self.data.events
        ):
            return False
        now = self.clock()
        self.data.events.append(
            StoredEvent(
                id=uuid.uuid4().hex,
                metric=metric,
                profile_id=profile.id,
                properties=given.properties,
                time=given.time or str(iso(now)),
                value=given.value,
                unique_id=given.unique_id,
                received=now,
            )
        )
        profile.last_event = now
        self.save()
        return True

    def _event_profile(self, given: _ProfileData) -> Profile:
        attributes = given.attributes
        phone = attributes.phone_number
        if phone is not None and not E164.fullmatch(phone):
            raise invalid(
                f"Invalid phone number format: {phone}",
                pointer="/data/attributes/profile/data/attributes/phone_number",
            )
        if given.id is not None and given.id in self.data.profiles:
            return self.data.profiles[given.id]
        for field in ("email", "phone_number", "external_id"):
            value = getattr(attributes, field)
            found = None if value is None else self._find(field, value)
            if found is not None:
                return found
        if not (attributes.email or phone or attributes.external_id):
            raise invalid(
                "A profile identifier is required: email, phone_number or external_id",
                pointer="/data/attributes/profile/data/attributes",
            )
        now = self.clock()
        profile = Profile(
            id=self.new_profile_id(),
            **attributes.model_dump(exclude_none=True),
            created=now,
            updated=now,
        )
        self.data.profiles[profile.id] = profile
        return profile
