"""Klaviyo API client: profile consent look-ups and metric events (JSON:API, dated revision)."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from clients.errors import send

SERVICE = "klaviyo"


class KlaviyoProfile(BaseModel):
    id: str
    email: str | None = None
    phone_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    sms_marketing_consent: str | None = None
    sms_transactional_consent: str | None = None

    @property
    def sms_consented(self) -> bool:
        """Marketing or transactional SMS consent, as M12 requires for replies."""
        return "SUBSCRIBED" in (self.sms_marketing_consent, self.sms_transactional_consent)

    @property
    def display_name(self) -> str | None:
        name = " ".join(part for part in (self.first_name, self.last_name) if part)
        return name or None


class KlaviyoClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, api_key: str, revision: str
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Klaviyo-API-Key {api_key}",
            "revision": revision,
            "Accept": "application/vnd.api+json",
        }

    async def find_profile_by_phone(self, phone: str) -> KlaviyoProfile | None:
        request = self._http.build_request(
            "GET",
            f"{self._base}/api/profiles",
            params={
                "filter": f'equals(phone_number,"{phone}")',
                "additional-fields[profile]": "subscriptions",
            },
            headers=self._headers,
        )
        response = await send(SERVICE, self._http, request)
        data = response.json().get("data") or []
        return _profile(data[0]) if data else None

    async def create_event(self, event: dict[str, Any]) -> None:
        """POST /api/events; Klaviyo answers 202 and drops repeats of the same `unique_id`."""
        request = self._http.build_request(
            "POST",
            f"{self._base}/api/events",
            json={"data": {"type": "event", "attributes": event}},
            headers={**self._headers, "Content-Type": "application/vnd.api+json"},
        )
        await send(SERVICE, self._http, request)


def _profile(resource: dict[str, Any]) -> KlaviyoProfile:
    attributes = resource.get("attributes") or {}
    sms = ((attributes.get("subscriptions") or {}).get("sms")) or {}
    return KlaviyoProfile(
        id=resource["id"],
        email=attributes.get("email"),
        phone_number=attributes.get("phone_number"),
        first_name=attributes.get("first_name"),
        last_name=attributes.get("last_name"),
        sms_marketing_consent=(sms.get("marketing") or {}).get("consent"),
        sms_transactional_consent=(sms.get("transactional") or {}).get("consent"),
    )
