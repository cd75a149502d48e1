"""`/_sandbox/*` endpoints every service shares: faults, counters, violations, reset, webhooks.

Tests and tooling steer the sandboxes through these routes rather than the real API, so the
product under test never sees them and they never count as API traffic.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import ValidationError

from sandbox.delivery import DeliveryConfig
from sandbox.faults import FaultSpec
from sandbox.middleware import CONTROL_PREFIX
from sandbox.state import SandboxState, WebhookState


def control_router(state: SandboxState[Any]) -> APIRouter:
    """Faults, statistics, spec violations and reset."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])

    @router.post("/faults")
    async def arm_fault(spec: FaultSpec) -> dict[str, Any]:
        state.faults.arm(spec)
        return {"faults": state.faults.armed()}

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"faults": state.faults.armed()}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return {"faults": []}

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return state.stats()

    @router.get("/requests")
    async def request_log() -> dict[str, Any]:
        """Every API request answered: arrival time (epoch seconds), method, route, status."""
        return {"requests": list(state.request_log)}

    @router.get("/spec_violations")
    async def spec_violations() -> dict[str, Any]:
        return {"spec_violations": state.spec_violations}

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        await state.reset()
        return {"reset": True}

    return router


def webhook_router(state: WebhookState[Any, Any]) -> APIRouter:
    """Delivery log, flush and run-time settings of a service that sends webhooks."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])
    config: DeliveryConfig = state.config  # updated in place, never replaced

    def deliveries() -> dict[str, Any]:
        return {"deliveries": [delivery.public() for delivery in state.deliverer.records]}

    @router.get("/deliveries")
    async def list_deliveries() -> dict[str, Any]:
        return deliveries()

    @router.post("/flush")
    async def flush() -> dict[str, Any]:
        """Answer once every queued webhook was delivered or given up on."""
        await state.deliveries_idle()
        return deliveries()

    @router.get("/config")
    async def show_config() -> dict[str, Any]:
        return config.model_dump()

    @router.post("/config")
    async def update_config(changes: dict[str, Any] = Body()) -> dict[str, Any]:  # noqa: B008
        try:
            state.update_config(changes)
        except ValidationError as exc:
            raise HTTPException(400, exc.errors(include_url=False, include_context=False)) from exc
        return config.model_dump()

    return router
