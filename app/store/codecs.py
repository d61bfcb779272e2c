"""How a walk (session) and an exercise are kept in Redis: their bytes, never a pickle.

Every blob is :func:`pack`'s format: a 4-byte big-endian header length, a JSON header
``{"meta": {...}, "arrays": [[name, dtype, shape], ...]}`` and then each array's raw bytes
in that order, always float64 little-endian (``"<f8"``). :func:`unpack` checks the dtype,
the shapes and the total length, and refuses anything else with a ValueError (the store
then answers as if the item did not exist).

A session is its state and one list entry per epoch (:class:`app.store.walks.RedisWalkStore`
keeps the state in ``{p}session:{id}`` and the entries in ``{p}session:{id}:list``):

- state: meta ``config, y, lr, seed, cursor, generation``; arrays ``x`` and
  ``loss_history`` (one loss per epoch completed);
- entry ``e``: the parameters ``W1 b1 W2 b2`` epoch ``e`` started from. A walk keeps at
  most ``app.sessions.MAX_KEPT_BYTES`` of them (counted as Python holds them; as bytes here
  they are smaller). They are never all rewritten: :class:`PartialHistory` tracks how many
  leading entries are unchanged (``prev`` across an epoch lowers it, ``next`` into a new
  epoch appends after it, a reset or an edit sets it to 0), and a commit writes only what
  follows. A load fetches the first entry and the last two (enough for every move but a
  ``goto`` back across several epochs, which loads them all).

An exercise is its state alone: meta ``seed, config, chain, seed_given, steps, position,
states, attempts, hints`` (each hint's ``level, cell, text, feeds``). An exercise on an
example given as it is (the explorer's walk) has ``seed`` null, ``example: {y, lr}`` in
its meta and the arrays ``x W1 b1 W2 b2``; a blob without ``example`` (every one written
before examples could be given) is drawn again from its seed.

What is derived is computed again, never stored: a session's trace and step records (kept
per worker, keyed by the session's ``generation`` and a digest of its current parameters'
bytes, so a worker never reuses them for parameters that changed) and an exercise's variant
(``engine.variant`` keeps the last ones drawn per process).

:func:`walk_stores` makes the app's two stores: in memory without a backplane, in Redis
with these codecs when there is one.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from typing import Any

import numpy as np
import orjson
from starlette.concurrency import run_in_threadpool

import engine

from ..exercises import Exercise
from ..sessions import Session
from ..settings import Settings
from .backplane import Backplane
from .walks import (
    Encoded,
    HistoryNotLoadedError,
    Loaded,
    MemoryWalkStore,
    RedisWalkStore,
    WalkStore,
)

DTYPE = "<f8"
FORMAT = 1  # in every header: bytes of another format are refused
TRACE_CACHE = 64  # sessions' traces kept per worker
_LENGTH = struct.Struct(">I")


def pack(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """``meta`` (JSON) and float64 arrays as one blob."""
    parts = [np.ascontiguousarray(a, dtype=DTYPE) for a in arrays.values()]
    header = orjson.dumps({"format": FORMAT, "meta": meta, "arrays": [
        [name, DTYPE, list(a.shape)] for name, a in zip(arrays, parts)]})
    return b"".join([_LENGTH.pack(len(header)), header, *(a.tobytes() for a in parts)])


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What :func:`pack` made; ValueError for anything else."""
    if len(blob) < _LENGTH.size:
        raise ValueError("a blob shorter than its header's length")
    (size,) = _LENGTH.unpack_from(blob)
    start = _LENGTH.size + size
    header = orjson.loads(blob[_LENGTH.size:start])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"not a blob of format {FORMAT}")
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, shape in header["arrays"]:
        if dtype != DTYPE or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"array {name!r}: dtype {dtype!r}, shape {shape!r}")
        count = int(np.prod(shape, dtype=np.int64))
        end = start + 8 * count
        if end > len(blob):
            raise ValueError(f"array {name!r} runs past the blob's end")
        arrays[name] = np.frombuffer(blob, DTYPE, count, start).reshape(shape).copy()
        start = end
    if start != len(blob):
        raise ValueError("bytes left over after the last array")
    return header["meta"], arrays


