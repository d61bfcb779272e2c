"""Walks and exercises kept in Redis answer byte for byte as the ones kept in memory.

A walk is stepped twice with the same moves: once as a :class:`app.sessions.Session` in
memory, once through a :class:`RedisWalkStore` (a real redis-server) whose codec keeps no
trace between requests, so every answer is computed from what was decoded. Every move's
answer and the view after it must be the same bytes, across epochs, back across epoch
boundaries, after goto and reset. The same for exercises, answered, revealed and stepped.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from app import exercises, serialize, sessions
from app.store.backplane import Backplane
from app.store.codecs import ExerciseCodec, PartialHistory, SessionCodec, pack, pack_params, unpack
from app.store.walks import Loaded, NotFoundError, RedisWalkStore

LAST = sessions.LAST
STEPS = len(engine.STEPS)


@st.composite
def configs(draw) -> engine.Config:
    n = draw(st.integers(4, 9))
    k = draw(st.integers(1, min(4, n)))
    pool = draw(st.integers(1, min(3, n - k + 1)))
    return engine.Config(n, k, draw(st.integers(1, 3)), pool)


MOVES = st.one_of(
    st.tuples(st.just("next"), st.integers(1, 2 * STEPS + 3)),
    st.tuples(st.just("prev"), st.integers(1, STEPS + 2)),
    st.tuples(st.just("goto"), st.tuples(st.integers(0, 3), st.integers(0, LAST))),
    st.tuples(st.just("reset"), st.just(1)),
)


def walk_of(config: engine.Config, seed: int, lr: float) -> sessions.Session:
    rng = np.random.default_rng(seed)
    x = rng.random((config.input_size, config.input_size))
    return sessions.Session(config, x, float(rng.integers(2)), engine.init_params(config, seed),
                            lr=lr, seed=seed)


def answer_of(fn, session) -> bytes:
    """What a route would send for ``fn(session)``: its JSON, or the error's name."""
    try:
        return serialize.dumps(fn(session))
    except (sessions.AtStartError, sessions.EpochLimitError, ValueError) as exc:
        return type(exc).__name__.encode()


def moved(kind: str, arg):
    def move(walk: sessions.Session):
        if kind == "next":
            walk.next()
        elif kind == "prev":
            walk.prev()
        elif kind == "goto":
            walk.goto(*arg)
            return walk.view()
        else:
            walk.reset()
            return walk.view()
        return walk.move()
    return move


def run(body):
    """``await body(store)`` on a session store in the test Redis, nothing cached."""
    async def main(url):
        plane = Backplane(url)
        try:
            return await body(RedisWalkStore(plane, SessionCodec(cache_size=0), max_items=50,
                                              ttl=60))
        finally:
            await plane.redis.aclose()
    return main


@pytest.mark.slow  # 20 random walks through real Redis: seconds
@given(config=configs(), seed=st.integers(0, 2**16), lr=st.sampled_from([0.1, 0.37, 2.0]),
       plan=st.lists(MOVES, min_size=1, max_size=6))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
def test_a_walk_kept_in_redis_answers_the_same_bytes_at_every_step(redis_url, config, seed,
                                                                   lr, plan):
    here = walk_of(config, seed, lr)

    async def body(store):
        await store.add(_twin(here))
        views = 0
        for kind, arg in plan:
            for _ in range(arg if kind in ("next", "prev") else 1):
                expected = answer_of(moved(kind, arg), here)
                try:
                    got = await store.change(here.id, lambda w, m=moved(kind, arg):
                                             serialize.dumps(m(w)))
                except (sessions.AtStartError, sessions.EpochLimitError, ValueError) as exc:
                    got = type(exc).__name__.encode()
                assert got == expected, (kind, arg, here.epoch, here.cursor)
                assert await store.read(here.id, lambda w: serialize.dumps(w.view())) == \
                    serialize.dumps(here.view())
                views += 1
        return views

    assert asyncio.run(run(body)(redis_url)) >= len(plan)


def _twin(session: sessions.Session) -> sessions.Session:
    """A copy of a new session with the same id, for the store (the original stays here)."""
    twin = sessions.Session(session.config, session.x, session.y, session.history[0],
                            lr=session.lr, seed=session.seed)
    twin.id = session.id
    return twin


def test_back_across_an_epoch_boundary_and_a_goto_far_back(redis_url):
    """The moves the random plans may miss: prev from an epoch's first step, a goto back
    to an epoch in the middle (whose parameters a load does not fetch: the store fetches
    them all and runs the move again) and one back to the first."""
    config = engine.Config(6, 3, 2, 2)
    here = walk_of(config, 3, 0.5)

    async def body(store):
        await store.add(_twin(here))
        for move in [("goto", (4, 0)), ("goto", (2, 3)), ("prev", None), ("prev", None),
                     ("goto", (3, 4)), ("goto", (0, 5)), ("goto", (1, 0)), ("prev", None)]:
            expected = answer_of(moved(*move), here)
            got = await store.change(here.id, lambda w, m=moved(*move): serialize.dumps(m(w)))
            assert got == expected, move
        return await store.read(here.id, lambda w: (w.epoch, w.cursor))

    assert asyncio.run(run(body)(redis_url)) == (0, LAST)


