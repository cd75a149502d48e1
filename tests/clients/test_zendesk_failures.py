"""`ZendeskClient` when Zendesk says no, or nothing: the typed errors of `clients.errors` for
each answer, a 401 renewing the OAuth token once, what the budgets are asked and told (B14),
and attachment downloads (own host with credentials, the CDN without)."""

from __future__ import annotations

import httpx
import pytest

from clients import errors
from clients.zendesk_budget import Budget, Slot
from tests.helpers.scripted_http import (
    BASE,
    BEARER,
    RecordingBudgets,
    RenewingAuthorization,
    error,
    ok,
    scripted_zendesk,
)

TICKET = {"id": 42, "status": "open"}
NOTE = {"comment": {"body": "note", "public": False}}
RATE_HEADERS = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "650"}


# --- each answer is one typed error ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        (400, errors.RejectedRequest),
        (401, errors.Unauthorized),
        (403, errors.Unauthorized),
        (404, errors.NotFound),
        (409, errors.RetryableStatus),
        (422, errors.Unprocessable),
        (429, errors.RateLimited),
        (500, errors.RetryableStatus),
        (503, errors.RetryableStatus),
    ],
)
async def test_an_error_status_raises_its_typed_error_once(
    status: int, raised: type[errors.HttpStatusError]
) -> None:
    body = {"error": "RecordInvalid", "details": {"status": [{"description": "closed"}]}}
    async with scripted_zendesk(error(status, body)) as (zd, script):
        with pytest.raises(raised) as failure:
            await zd.update_ticket(42, NOTE)
    assert type(failure.value) is raised
    assert failure.value.status_code == status and failure.value.service == "zendesk"
    assert '"details"' in failure.value.body  # kept whole for callers that read the structure
    assert str(failure.value).startswith(f"zendesk: PUT /api/v2/tickets/42 answered {status}")
    assert len(script.requests) == 1  # no retry here: retries belong to Temporal


