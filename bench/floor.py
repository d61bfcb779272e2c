"""The framework's floor, for the load benchmark: ``uvicorn bench.floor:app``.

The product's app with one more route, ``POST /bench/floor?size=N``, which ignores its body
and answers a constant JSON document of N bytes through the same middleware and exception
handling as the API. The load benchmark compares each endpoint with the floor at that
endpoint's response size. The route lives here, never in the product.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.main import create_app

router = APIRouter(prefix="/bench", include_in_schema=False)


@functools.lru_cache(maxsize=64)
def constant(size: int) -> bytes:
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


@router.post("/floor")
async def floor(size: Annotated[int, Query(ge=0, le=10_000_000)] = 1000) -> Response:
    return Response(constant(size), media_type="application/json")


app = create_app()
app.include_router(router)
