"""Typed errors of the API clients. Callers match on type, never on message text.

ApiError
├── BudgetWait            not sent: the service's budget has no slot within reach; try again
│                         after `retry_after` seconds
├── TransportFailure      no HTTP answer (connect error, timeout): the outcome is unknown
└── HttpStatusError       the service answered with an error status
    ├── RetryableStatus   408, 409, 429, 5xx: worth trying again
    │   └── RateLimited   429; `retry_after` holds the service's Retry-After in seconds
    └── RejectedRequest   any other 4xx: trying again cannot help
        ├── Unauthorized  401/403: credentials are wrong or lack a scope
        ├── NotFound      404
        └── Unprocessable 422: Zendesk's "closed prevents ticket update" among others
"""

from __future__ import annotations

import re

import httpx

from core.telemetry import API_REQUESTS


class ApiError(Exception):
    """Base of every client error; `service` names the API that failed."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service


class BudgetWait(ApiError):
    """The request was never sent: its budget is spoken for longer than one attempt may wait."""

    def __init__(self, service: str, budget: str, retry_after: float) -> None:
        super().__init__(service, f"the {budget} budget is spoken for {retry_after:.1f} s ahead")
        self.budget = budget
        self.retry_after = retry_after


class TransportFailure(ApiError):
    """The request may or may not have reached the service."""


class HttpStatusError(ApiError):
    def __init__(self, service: str, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.body = response.text[:2000]
        self.headers = response.headers
        super().__init__(
            service,
            f"{response.request.method} {response.request.url.path} "
            f"answered {response.status_code}: {self.body[:300]}",
        )


class RetryableStatus(HttpStatusError):
    pass


class RateLimited(RetryableStatus):
    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(service, response)
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


class RejectedRequest(HttpStatusError):
    pass


class Unauthorized(RejectedRequest):
    pass


class NotFound(RejectedRequest):
    pass


class Unprocessable(RejectedRequest):
    pass


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None when absent or unparseable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def raise_for_status(service: str, response: httpx.Response) -> None:
    """Turn an error response into the matching typed error."""
    code = response.status_code
    if code < 400:
        return
    if code == 429:
        raise RateLimited(service, response)
    if code in (408, 409) or code >= 500:
        raise RetryableStatus(service, response)
    if code in (401, 403):
        raise Unauthorized(service, response)
    if code == 404:
        raise NotFound(service, response)
    if code == 422:
        raise Unprocessable(service, response)
    raise RejectedRequest(service, response)


async def send(service: str, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send one request, mapping transport failures and error statuses to typed errors."""
    endpoint = _endpoint(request.url.path)
    try:
        response = await client.send(request)
    except httpx.TransportError as exc:
        API_REQUESTS.labels(service, request.method, endpoint, "transport").inc()
        raise TransportFailure(service, f"{request.method} {request.url.path}: {exc!r}") from exc
    API_REQUESTS.labels(service, request.method, endpoint, str(response.status_code)).inc()
    raise_for_status(service, response)
    return response


def _endpoint(path: str) -> str:
    """The path with its ids as `{id}` (`/api/v2/tickets/{id}`), so that each endpoint is one
    series of the requests counter, not one per ticket or message."""
    segments = []
    for segment in path.split("/"):
        stem, dot, extension = segment.partition(".")
        if any(c.isdigit() for c in stem) and not _VERSION.fullmatch(stem):
            segment = "{id}" + dot + extension
        segments.append(segment)
    return "/".join(segments)


_VERSION = re.compile(r"v[0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2}")