# ------------------------------------------------------------------------------ sessions
def pack_params(params: dict[str, np.ndarray]) -> bytes:
    return pack({}, {name: params[name] for name in engine.PARAM_NAMES})


def unpack_params(blob: bytes) -> dict[str, np.ndarray]:
    _, arrays = unpack(blob)
    if tuple(arrays) != tuple(engine.PARAM_NAMES):
        raise ValueError(f"an epoch entry holds {', '.join(arrays)}")
    return arrays


class PartialHistory:
    """A session's parameters per epoch, of which only some were fetched from Redis: used
    by :class:`app.sessions.Session` as a list (index, ``append``, ``pop``, ``len``).
    Reaching an entry that was not fetched raises HistoryNotLoadedError (the store then
    fetches them all). ``stable`` is how many leading entries are still as in Redis."""

    def __init__(self, length: int, blobs: dict[int, bytes]) -> None:
        self._blobs = {i: b for i, b in blobs.items() if 0 <= i < length}
        self._items: list[dict[str, np.ndarray] | None] = [
            unpack_params(self._blobs[i]) if i in self._blobs else None for i in range(length)]
        self.stable = length

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        item = self._items[index]
        if item is None:
            raise HistoryNotLoadedError(f"epoch {index % len(self._items)} was not fetched")
        return item

    def append(self, params: dict[str, np.ndarray]) -> None:
        self._items.append(params)

    def pop(self) -> dict[str, np.ndarray] | None:
        item = self._items.pop()
        self.stable = min(self.stable, len(self._items))
        return item

    def blob(self, index: int) -> bytes:
        """Entry ``index`` as bytes (as fetched, if it still is)."""
        index %= len(self._items)
        if index < self.stable and index in self._blobs:
            return self._blobs[index]
        return pack_params(self[index])

    def tail(self) -> list[bytes]:
        """The entries after the stable ones, as bytes."""
        return [pack_params(self[i]) for i in range(self.stable, len(self._items))]


class SessionCodec:
    """A session as a state blob and one list entry per epoch (see the module's text)."""

    kind = "session"
    has_list = True

    def __init__(self, cache_size: int = TRACE_CACHE) -> None:
        self.cache_size = cache_size
        self._derived: OrderedDict[tuple[str, bytes], tuple[Any, Any]] = OrderedDict()

    def encode(self, session: Session) -> Encoded:
        y = session.y if type(session.y) is int else float(session.y)  # as the view shows it
        state = pack({"config": session.config.to_dict(), "y": y,
                      "lr": float(session.lr), "seed": int(session.seed),
                      "cursor": int(session.cursor), "generation": session.generation},
                     {"x": session.x, "loss_history": np.asarray(session.loss_history,
                                                                 dtype=DTYPE)})
        history = session.history
        if isinstance(history, PartialHistory):
            return Encoded(state, history.stable, history.tail())
        return Encoded(state, 0, [pack_params(p) for p in history])

    async def decode(self, session_id: str, loaded: Loaded) -> Session:
        meta, arrays = unpack(loaded.state)
        config = engine.Config(**meta["config"])
        losses = arrays["loss_history"]
        if loaded.length != losses.shape[0] + 1 or not -1 <= meta["cursor"] < len(engine.STEPS):
            raise ValueError(f"session {session_id}: {loaded.length} epochs kept, "
                             f"{losses.shape[0]} losses, cursor {meta['cursor']}")
        history = PartialHistory(loaded.length, loaded.entries)
        trace, records = self._derived.get(
            (meta["generation"], _digest(history.blob(-1))), (None, None))
        if type(meta["y"]) not in (int, float):
            raise ValueError(f"session {session_id}: y {meta['y']!r}")
        return Session.restore(session_id, config, arrays["x"], meta["y"],
                               lr=float(meta["lr"]), seed=int(meta["seed"]), history=history,
                               loss_history=[float(v) for v in losses],
                               cursor=int(meta["cursor"]), generation=meta["generation"],
                               trace=trace, records=records)

    def remember(self, session: Session) -> None:
        trace, records = session.derived
        if trace is None or self.cache_size <= 0:
            return
        history = session.history
        latest = history.blob(-1) if isinstance(history, PartialHistory) \
            else pack_params(session.params)
        key = (session.generation, _digest(latest))
        self._derived[key] = (trace, records)
        self._derived.move_to_end(key)
        while len(self._derived) > self.cache_size:
            self._derived.popitem(last=False)


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