@pytest.mark.parametrize(("header", "seconds"), [("37", 37.0), ("1.5", 1.5), (None, None)])
async def test_a_429_carries_zendesks_retry_after(
    header: str | None, seconds: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    async with scripted_zendesk(error(429, headers=headers)) as (zd, _):
        with pytest.raises(errors.RateLimited) as failure:
            await zd.get_ticket(42)
    assert failure.value.retry_after == seconds


@pytest.mark.parametrize(
    "lost", [httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectTimeout, httpx.RemoteProtocolError]
)
async def test_no_answer_is_a_transport_failure_naming_the_request(
    lost: type[httpx.TransportError],
) -> None:
    async with scripted_zendesk(lost) as (zd, _):
        with pytest.raises(errors.TransportFailure) as failure:
            await zd.create_ticket({"comment": {"body": "Hi"}}, idempotency_key="k")
    assert str(failure.value).startswith("zendesk: POST /api/v2/tickets:")
    assert isinstance(failure.value.__cause__, lost)


# --- 401: the OAuth token is renewed once -----------------------------------------------------


async def test_a_401_renews_the_token_and_sends_the_request_again_once() -> None:
    auth = RenewingAuthorization(fresh=["Bearer tok-2"])
    async with scripted_zendesk(error(401), ok({"ticket": TICKET}), authorization=auth) as (
        zd,
        script,
    ):
        ticket = await zd.update_ticket(42, NOTE)
    assert ticket.id == 42
    assert [r.headers["Authorization"] for r in script.requests] == [BEARER, "Bearer tok-2"]
    assert script.body(0) == script.body(1)
    assert auth.renewed_from == [BEARER]


async def test_a_second_401_is_final() -> None:
    auth = RenewingAuthorization(fresh=["Bearer tok-2", "Bearer tok-3"])
    async with scripted_zendesk(error(401), error(401), authorization=auth) as (zd, script):
        with pytest.raises(errors.Unauthorized):
            await zd.get_ticket(42)
    assert len(script.requests) == 2 and auth.renewed_from == [BEARER]


@pytest.mark.parametrize(
    ("status", "renewable", "renewals"),
    [
        (403, True, []),  # a missing scope: a new token would lack it too
        (401, False, [BEARER]),  # nothing to renew with (a static token, a revoked grant)
    ],
)
async def test_a_refusal_that_renewal_cannot_cure_is_raised_at_once(
    status: int, renewable: bool, renewals: list[str]
) -> None:
    auth = RenewingAuthorization(fresh=["Bearer tok-2"] if renewable else [])
    async with scripted_zendesk(error(status), authorization=auth) as (zd, script):
        with pytest.raises(errors.Unauthorized):
            await zd.get_ticket(42)
    assert len(script.requests) == 1 and auth.renewed_from == renewals


# --- B14: the budgets are asked before and told after -----------------------------------------


async def test_each_request_takes_its_budgets_and_reports_the_rate_limit_headers() -> None:
    budgets = RecordingBudgets()
    async with scripted_zendesk(
        ok({"ticket": TICKET}, headers=RATE_HEADERS),
        ok({"ticket": TICKET}, headers=RATE_HEADERS),
        budgets=budgets,
    ) as (zd, _):
        await zd.get_ticket(42)
        await zd.update_ticket(42, NOTE)
    assert budgets.acquired == [(Budget.ACCOUNT,), (Budget.UPDATE, Budget.ACCOUNT)]
    assert [(spent, refused) for spent, _, refused in budgets.settled] == [
        ((Budget.ACCOUNT,), None),
        ((Budget.UPDATE, Budget.ACCOUNT), None),
    ]
    headers = budgets.settled[0][1]
    assert (headers["x-rate-limit"], headers["x-rate-limit-remaining"]) == ("700", "650")


@pytest.mark.parametrize(
    ("answer", "refused_for"),
    [
        (error(429, headers={"Retry-After": "12"}), 12.0),
        (error(429), 0.0),  # a 429 without Retry-After still says the budget is spent
        (error(503), None),
        (error(422), None),
    ],
)
async def test_a_refusal_is_reported_to_the_budgets_before_it_is_raised(
    answer: httpx.Response, refused_for: float | None
) -> None:
    budgets = RecordingBudgets()
    async with scripted_zendesk(answer, budgets=budgets) as (zd, _):
        with pytest.raises(errors.HttpStatusError):
            await zd.update_ticket(42, NOTE)
    assert [(spent, refused) for spent, _, refused in budgets.settled] == [
        ((Budget.UPDATE, Budget.ACCOUNT), refused_for)
    ]


async def test_a_read_then_update_go_on_slots_reserved_together() -> None:
    """One reservation for both requests; a read after them (or outside) takes its own."""
    budgets = RecordingBudgets()
    async with scripted_zendesk(
        ok({"audits": []}),
        ok({"ticket": TICKET}),
        ok({"ticket": TICKET}),
        budgets=budgets,
    ) as (zd, _):
        async with zd.read_then_update():
            await zd.latest_audits(42)
            await zd.update_ticket(42, NOTE)
            await zd.get_ticket(42)
    read, update = (Budget.ACCOUNT,), (Budget.UPDATE, Budget.ACCOUNT)
    assert budgets.reserved == [[read, update], [read]]
    assert budgets.acquired == [read, update, read]


async def test_a_request_whose_budget_has_no_slot_is_never_sent() -> None:
    class Exhausted(RecordingBudgets):
        async def reserve(self, requests: object) -> list[Slot]:
            raise errors.BudgetWait("zendesk", "update", retry_after=8.0)

    async with scripted_zendesk(budgets=Exhausted()) as (zd, script):
        with pytest.raises(errors.BudgetWait):
            await zd.update_ticket(42, NOTE)
    assert script.requests == []


# --- attachment content ----------------------------------------------------------------------


async def test_content_on_the_own_host_is_fetched_with_credentials_and_budget() -> None:
    budgets = RecordingBudgets()
    url = f"{BASE}/attachments/token/abc/?name=a.png"
    async with scripted_zendesk(httpx.Response(200, content=b"PNG"), budgets=budgets) as (
        zd,
        script,
    ):
        async with zd.open_content(url) as response:
            assert await response.aread() == b"PNG"
    assert script.last.headers["Authorization"] == BEARER
    assert budgets.acquired == [(Budget.ACCOUNT,)] and len(budgets.settled) == 1


async def test_content_elsewhere_gets_no_credentials_even_through_a_redirect() -> None:
    budgets = RecordingBudgets()
    cdn = "https://files.zdassets.example/a.png?sig=1"
    redirect = httpx.Response(302, headers={"Location": cdn})
    async with scripted_zendesk(
        redirect,
        httpx.Response(200, content=b"PNG"),
        httpx.Response(200, content=b"GIF"),
        budgets=budgets,
    ) as (zd, script):
        async with zd.open_content(f"{BASE}/attachments/token/abc/?name=a.png") as response:
            assert await response.aread() == b"PNG"
        async with zd.open_content(cdn) as response:
            assert await response.aread() == b"GIF"
    own, redirected, elsewhere = script.requests
    assert own.headers["Authorization"] == BEARER
    assert "Authorization" not in redirected.headers and redirected.url == cdn
    assert "Authorization" not in elsewhere.headers
    assert budgets.acquired == [(Budget.ACCOUNT,), ()]  # the CDN spends no Zendesk budget


@pytest.mark.parametrize(
    ("answer", "raised"),
    [(error(404), errors.NotFound), (error(503), errors.RetryableStatus)],
)
async def test_content_that_cannot_be_had_raises_the_typed_error(
    answer: httpx.Response, raised: type[errors.ApiError]
) -> None:
    async with scripted_zendesk(answer) as (zd, _):
        with pytest.raises(raised):
            async with zd.open_content(f"{BASE}/attachments/token/abc/?name=a.png"):
                pytest.fail("no content to read")


async def test_content_refused_by_the_rate_limit_pauses_the_budget_and_raises() -> None:
    budgets = RecordingBudgets()
    async with scripted_zendesk(error(429, headers={"Retry-After": "9"}), budgets=budgets) as (
        zd,
        _,
    ):
        with pytest.raises(errors.RateLimited):
            async with zd.open_content(f"{BASE}/attachments/token/abc/?name=a.png"):
                pytest.fail("no content to read")
    assert [refused for _, _, refused in budgets.settled] == [9.0]


async def test_content_with_no_answer_is_a_transport_failure() -> None:
    async with scripted_zendesk(httpx.ReadTimeout) as (zd, _):
        with pytest.raises(errors.TransportFailure):
            async with zd.open_content(f"{BASE}/attachments/token/abc/?name=a.png"):
                pytest.fail("no content to read")
