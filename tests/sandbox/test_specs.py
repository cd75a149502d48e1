"""Request bodies are checked against the official OpenAPI files; violations are recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.specs import SPECS_DIR_ENV, SpecMissing, load_spec
from sandbox.zendesk import create_zendesk_app
from tests.sandbox.conftest import OWNED_NUMBER, TWILIO_SID
from tests.sandbox.helpers import spec_of

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
JSON_API = "application/vnd.api+json"


async def violations(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.get("/_sandbox/spec_violations")).json()[
        "spec_violations"
    ]
    return found


@pytest.fixture(autouse=True)
def _specs() -> None:
    for name in ("zendesk", "twilio", "klaviyo"):
        spec_of(name)


async def test_valid_zendesk_bodies_pass(zendesk: httpx.AsyncClient) -> None:
    created = await zendesk.post(
        "/api/v2/tickets",
        json={
            "ticket": {
                "subject": None,
                "assignee_id": None,
                "priority": None,  # a nullable enum: Zendesk's file leaves null out of the list
                "comment": {"body": "x", "public": True},
                "custom_fields": [{"id": 9001, "value": "A-1"}],
                "tags": "sms vip",
            }
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["ticket"]["tags"] == ["sms", "vip"]
    assert await violations(zendesk) == []


@pytest.mark.parametrize(
    ("ticket", "message"),
    [
        ({"comment": {"body": "x", "public": "yes"}}, "'yes' is not of type 'boolean'"),
        ({"comment": {"body": "x"}, "status": None}, "None for not nullable"),
        ({"comment": {"body": "x"}, "priority": "asap"}, "'asap' is not one of"),
        ({"comment": {"body": "x"}, "via": {"channel": "sms"}}, "read-only property"),
        ({"comment": {"body": "x"}, "requester_id": 2**63}, "is not a 'int64'"),
    ],
)
async def test_invalid_zendesk_bodies_are_400_and_recorded(
    zendesk: httpx.AsyncClient, ticket: dict[str, Any], message: str
) -> None:
    response = await zendesk.post("/api/v2/tickets", json={"ticket": ticket})
    assert response.status_code == 400
    assert message in response.json()["description"]
    [violation] = await violations(zendesk)
    assert (violation["method"], violation["path"]) == ("POST", "/api/v2/tickets")
    assert message in violation["message"]
    assert (await zendesk.get("/_sandbox/tickets")).json()["tickets"] == []


async def test_update_and_user_bodies_are_checked_too(zendesk: httpx.AsyncClient) -> None:
    update = await zendesk.put("/api/v2/tickets/1001.json", json={"ticket": {"status": "done"}})
    user = await zendesk.post("/api/v2/users/create_or_update", json={"user": {"name": 5}})
    assert (update.status_code, user.status_code) == (400, 400)
    assert [v["path"] for v in await violations(zendesk)] == [
        "/api/v2/tickets/1001",
        "/api/v2/users/create_or_update",
    ]


async def test_the_vendors_own_examples_pass() -> None:
    spec = load_spec("zendesk")
    assert spec is not None
    for path, method in [("/api/v2/tickets", "post"), ("/api/v2/tickets/{ticket_id}", "put")]:
        content = spec.resolve(f"/paths/{path.replace('/', '~1')}/{method}/requestBody")[0][
            "content"
        ]
        for example in content["application/json"]["examples"].values():
            if "$ref" in example:
                example = spec.resolve(example["$ref"][1:])[0]
            body = json.dumps(example["value"]).encode()
            concrete = path.replace("{ticket_id}", "1")
            assert spec.request_problem(method.upper(), concrete, "application/json", body) is None


async def test_twilio_form_bodies(twilio: httpx.AsyncClient) -> None:
    good = {
        "To": "+15551230001",
        "From": OWNED_NUMBER,
        "Body": "hi",
        "ValidityPeriod": "600",
        "MediaUrl": ["https://x.example/a.jpg", "https://x.example/b.png"],
    }
    assert (await twilio.post(MESSAGES, data=good)).status_code == 201
    typo = await twilio.post(MESSAGES, data={**good, "Statuscallback": "https://x"})
    assert typo.status_code == 400
    assert "unknown form parameter(s) Statuscallback" in typo.json()["message"]
    wrong_type = await twilio.post(MESSAGES, data={**good, "ValidityPeriod": "ten minutes"})
    assert wrong_type.status_code == 400
    missing = await twilio.post(MESSAGES, data={"From": OWNED_NUMBER, "Body": "hi"})
    assert "'To' is a required property" in missing.json()["message"]
    as_json = await twilio.post(MESSAGES, json={"To": "+15551230001", "Body": "x"})
    assert as_json.status_code == 400
    assert len(await violations(twilio)) == 4


async def test_klaviyo_event_bodies(klaviyo: httpx.AsyncClient) -> None:
    event = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.c"}}},
            },
        }
    }
    response = await klaviyo.post("/api/events", json=event)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid"
    [violation] = await violations(klaviyo)
    assert "'metric' is a required property" in violation["message"]


def test_a_nullable_reference_admits_null_but_not_another_type() -> None:
    spec = load_spec("klaviyo")

    def problem(location: Any) -> str | None:
        profile = {
            "data": {"type": "profile", "attributes": {"email": "a@b.c", "location": location}}
        }
        metric = {"data": {"type": "metric", "attributes": {"name": "Ticket Solved"}}}
        event = {"properties": {}, "metric": metric, "profile": profile}
        body = json.dumps({"data": {"type": "event", "attributes": event}}).encode()
        return spec.request_problem("POST", "/api/events", JSON_API, body)

    assert problem(None) is None  # `{"$ref": ..., "nullable": true}` in Klaviyo's file
    assert "'Paris' is not of type 'object'" in str(problem("Paris"))


def test_without_its_spec_file_a_sandbox_refuses_to_start_and_says_where_to_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPECS_DIR_ENV, str(tmp_path))
    with pytest.raises(SpecMissing) as missing:
        create_zendesk_app()
    assert str(tmp_path / "zendesk-oas.yaml") in str(missing.value)
    assert SPECS_DIR_ENV in str(missing.value)
    with pytest.raises(SpecMissing):
        load_spec("twilio")


def test_validator_for_responses_refuses_write_only_fields() -> None:
    spec = load_spec("zendesk")
    assert spec is not None
    pointer = "/components/schemas/TicketObject"
    assert list(spec.validator(pointer).iter_errors({"via_followup_source_id": 1})) == []
    assert list(spec.validator(pointer, request=False).iter_errors({"via_followup_source_id": 1}))