# --------------------------------------------------------------------- what is written
def test_only_the_changed_tail_of_a_walk_s_epochs_is_written():
    config = engine.Config()
    walk = walk_of(config, 1, 0.1)
    walk.goto(4, LAST)  # five epochs of parameters: more than a load fetches
    blobs = {i: pack_params(walk.history[i]) for i in range(len(walk.history))}
    codec = SessionCodec()

    def loaded(which: set[int]) -> Loaded:
        state = codec.encode(walk).state
        return Loaded(b"1", state, len(blobs), {i: blobs[i] for i in which})

    async def decoded(which):
        return await codec.decode(walk.id, loaded(which))

    ends = {0, len(blobs) - 2, len(blobs) - 1}
    fresh = asyncio.run(decoded(ends))
    encoded = codec.encode(fresh)
    assert (encoded.stable, encoded.tail) == (len(blobs), [])  # nothing changed
    fresh.goto(fresh.epoch + 1, 0)  # one epoch on: one entry appended
    encoded = codec.encode(fresh)
    assert (encoded.stable, len(encoded.tail)) == (len(blobs), 1)
    back = asyncio.run(decoded(ends))
    back.goto(back.epoch - 1, LAST)  # one epoch back: the last entry goes, none is written
    assert (codec.encode(back).stable, codec.encode(back).tail) == (len(blobs) - 1, [])
    back.next()  # and forward again: the same epoch, written again after the stable ones
    encoded = codec.encode(back)
    assert (encoded.stable, encoded.tail) == (len(blobs) - 1, [blobs[len(blobs) - 1]])
    far = asyncio.run(decoded(ends))
    far.goto(0, 0)  # back to the first epoch: its parameters were fetched, none between
    assert serialize.dumps(far.view()) == serialize.dumps(_at(walk, 0, 0).view())
    middle = asyncio.run(decoded(ends))
    middle.goto(2, 0)
    with pytest.raises(Exception, match="epoch 2 was not fetched"):
        middle.view()  # an epoch the load did not fetch: the store fetches them all, again
    reset = asyncio.run(decoded(ends))
    reset.reset()
    encoded = codec.encode(reset)
    assert (encoded.stable, encoded.tail) == (0, [blobs[0]])


def _at(walk: sessions.Session, epoch: int, cursor: int) -> sessions.Session:
    twin = _twin(walk)
    twin.goto(epoch, cursor)
    return twin


def test_a_partial_history_reaches_only_what_it_fetched():
    blobs = {i: pack_params(engine.init_params(engine.Config(), i)) for i in range(5)}
    history = PartialHistory(5, {0: blobs[0], 3: blobs[3], 4: blobs[4]})
    assert len(history) == 5 and history.stable == 5
    assert history[-1]["W1"].tolist() == engine.init_params(engine.Config(), 4)["W1"].tolist()
    with pytest.raises(Exception, match="epoch 2 was not fetched"):
        history[2]
    history.pop()
    history.pop()
    assert history.stable == 3 and len(history) == 3
    with pytest.raises(Exception, match="not fetched"):
        history[-1]


def test_blobs_hold_float64_bytes_and_refuse_anything_else():
    x = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    blob = pack({"a": 1}, {"x": x, "empty": np.zeros((0,))})
    meta, arrays = unpack(blob)
    assert meta == {"a": 1} and arrays["x"].tobytes() == x.tobytes()
    assert arrays["x"].shape == (2, 3) and arrays["empty"].shape == (0,)
    assert x.tobytes() in blob  # the raw bytes, not text
    for bad in (blob[:-1], blob + b"\0", b"\0\0", b"\0\0\0\x02{}",
                blob.replace(b"<f8", b"<f4"), blob.replace(b'"format":1', b'"format":9')):
        with pytest.raises(ValueError):
            unpack(bad)


def test_bytes_no_codec_wrote_are_an_unknown_id(redis_url):
    async def body(store):
        walk = walk_of(engine.Config(), 2, 0.1)
        await store.add(walk)
        await store.plane.redis.hset(store.plane.key("session", walk.id), "state", b"pickle?")
        with pytest.raises(NotFoundError):
            await store.read(walk.id, lambda w: w.view())
        return True

    assert asyncio.run(run(body)(redis_url))


# ------------------------------------------------------------------------------ exercises
ACTIONS = st.lists(st.one_of(st.tuples(st.just("answer"), st.integers(0, 3)),
                             st.tuples(st.just("reveal"), st.just(0)),
                             st.tuples(st.just("next"), st.just(0))), min_size=1, max_size=12)


