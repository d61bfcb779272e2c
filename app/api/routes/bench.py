"""Benchmark-only route (CONVLENS_BENCH=1): the framework's floor.

``POST /bench/floor?size=N`` ignores its body and answers a constant JSON document of N
bytes, through the same middleware and exception handling as the API. The load benchmark
compares each endpoint with the floor at that endpoint's response size.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

router = APIRouter(prefix="/bench", include_in_schema=False)


@functools.lru_cache(maxsize=64)
def constant(size: int) -> bytes:
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


@router.post("/floor")
async def floor(size: Annotated[int, Query(ge=0, le=10_000_000)] = 1000) -> Response:
    return Response(constant(size), media_type="application/json")
