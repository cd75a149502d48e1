"""What every sandbox service is made of: its API errors and the assembled FastAPI app.

The three services differ in routes and error dialects only; the rest (state at
`app.state.sandbox`, the gate in front of the API, the control routes, closing webhook
deliveries at shutdown) is put together here once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from sandbox.control import control_router, webhook_router
from sandbox.middleware import ApiSurface, SandboxMiddleware
from sandbox.specs import spec_path
from sandbox.state import SandboxState, WebhookState


class ApiError(Exception):
    """An error a service answers with its own JSON body; one subclass per service."""

    media_type: ClassVar[str] = "application/json"

    def __init__(
        self, status: int, body: dict[str, Any], *, retry_after: int | None = None
    ) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return JSONResponse(
            self.body, status_code=self.status, headers=headers, media_type=self.media_type
        )


async def _answer(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


def service_app(
    title: str,
    state: SandboxState[Any],
    surface: ApiSurface,
    *,
    add_api_routes: Callable[[FastAPI], None],
    control: APIRouter,
) -> FastAPI:
    """A service's app: its API routes behind the gate, its own and the shared control routes.

    API routes are added to the app itself (not an included router), where the gate can read
    their path templates for the request counts.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(state, WebhookState):
            await state.aclose()

    spec_path(surface.spec)  # no spec, no sandbox: it never runs without checking requests
    app = FastAPI(title=title, lifespan=lifespan)
    app.state.sandbox = state
    app.add_exception_handler(ApiError, _answer)
    add_api_routes(app)
    app.include_router(control)
    app.include_router(control_router(state))
    if isinstance(state, WebhookState):
        app.include_router(webhook_router(state))
    app.add_middleware(SandboxMiddleware, state=state, surface=surface)
    return app
