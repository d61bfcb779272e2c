"""How a walk (session) and an exercise are kept in Redis: their bytes, never a pickle.

Every blob is :func:`pack`'s format: a 4-byte big-endian header length, a JSON header
``{"meta": {...}, "arrays": [[name, dtype, shape], ...]}`` and then each array's raw bytes
in that order, always float64 little-endian (``"<f8"``). :func:`unpack` checks the dtype,
the shapes and the total length, and refuses anything else with a ValueError (the store
then answers as if the item did not exist).

A session is its state and one list entry per epoch (:class:`app.store.walks.RedisWalkStore`
keeps the state in ``{p}session:{id}`` and the entries in ``{p}session:{id}:list``):

- state: meta ``config`` (a seed-shaped network, as every blob before networks were
  data) or ``network`` (any other, its spec), ``y, lr, seed, cursor, generation``; arrays
  ``x`` and ``loss_history`` (one loss per epoch completed);
- entry ``e``: the parameters ``W1 b1 W2 b2 …`` epoch ``e`` started from. A walk keeps at
  most ``app.sessions.MAX_KEPT_BYTES`` of them (counted as Python holds them; as bytes here
  they are smaller). They are never all rewritten: :class:`PartialHistory` tracks how many
  leading entries are unchanged (``prev`` across an epoch lowers it, ``next`` into a new
  epoch appends after it, a reset or an edit sets it to 0), and a commit writes only what
  follows. A load fetches the first entry and the last two (enough for every move but a
  ``goto`` back across several epochs, which loads them all).

An exercise is its state alone: meta ``seed, config`` (or ``network``, as a session's)
``, chain, seed_given, steps, position, states, attempts, hints`` (each hint's ``level, cell,
text, feeds``). An exercise on an
example given as it is (the explorer's walk) has ``seed`` null, ``example: {y, lr}`` in
its meta and the arrays ``x W1 b1 W2 b2``; a blob without ``example`` (every one written
before examples could be given) is drawn again from its seed. An exercise whose updates
use an optimizer of its own (W1@adam with options, a chain by Adam) has ``optimizer``
(its ``to_dict()``) in its meta, one whose means have a batch size of their own ``batch``;
a blob without them uses Practice's defaults.

What is derived is computed again, never stored: a session's trace and step records (kept
per worker, keyed by the session's ``generation`` and a digest of its current parameters'
bytes, so a worker never reuses them for parameters that changed) and an exercise's variant
(``engine.variant`` keeps the last ones drawn per process).

:func:`walk_stores` makes the app's two stores: in memory without a backplane, in Redis
with these codecs when there is one.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import OrderedDict
from typing import Any

import numpy as np
import orjson
from starlette.concurrency import run_in_threadpool

import engine

from ..compare import Comparison
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


# ------------------------------------------------------------------------------ networks
def network_meta(net: engine.Network) -> dict[str, Any]:
    """How a blob names its network: ``config`` for a seed-shaped one (as every blob did
    before networks were data), else ``network``, its spec."""
    if net.config is not None:
        return {"config": net.config.to_dict()}
    return {"network": net.to_dict()}


def network_from_meta(meta: dict[str, Any]) -> engine.Network:
    if "network" in meta:
        return engine.network(meta["network"])
    return engine.as_network(engine.Config(**meta["config"]))


# ------------------------------------------------------------------------------ sessions
_PARAM = re.compile(r"^[Wb][1-9][0-9]*$")
_STATE = re.compile(r"^[vms]_[Wb][1-9][0-9]*$")  # an optimizer's state: v_W1, m_W1, s_W1


def pack_params(params: dict[str, np.ndarray]) -> bytes:
    """An epoch's entry: its parameters, then the optimizer's state (if any)."""
    return pack({}, {name: value for name, value in params.items()
                     if _PARAM.match(name) or _STATE.match(name)})


def unpack_params(blob: bytes) -> dict[str, np.ndarray]:
    _, arrays = unpack(blob)
    names = tuple(n for n in arrays if _PARAM.match(n))
    expected = tuple(f"{kind}{i}" for i in range(1, len(names) // 2 + 1) for kind in "Wb")
    state = tuple(n for n in arrays if not _PARAM.match(n))
    if (not names or names != expected or tuple(arrays) != names + state
            or not all(_STATE.match(n) and n[2:] in names for n in state)):
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
        # as the view shows them
        y: Any = [_label(v) for v in session.ys] if session.batch > 1 else _label(session.y)
        walk = {} if session.optimizer is None else {"optimizer": session.optimizer.to_dict()}
        state = pack({**network_meta(session.net), **walk, "y": y,
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
        net = network_from_meta(meta)
        optimizer = engine.optimizers.optimizer(meta["optimizer"]) if "optimizer" in meta \
            else None
        losses = arrays["loss_history"]
        batch = len(meta["y"]) if isinstance(meta["y"], list) else 1
        steps = len(engine.steps_for(net, batch, optimizer))
        if loaded.length != losses.shape[0] + 1 or not -1 <= meta["cursor"] < steps:
            raise ValueError(f"session {session_id}: {loaded.length} epochs kept, "
                             f"{losses.shape[0]} losses, cursor {meta['cursor']}")
        history = PartialHistory(loaded.length, loaded.entries)
        derived = self._derived.get((meta["generation"], _digest(history.blob(-1))))
        labels = meta["y"] if batch > 1 else [meta["y"]]
        if not all(type(v) in (int, float) for v in labels) or (
                arrays["x"].ndim != (2 if batch == 1 else 3)) or (
                batch > 1 and arrays["x"].shape[0] != batch):
            raise ValueError(f"session {session_id}: y {meta['y']!r}, x {arrays['x'].shape}")
        y = tuple(labels) if batch > 1 else meta["y"]
        return Session.restore(session_id, net, arrays["x"], y,
                               lr=float(meta["lr"]), seed=int(meta["seed"]), history=history,
                               loss_history=[float(v) for v in losses],
                               cursor=int(meta["cursor"]), generation=meta["generation"],
                               optimizer=optimizer, derived=derived)

    def remember(self, session: Session) -> None:
        derived = session.derived
        if derived[0] is None or self.cache_size <= 0:
            return
        history = session.history
        latest = history.blob(-1) if isinstance(history, PartialHistory) \
            else pack_params(session.params)
        key = (session.generation, _digest(latest))
        self._derived[key] = derived
        self._derived.move_to_end(key)
        while len(self._derived) > self.cache_size:
            self._derived.popitem(last=False)


def _label(y: Any) -> int | float:
    return y if type(y) is int else float(y)


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


# ----------------------------------------------------------------------------- exercises
class ExerciseCodec:
    """An exercise as one state blob (see the module's text): a seed-shaped network's as
    ``config`` (as every blob before networks were data), any other's as ``network``, its
    spec (:func:`network_meta`)."""

    kind = "exercise"
    has_list = False

    def __init__(self) -> None:
        self._drawn: OrderedDict[tuple[int, engine.Network], None] = OrderedDict()

    def encode(self, exercise: Exercise) -> Encoded:
        arrays: dict[str, np.ndarray] = {}
        given = None
        if exercise.on_example:
            v = exercise.variant
            given = {"y": v.y, "lr": v.lr}
            arrays = {"x": v.x, **{name: v.params[name] for name in exercise.net.param_names}}
        return Encoded(pack({
            "example": given,
            "seed": exercise.seed, **network_meta(exercise.net),
            "chain": exercise.chain, "seed_given": exercise.seed_given,
            "steps": list(exercise.steps), "position": exercise.position,
            **({} if exercise.optimizer is None
               else {"optimizer": exercise.optimizer.to_dict()}),
            **({} if exercise.batch is None else {"batch": int(exercise.batch)}),
            "states": exercise.states, "attempts": exercise.attempts,
            "hints": [[{"level": h.level, "cell": list(h.cell), "text": h.text,
                        "feeds": {name: [list(ix) for ix in cells]
                                  for name, cells in h.feeds.items()}}
                       for h in step] for step in exercise.hints],
        }, arrays))

    async def decode(self, exercise_id: str, loaded: Loaded) -> Exercise:
        meta, arrays = unpack(loaded.state)
        net = network_from_meta(meta)
        given, seed, example = meta.get("example"), None, None
        if given is not None:
            if missing := {"x", *net.param_names} - set(arrays):
                raise ValueError(f"an exercise's example lacks {', '.join(sorted(missing))}")
            params = {name: arrays[name] for name in net.param_names}
            example = engine.given_variant(arrays["x"], float(given["y"]), params,
                                           float(given["lr"]), net)
        else:
            seed = int(meta["seed"])
            if (seed, net) not in self._drawn:  # drawing may take a while: off the loop
                await run_in_threadpool(engine.variant, seed, net)
            self._seen(seed, net)
        optimizer = (engine.optimizers.optimizer(meta["optimizer"]) if "optimizer" in meta
                     else None)
        batch = meta.get("batch")
        if batch is not None and (type(batch) is not int or not
                                  engine.practice.BATCH_LIMITS[0] <= batch
                                  <= engine.practice.BATCH_LIMITS[1]):
            raise ValueError(f"exercise {exercise_id}: batch {batch!r}")
        hints = [[engine.Hint(int(h["level"]), tuple(h["cell"]), str(h["text"]),
                              {name: [tuple(ix) for ix in cells]
                               for name, cells in h["feeds"].items()})
                  for h in step] for step in meta["hints"]]
        return Exercise.restore(
            exercise_id, tuple(meta["steps"]), seed, net, chain=bool(meta["chain"]),
            seed_given=bool(meta["seed_given"]), position=int(meta["position"]),
            states=[str(s) for s in meta["states"]],
            attempts=[int(a) for a in meta["attempts"]], hints=hints, example=example,
            optimizer=optimizer, batch=batch)

    def remember(self, exercise: Exercise) -> None:
        if exercise.seed is not None:
            self._seen(exercise.seed, exercise.net)

    def _seen(self, seed: int, net: engine.Network) -> None:
        self._drawn[(seed, net)] = None
        self._drawn.move_to_end((seed, net))
        while len(self._drawn) > 128:  # fewer than engine.variant keeps
            self._drawn.popitem(last=False)


# --------------------------------------------------------------------------- comparisons
def _frames(parts: list[bytes]) -> bytes:
    return b"".join(_LENGTH.pack(len(p)) + p for p in parts)


def _unframe(blob: bytes) -> list[bytes]:
    parts, at = [], 0
    while at < len(blob):
        if at + _LENGTH.size > len(blob):
            raise ValueError("a frame's length runs past the blob's end")
        (size,) = _LENGTH.unpack_from(blob, at)
        at += _LENGTH.size
        if at + size > len(blob):
            raise ValueError("a frame runs past the blob's end")
        parts.append(blob[at:at + size])
        at += size
    return parts


class CompareCodec:
    """A comparison as one state blob: its own header, then each walk's state and every
    epoch's entry (a comparison's two histories are short: each session's cap holds)."""

    kind = "compare"
    has_list = False

    def __init__(self) -> None:
        self._sessions = SessionCodec(cache_size=0)

    def _walk(self, session: Session) -> list[bytes]:
        encoded = self._sessions.encode(session)
        history = session.history
        entries = [history.blob(i) if isinstance(history, PartialHistory)
                   else pack_params(history[i]) for i in range(len(history))]
        return [encoded.state, _frames(entries)]

    def encode(self, c: Comparison) -> Encoded:
        head = pack({"switch": c.switch, "position": int(c.position), "a": c.a.id,
                     "b": c.b.id}, {})
        return Encoded(_frames([head, *self._walk(c.a), *self._walk(c.b)]))

    async def _session(self, session_id: str, state: bytes, entries: bytes) -> Session:
        blobs = _unframe(entries)
        return await self._sessions.decode(session_id, Loaded(b"", state, len(blobs),
                                                              dict(enumerate(blobs))))

    async def decode(self, comparison_id: str, loaded: Loaded) -> Comparison:
        head, a_state, a_entries, b_state, b_entries = _unframe(loaded.state)
        meta, _ = unpack(head)
        a = await self._session(meta["a"], a_state, a_entries)
        b = await self._session(meta["b"], b_state, b_entries)
        if meta["switch"] is not None and meta["switch"] not in engine.compare.SWITCHES:
            raise ValueError(f"comparison {comparison_id}: switch {meta['switch']!r}")
        c = Comparison.restore(comparison_id, a, b, meta["switch"], int(meta["position"]))
        if not -1 <= c.position <= c.last or a.epoch != b.epoch:
            raise ValueError(f"comparison {comparison_id}: position {c.position}")
        return c

    def remember(self, c: Comparison) -> None:
        pass


def compare_store(settings: Settings, plane: Backplane | None) -> WalkStore[Comparison]:
    """The app's comparisons: in memory, or in Redis; each counts as two walks against the
    session limits (it holds two), so at most half as many are kept."""
    per_client = max(1, settings.max_sessions_per_client // 2)
    most = max(1, settings.max_sessions // 2)
    if plane is None:
        return MemoryWalkStore(kind="compare", max_items=most, ttl=settings.session_ttl,
                               max_per_client=per_client, protect=settings.session_protect)
    return RedisWalkStore(plane, CompareCodec(), max_items=most, ttl=settings.session_ttl,
                          max_per_client=per_client, protect=settings.session_protect)


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
