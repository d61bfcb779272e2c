"""Every error the API answers with, in one shape.

Malformed input is a 422 whose body is FastAPI's ``{"detail": [{"loc", "msg", "type"}]}``:
the location of the offending field (``["body", "x"]``) and what was expected. Requests
that fail schema validation get it from :func:`validation_error`; the engine's and the
app's own checks raise ``ValueError`` — :class:`InputError` when the field is known — and
:func:`value_error` turns any of them into the same shape. The offending input is never
echoed back: it may be a megabyte long, or hold a NaN that JSON cannot carry.

An error body stays small whatever the request: at most MAX_REPORTED errors are listed (then
one more entry, ``{"loc": ["body"], "type": "too_many_errors"}``, says how many were left
out), every ``loc`` part and ``msg`` is cut to a bounded length, so a 422 is at most a few
kilobytes (the limit is 64 kB). The compute pool's refusals (queue full, waited too long)
are 503 with ``Retry-After``, and so is a store that cannot answer (Redis away, one walk
changed by too many requests at once, or full of walks all used too recently to evict:
``StoreFullError``), with a message that says which.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .compute import BusyError, ClientGoneError, TooLongError
from .store.walks import StoreUnavailableError

Loc = tuple[str | int, ...]
MAX_REPORTED = 20  # errors listed in one 422
MAX_LOC_PART = 64  # characters of one loc part (a key can be any length)
MAX_MSG = 500  # characters of one message


class ConflictError(Exception):
    """A well-formed request that the resource's state refuses (a walk already at its
    start, a step not reached, no attempts left): 409 with the message."""


class InputError(ValueError):
    """A ValueError that knows which field of the request it is about."""

    def __init__(self, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> None:
        super().__init__(msg)
        self.loc: Loc = tuple(loc)
        self.msg = msg
        self.type = type_


class ManyInputsError(ValueError):
    """Several InputErrors found in one pass (a network's every problem): one 422 lists
    them all."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.msg for e in self.errors))


@contextmanager
def field(*loc: str | int) -> Iterator[None]:
    """Re-raise a ValueError from the block as an InputError about the field at ``loc``."""
    try:
        yield
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(loc, str(exc)) from None


def error_body(errors: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"detail": errors})


def _json(status_code: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status_code, media_type="application/json",
                    headers=headers)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _location(loc: object) -> list[str | int]:
    return [part if isinstance(part, int) else _cut(str(part), MAX_LOC_PART)
            for part in (loc if isinstance(loc, list | tuple) else [loc])]


def _message(error: dict) -> str:
    """pydantic's message without its "Value error, " prefix (our validators' own words),
    and an unknown field said as such."""
    if error.get("type") == "extra_forbidden":
        return "unknown field: this request has no such field (check its spelling)"
    return _cut(str(error.get("msg", "")).removeprefix("Value error, "), MAX_MSG)


def bounded(errors: Sequence[dict], total: int | None = None) -> list[dict[str, object]]:
    """The first MAX_REPORTED errors in the API's shape, and a count of the rest."""
    total = len(errors) if total is None else total
    shown: list[dict[str, object]] = [
        {"loc": _location(e.get("loc", ())), "msg": _message(e),
         "type": _cut(str(e.get("type", "value_error")), MAX_LOC_PART)}
        for e in errors[:MAX_REPORTED]]
    if total > len(shown):
        shown.append({"loc": ["body"], "type": "too_many_errors",
                      "msg": f"{total - len(shown)} more errors not listed "
                             f"({total} in all; the first {len(shown)} are above)"})
    return shown


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    return _json(422, error_body(bounded(errors[:MAX_REPORTED], len(errors))))


async def value_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValueError)
    if isinstance(exc, ManyInputsError):
        details = [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in exc.errors]
        return _json(422, error_body(bounded(details)))
    if isinstance(exc, InputError):
        detail = {"loc": list(exc.loc), "msg": exc.msg, "type": exc.type}
    else:
        detail = {"loc": ["body"], "msg": str(exc), "type": "value_error"}
    return _json(422, error_body(bounded([detail])))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI could not read the body (not UTF-8, nested too deep)
        return _json(422, error_body([{"loc": ["body"], "type": "json_invalid",
                                       "msg": "the body is not a readable JSON document"}]))
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return _json(exc.status_code, orjson.dumps({"detail": exc.detail}), exc.headers)


async def conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConflictError)
    return _json(409, orjson.dumps({"detail": str(exc)}))


async def busy(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BusyError | TooLongError | StoreUnavailableError)
    retry = exc.retry_after if isinstance(exc, BusyError | StoreUnavailableError) else 10
    return _json(503, orjson.dumps({"detail": str(exc)}), {"Retry-After": str(retry)})


async def client_gone(request: Request, exc: Exception) -> Response:
    """Nobody reads this (the client left); 499 as nginx logs it."""
    return Response(status_code=499)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ValueError, value_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ConflictError, conflict)
    app.add_exception_handler(BusyError, busy)
    app.add_exception_handler(TooLongError, busy)
    app.add_exception_handler(StoreUnavailableError, busy)
    app.add_exception_handler(ClientGoneError, client_gone)