def act(kind: str, arg: int):
    def action(task: exercises.Exercise):
        if kind == "answer":  # the truth, or the truth shifted: right and wrong answers
            truth = np.asarray(task.current.truth)
            return task.answer((truth + arg * 0.5).tolist() if truth.shape else
                               float(truth) + arg * 0.5)
        if kind == "reveal":
            task.reveal()
        else:
            task.next()
        return task.view()
    return action


@pytest.mark.slow  # 20 random exercises through real Redis
@given(seed=st.integers(0, 2**20), chain=st.booleans(), step=st.sampled_from(engine.STEP_NAMES),
       given_seed=st.booleans(), on_example=st.booleans(), plan=ACTIONS)
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_exercise_kept_in_redis_answers_the_same_bytes(redis_url, seed, chain, step,
                                                          given_seed, on_example, plan):
    config = engine.Config()
    example = None
    if on_example:  # numbers given as they are (the explorer's walk), not drawn
        rng = np.random.default_rng(seed)
        example = engine.given_variant(rng.random((6, 6)), float(seed % 2),
                                       engine.init_params(config, seed), 0.25, config)
        seed = None
    here = exercises.create(step, chain=chain, seed=seed, config=config, example=example)
    here.seed_given = given_seed  # as if the server had drawn it
    twin = exercises.create(step, chain=chain, seed=seed, config=config, example=example)
    twin.id, twin.seed_given = here.id, given_seed

    async def main():
        plane = Backplane(redis_url)
        store = RedisWalkStore(plane, ExerciseCodec(), max_items=10, ttl=60)
        try:
            await store.add(twin)
            for kind, arg in plan:
                try:
                    expected = serialize.dumps(act(kind, arg)(here))
                except (exercises.NotReadyError, exercises.NoAttemptsError) as exc:
                    expected = type(exc).__name__.encode()
                try:
                    got = await store.change(here.id, lambda t, a=act(kind, arg):
                                             serialize.dumps(a(t)))
                except (exercises.NotReadyError, exercises.NoAttemptsError) as exc:
                    got = type(exc).__name__.encode()
                assert got == expected, (kind, arg)
                assert await store.read(here.id, lambda t: serialize.dumps(t.view())) == \
                    serialize.dumps(here.view())
        finally:
            await plane.redis.aclose()

    asyncio.run(main())


def test_a_worker_reuses_a_trace_only_while_the_walk_s_parameters_stay(redis_url):
    """The trace a worker computed is kept for the next request on the same parameters
    (same generation, same bytes), and never offered once they changed."""
    def traced(walk: sessions.Session) -> bool:
        return walk.derived[0] is not None

    def viewed(move):
        def fn(walk: sessions.Session) -> None:
            move(walk)
            walk.view()
        return fn

    async def main():
        plane = Backplane(redis_url)
        store = RedisWalkStore(plane, SessionCodec(), max_items=10, ttl=60)
        walk = walk_of(engine.Config(), 4, 0.1)
        try:
            await store.add(walk)
            seen = [await store.read(walk.id, traced)]  # nothing computed yet
            await store.change(walk.id, viewed(lambda w: w.goto(0, 3)))
            seen.append(await store.read(walk.id, traced))  # kept from the change
            await store.change(walk.id, sessions.Session.reset)  # same numbers, new walk
            seen.append(await store.read(walk.id, traced))
            await store.change(walk.id, viewed(lambda w: w.goto(1, 0)))
            seen.append(await store.read(walk.id, traced))
            await store.change(walk.id, lambda w: w.goto(2, 0))  # new parameters
            seen.append(await store.read(walk.id, traced))
            return seen
        finally:
            await plane.redis.aclose()

    assert asyncio.run(main()) == [False, True, False, True, False]


def test_an_exercise_blob_written_before_examples_opens_on_its_seed():
    """The previous version's blob has no ``example`` in its meta and no arrays."""
    before = exercises.create("dA1", chain=False, seed=5, config=engine.Config())
    meta, _ = unpack(ExerciseCodec().encode(before).state)
    del meta["example"]
    old = pack(meta, {})
    restored = asyncio.run(ExerciseCodec().decode(before.id, Loaded(b"1", old, 0, {})))
    assert serialize.dumps(restored.view()) == serialize.dumps(before.view())


def test_an_example_exercise_blob_without_its_arrays_is_refused():
    walk = engine.init_params(engine.Config(), 1)
    example = engine.given_variant(np.ones((6, 6)), 1.0, walk, 0.1)
    task = exercises.create("Z1", chain=False, seed=None, config=engine.Config(),
                            example=example)
    meta, arrays = unpack(ExerciseCodec().encode(task).state)
    assert set(arrays) == {"x", *engine.PARAM_NAMES}
    del arrays["W2"]
    with pytest.raises(ValueError, match="W2"):
        asyncio.run(ExerciseCodec().decode(task.id, Loaded(b"1", pack(meta, arrays), 0, {})))