# ----------------------------------------------------------------------------- exercises
class ExerciseCodec:
    """An exercise as one state blob (see the module's text)."""

    kind = "exercise"
    has_list = False

    def __init__(self) -> None:
        self._drawn: OrderedDict[tuple[int, engine.Config], None] = OrderedDict()

    def encode(self, exercise: Exercise) -> Encoded:
        arrays: dict[str, np.ndarray] = {}
        given = None
        if exercise.on_example:
            v = exercise.variant
            given = {"y": v.y, "lr": v.lr}
            arrays = {"x": v.x, **v.params}
        return Encoded(pack({
            "example": given,
            "seed": exercise.seed, "config": exercise.config.to_dict(),
            "chain": exercise.chain, "seed_given": exercise.seed_given,
            "steps": list(exercise.steps), "position": exercise.position,
            "states": exercise.states, "attempts": exercise.attempts,
            "hints": [[{"level": h.level, "cell": list(h.cell), "text": h.text,
                        "feeds": {name: [list(ix) for ix in cells]
                                  for name, cells in h.feeds.items()}}
                       for h in step] for step in exercise.hints],
        }, arrays))

    async def decode(self, exercise_id: str, loaded: Loaded) -> Exercise:
        meta, arrays = unpack(loaded.state)
        config = engine.Config(**meta["config"])
        given, seed, example = meta.get("example"), None, None
        if given is not None:
            if missing := {"x", *engine.PARAM_NAMES} - set(arrays):
                raise ValueError(f"an exercise's example lacks {', '.join(sorted(missing))}")
            params = {name: arrays[name] for name in engine.PARAM_NAMES}
            example = engine.given_variant(arrays["x"], float(given["y"]), params,
                                           float(given["lr"]), config)
        else:
            seed = int(meta["seed"])
            if (seed, config) not in self._drawn:  # drawing may take a while: off the loop
                await run_in_threadpool(engine.variant, seed, config)
            self._seen(seed, config)
        hints = [[engine.Hint(int(h["level"]), tuple(h["cell"]), str(h["text"]),
                              {name: [tuple(ix) for ix in cells]
                               for name, cells in h["feeds"].items()})
                  for h in step] for step in meta["hints"]]
        return Exercise.restore(
            exercise_id, tuple(meta["steps"]), seed, config, chain=bool(meta["chain"]),
            seed_given=bool(meta["seed_given"]), position=int(meta["position"]),
            states=[str(s) for s in meta["states"]],
            attempts=[int(a) for a in meta["attempts"]], hints=hints, example=example)

    def remember(self, exercise: Exercise) -> None:
        if exercise.seed is not None:
            self._seen(exercise.seed, exercise.config)

    def _seen(self, seed: int, config: engine.Config) -> None:
        self._drawn[(seed, config)] = None
        self._drawn.move_to_end((seed, config))
        while len(self._drawn) > 128:  # fewer than engine.variant keeps
            self._drawn.popitem(last=False)


# ------------------------------------------------------------------------------- stores
def walk_stores(settings: Settings, plane: Backplane | None
                ) -> tuple[WalkStore[Session], WalkStore[Exercise]]:
    """The app's session and exercise stores: in memory, or in Redis through ``plane``."""
    per_client = settings.max_sessions_per_client
    if plane is None:
        return (MemoryWalkStore(kind="session", max_items=settings.max_sessions,
                                ttl=settings.session_ttl, max_per_client=per_client,
                                protect=settings.session_protect),
                MemoryWalkStore(kind="exercise", max_items=settings.max_exercises,
                                ttl=settings.exercise_ttl, max_per_client=per_client,
                                protect=settings.exercise_protect))
    return (RedisWalkStore(plane, SessionCodec(), max_items=settings.max_sessions,
                           ttl=settings.session_ttl, max_per_client=per_client,
                           protect=settings.session_protect),
            RedisWalkStore(plane, ExerciseCodec(), max_items=settings.max_exercises,
                           ttl=settings.exercise_ttl, max_per_client=per_client,
                           protect=settings.exercise_protect))
