"""The receipt log benchmarks read: when each text's first write landed, and which texts more
than one write named (a duplicate comment)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.receipts import ReceiptLog

ANA = "SM" + "a" * 32
BEN = "SM" + "b" * 32


async def _answer(request: Request) -> JSONResponse:
    refused = b"refuse" in await request.body()
    return JSONResponse({}, status_code=429 if refused else 200)


def _client() -> httpx.AsyncClient:
    app = ReceiptLog(Starlette(routes=[Route("/api/{rest:path}", _answer, methods=["PUT"])]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://zendesk")


async def test_a_text_two_writes_name_is_repeated_and_one_write_naming_it_twice_is_not() -> None:
    async with _client() as zendesk:
        await zendesk.put("/api/t/1", content=f"{ANA} and again {ANA}, {BEN}")
        await zendesk.put("/api/t/1", content=f"{BEN} refuse")  # a 429 wrote nothing
        seen = (await zendesk.get("/_sandbox/receipts")).json()
        assert set(seen["receipts"]) == {ANA, BEN} and seen["repeated"] == {}

        await zendesk.put("/api/t/2", content=f"{BEN} once more")
        seen = (await zendesk.get("/_sandbox/receipts")).json()
        assert seen["repeated"] == {BEN: 2}
        assert seen["statuses"] == {"200": 2, "429": 1}

        await zendesk.delete("/_sandbox/receipts")
        assert (await zendesk.get("/_sandbox/receipts")).json()["repeated"] == {}
