"""Sessions over HTTP: stepping visits every step in order, prev undoes it exactly.

Every test that makes a session (through ``fresh_client`` or ``session``) runs twice: on
the memory store and on the Redis store (a real redis-server), which must answer the same
bytes; only the meta test, which keeps no session, runs once.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app import sessions
from app.sessions import LAST
from tests.app.conftest import BACKENDS, backend_settings, make_client

NAMES = [s.writes for s in engine.STEPS]
ALWAYS = {"X", "Y", "W1", "b1", "W2", "b2"}


def arr(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


@pytest.fixture(params=BACKENDS)
def fresh_client(request):
    """An app of its own, on each backend in turn."""
    with make_client(**backend_settings(request)) as c:
        yield c


@pytest.fixture
def session(fresh_client, bodies):
    body = bodies.random(engine.Config(8, 3, 2, 2), seed=7, lr=0.3)
    r = fresh_client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return fresh_client, r.json(), body


def url(data: dict, action: str = "") -> str:
    return f"/api/sessions/{data['id']}" + (f"/{action}" if action else "")


def test_a_new_session_is_before_its_first_step(session):
    client, data, _ = session
    assert len(data["id"]) >= 20
    assert (data["cursor"], data["epoch"], data["step"]) == (-1, 0, None)
    assert set(data["tensors"]) == ALWAYS
    assert data["updated"] == {} and data["winners"] is None and data["loss_history"] == []
    assert data["lr"] == 0.3
    assert all(s["latex_numbers"] is None and s["mathml_numbers"] is None
               for s in data["steps"])
    assert [s["writes"] for s in data["steps"]] == NAMES
    assert set(data["ranges"]) == ALWAYS
    r = client.get(url(data))
    assert r.status_code == 200
    assert r.json() == data


def test_next_visits_every_step_in_order_revealing_only_what_is_computed(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    records = engine.step_records(t, 0.3)
    revealed = set(ALWAYS)
    for i, name in enumerate(NAMES):
        r = client.post(url(data, "next"))
        assert r.status_code == 200
        move = r.json()
        assert (move["cursor"], move["epoch"]) == (i, 0)
        assert move["step"]["writes"] == name
        assert move["step"]["latex_numbers"] == records[i]["latex_numbers"]
        assert np.array_equal(arr(move["tensor"]), engine.step_value(t, i, 0.3))
        view = client.get(url(data)).json()
        if engine.STEPS[i].phase != "update":
            revealed.add(name)
        if name == "dW1":
            revealed.add("dX")  # the saliency map comes with the conv's backward
        assert set(view["tensors"]) == revealed
        assert set(view["ranges"]) == revealed
        assert view["step"] == move["step"]
        assert [s["latex_numbers"] is not None for s in view["steps"]][i + 1:] == \
            [False] * (len(NAMES) - i - 1)
        assert (view["winners"] is not None) == ("P1" in revealed)
        for tensor in view["tensors"]:
            assert np.array_equal(arr(view["tensors"][tensor]), t[tensor]), tensor
        for param, value in view["updated"].items():
            assert np.array_equal(arr(value), t[param] - 0.3 * t["d" + param])


def test_after_the_last_update_next_starts_the_next_epoch(session):
    client, data, body = session
    for _ in range(LAST + 1):
        client.post(url(data, "next"))
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    new = engine.sgd_step(t, t, 0.3)
    r = client.post(url(data, "next"))
    assert r.status_code == 200
    move = r.json()
    assert (move["cursor"], move["epoch"]) == (0, 1)
    t2 = engine.trace(body["x"], body["y"], new, config)
    assert np.array_equal(arr(move["tensor"]), t2["Z1"])
    view = client.get(url(data)).json()
    assert view["loss_history"] == [float(t["L"])]
    assert set(view["tensors"]) == ALWAYS | {"Z1"} and view["updated"] == {}
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(view["params"][name]), new[name])
        assert np.array_equal(arr(view["tensors"][name]), new[name])


def test_prev_undoes_every_next_exactly_across_epochs(session):
    client, data, _ = session
    views = [client.get(url(data)).json()]
    for _ in range(2 * (LAST + 1) + 3):
        assert client.post(url(data, "next")).status_code == 200
        views.append(client.get(url(data)).json())
    for expected in reversed(views[:-1]):
        r = client.post(url(data, "prev"))
        assert r.status_code == 200
        assert (r.json()["cursor"], r.json()["epoch"]) == (expected["cursor"],
                                                           expected["epoch"])
        assert client.get(url(data)).json() == expected
    r = client.post(url(data, "prev"))
    assert r.status_code == 409
    assert "start" in r.json()["detail"]


def test_prev_to_before_the_first_step(session):
    client, data, _ = session
    client.post(url(data, "next"))
    move = client.post(url(data, "prev")).json()
    assert move == {"cursor": -1, "epoch": 0, "step": None, "tensor": None, "reveals": {},
                    "ranges": {}, "marks": {}, "update": None, "known": list(engine.GIVEN)}


def test_patch_edits_and_resets(session, bodies):
    client, data, body = session
    for _ in range(LAST + 3):
        client.post(url(data, "next"))
    x = np.eye(8).tolist()
    r = client.patch(url(data), json={"x": x, "y": 0, "lr": 0.05,
                                      "params": {"b2": [0.5]}})
    assert r.status_code == 200
    view = r.json()
    assert (view["cursor"], view["epoch"], view["lr"]) == (-1, 0, 0.05)
    assert view["tensors"]["X"] == x and view["tensors"]["Y"] == 0.0
    assert view["params"]["b2"] == [0.5]
    # The other parameters are those the session had at the time (epoch 1's).
    assert view["params"]["W1"] != body["params"]["W1"]


def test_patch_config_redraws_what_is_not_given(session):
    client, data, _ = session
    r = client.patch(url(data), json={"config": {"input_size": 10, "filters": 1}, "seed": 3})
    assert r.status_code == 200
    view = r.json()
    config = engine.Config(10, 3, 1, 2)
    x, _ = engine.preset("vertical_stroke", 10)
    assert view["tensors"]["X"] == x.tolist()
    for name, value in engine.init_params(config, 3).items():
        assert np.array_equal(arr(view["params"][name]), value)
    assert view["config"]["input_size"] == 10


def test_patch_config_keeps_x_when_the_size_stays(session):
    client, data, body = session
    r = client.patch(url(data), json={"config": {**body["config"], "kernel_size": 2}})
    assert r.status_code == 200
    assert r.json()["tensors"]["X"] == body["x"]


def test_a_bad_patch_changes_nothing(session):
    client, data, _ = session
    client.post(url(data, "next"))
    before = client.get(url(data)).json()
    for patch, loc in [({"x": [[0.0] * 6] * 6}, ["body", "x"]),
                       ({"params": {"W2": [[0.0] * 3]}}, ["body", "params", "W2"]),
                       ({"config": {"input_size": 4}}, ["body", "x"]),
                       ({"lr": 0}, ["body", "lr"]), ({"y": 3}, ["body", "y"])]:
        if patch.get("config"):
            patch["x"] = [[0.0] * 5] * 5
        r = client.patch(url(data), json=patch)
        assert r.status_code == 422, patch
        assert loc in [d["loc"] for d in r.json()["detail"]], r.json()
    assert client.get(url(data)).json() == before


def test_reset_goes_back_to_epoch_0(session):
    client, data, _ = session
    for _ in range(LAST + 4):
        client.post(url(data, "next"))
    r = client.post(url(data, "reset"))
    assert r.status_code == 200
    assert r.json() == data


def test_delete_and_unknown_sessions(session):
    client, data, _ = session
    assert client.delete(url(data)).status_code == 204
    for method, action in [("get", ""), ("post", "next"), ("post", "prev"),
                           ("post", "reset"), ("delete", "")]:
        r = client.request(method.upper(), url(data, action))
        assert r.status_code == 404, (method, action)
        assert "no session" in r.json()["detail"]
    assert client.patch(url(data), json={}).status_code == 404
    assert client.get("/api/sessions/" + "x" * 65).status_code == 422


def test_create_defaults_to_the_seed_example(fresh_client):
    r = fresh_client.post("/api/sessions", json={})
    assert r.status_code == 201
    x, y, params = engine.seed_example()
    data = r.json()
    assert data["tensors"]["X"] == x.tolist() and data["tensors"]["Y"] == y
    assert data["lr"] == 0.1
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(data["params"][name]), params[name])


def test_create_validates_like_backward(fresh_client):
    r = fresh_client.post("/api/sessions", json={"x": [[0.0] * 5] * 6})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "x"]


# --------------------------------------------------------------- nothing before its step
def later_values(trace: engine.Trace, cursor: int) -> dict[str, set[str]]:
    """The distinctive numbers (as JSON writes them) of every tensor of the pass the walk
    has not shown at ``cursor``: values with many digits, which no other tensor holds by
    chance, and which no shown tensor holds (A1 copies Z1's positive cells, F copies P1)."""
    def texts(name: str) -> set[str]:
        return {repr(float(v)) for v in np.ravel(trace[name]) if np.isfinite(v)}

    shown = set(engine.known(cursor))
    seen = set().union(*(texts(name) for name in shown))
    out: dict[str, set[str]] = {}
    for step in engine.STEPS:
        for name in step.reveals:
            if name not in shown:
                out[name] = {v for v in texts(name) - seen if len(v) >= 10}
    return out


def assert_holds_none(text: str, hidden: dict[str, set[str]], where: str) -> None:
    for name, values in hidden.items():
        leaked = [v for v in values if v in text]
        assert not leaked, f"{where}: {name} {leaked[:3]} before its step"


def test_no_response_of_a_walk_holds_a_later_tensor(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    assert_holds_none(client.get(url(data)).text, later_values(t, -1), "the new session")
    for cursor in range(LAST + 1):
        hidden = later_values(t, cursor)
        r = client.post(url(data, "next"))
        assert r.status_code == 200
        assert set(r.json()["reveals"]) == set(engine.STEPS[cursor].reveals)
        assert r.json()["known"] == list(engine.known(cursor))
        assert_holds_none(r.text, hidden, f"next to {cursor}")
        assert_holds_none(client.get(url(data)).text, hidden, f"the view at {cursor}")
        r = client.post(url(data, "goto"), json={"epoch": 0, "cursor": cursor})
        assert r.status_code == 200 and r.json()["cursor"] == cursor
        assert_holds_none(r.text, hidden, f"goto {cursor}")


def test_a_move_carries_what_its_step_reveals_and_their_ranges(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    moves = [client.post(url(data, "next")).json() for _ in range(LAST + 1)]
    dw1 = moves[NAMES.index("dW1")]
    assert set(dw1["reveals"]) == {"dW1", "dX"}
    assert np.allclose(arr(dw1["reveals"]["dX"]), t["dX"], rtol=0, atol=0)
    assert dw1["ranges"]["dX"]["scale"] == "diverging"
    assert moves[NAMES.index("A1")]["ranges"]["A1"]["scale"] == "sequential"
    assert all(m["update"] is None for m in moves[:17])
    w1 = moves[17]["update"]
    assert w1["name"] == "W1" and w1.get("loss_after") is None
    assert np.allclose(arr(w1["change"]), -0.3 * t["dW1"])
    assert np.allclose(arr(w1["after"]), arr(w1["before"]) + arr(w1["change"]))
    last = moves[LAST]["update"]
    new = engine.sgd_step(body["params"] | {}, t, 0.3)
    assert last["loss_before"] == float(t["L"])
    assert last["loss_after"] == engine.loss(body["x"], body["y"], new, config)


def test_provenance_is_refused_until_the_walk_reaches_the_tensor(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    where = url(data, "provenance/dA1") + "?index=1,2,3"
    for cursor in range(NAMES.index("dA1")):
        r = client.get(where)
        assert r.status_code == 409, cursor
        assert "dA1" in r.json()["detail"]
        assert client.post(url(data, "next")).status_code == 200
    client.post(url(data, "next"))
    r = client.get(where)
    assert r.status_code == 200
    got = r.json()
    expected = engine.provenance(t, "dA1", (1, 2, 3))
    assert got["value"] == expected["value"] and got["note"] == expected["note"]
    assert got["sources"] == {k: v for k, v in expected.items()
                              if k not in engine.PROVENANCE_DETAILS}


@pytest.mark.parametrize(("path", "loc"), [
    ("provenance/Z1?index=0,9,9", ["query", "index"]),
    ("provenance/Z1?index=0;1", ["query", "index"]),
    ("provenance/X?index=0,1", ["path", "tensor"]),
    ("provenance/nope?index=0", ["path", "tensor"]),
])
def test_bad_provenance_questions_name_their_field(session, path, loc):
    client, data, _ = session
    client.post(url(data, "next"))
    r = client.get(url(data, path))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == loc


def test_gradcheck_covers_only_the_gradients_the_walk_reached(session):
    client, data, _ = session
    seen = []
    for cursor in range(LAST + 1):
        client.post(url(data, "next"))
        if NAMES[cursor] in ("Z1", "dW2", "dW1", "db1"):
            r = client.post(url(data, "gradcheck"))
            assert r.status_code == 200
            seen.append(sorted(r.json()["params"]))
    assert seen == [[], ["W2"], ["W1", "W2", "b2"], ["W1", "W2", "b1", "b2"]]
    check = r.json()
    assert np.shape(check["params"]["W1"]["numeric"]) == (2, 3, 3)
    assert check["max_rel_error"] < 1e-5


def test_reset_after_an_update_pass_returns_to_the_starting_parameters(session):
    client, data, body = session
    for _ in range(LAST + 3):
        client.post(url(data, "next"))
    assert client.get(url(data)).json()["epoch"] == 1
    view = client.post(url(data, "reset")).json()
    assert (view["epoch"], view["cursor"]) == (0, -1)
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(view["params"][name]), arr(body["params"][name])), name


def test_goto_steps_exactly_and_refuses_a_pass_before_its_start(session):
    client, data, _ = session
    r = client.post(url(data, "goto"), json={"epoch": 1, "cursor": 3})
    assert r.status_code == 200
    assert (r.json()["epoch"], r.json()["cursor"]) == (1, 3)
    stepped = [client.post(url(data, "prev")).json()["cursor"] for _ in range(4)]
    assert stepped == [2, 1, 0, LAST]
    r = client.post(url(data, "goto"), json={"epoch": 1, "cursor": -1})
    assert r.status_code == 422
    r = client.post(url(data, "goto"), json={"epoch": 0, "cursor": LAST + 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "cursor"]


def test_meta_is_the_one_home_of_names_titles_scales_and_defaults(client):
    meta = client.get("/api/meta").json()
    names = [t["name"] for t in meta["tensors"]]
    assert names == list(engine.TITLES)
    scales = {t["name"]: t["scale"] for t in meta["tensors"]}
    assert {n for n, s in scales.items() if s == "sequential"} == {"X", "A1", "P1", "F"}
    assert meta["given"] == list(engine.GIVEN)
    assert meta["default_lr"] == 0.1 and meta["default_seed"] == engine.DEFAULT_SEED
    assert meta["train_limits"]["epochs"] == [1, 1000]
    assert meta["session_max_epochs"] == 10_000
    assert [s["reveals"] for s in meta["steps"]][NAMES.index("dW1")] == ["dW1", "dX"]


def test_a_whole_tensor_of_provenance_at_once_bounded_and_refused_before_its_step(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    where = url(data, "provenance/dW1/cells")
    assert client.get(where).status_code == 409
    client.post(url(data, "goto"), json={"epoch": 0, "cursor": NAMES.index("dW1")})
    r = client.get(where)
    assert r.status_code == 200
    got = r.json()
    assert got["tensor"] == "dW1"
    indexes = [tuple(c["index"]) for c in got["cells"]]
    assert indexes == list(np.ndindex(t["dW1"].shape))[:len(indexes)]
    assert got["complete"] == (len(indexes) == t["dW1"].size)
    for cell in got["cells"]:
        assert cell == client.get(url(data, "provenance/dW1")
                                  + "?index=" + ",".join(map(str, cell["index"]))).json()
    assert client.get(url(data, "provenance/W1/cells")).status_code == 422


def test_a_whole_tensor_answer_stops_at_its_bound_and_fits_the_default_network(fresh_client):
    sid = fresh_client.post("/api/sessions", json={}).json()["id"]
    fresh_client.post(f"/api/sessions/{sid}/goto", json={"epoch": 0, "cursor": LAST})
    for name in engine.PROVENANCE_SOURCES:
        got = fresh_client.get(f"/api/sessions/{sid}/provenance/{name}/cells").json()
        assert got["complete"], name
    big = {"config": {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1}}
    sid = fresh_client.post("/api/sessions", json=big).json()["id"]
    fresh_client.post(f"/api/sessions/{sid}/goto", json={"epoch": 0, "cursor": 0})
    got = fresh_client.get(f"/api/sessions/{sid}/provenance/Z1/cells").json()
    assert not got["complete"]
    used = sum(1 + sum(len(v) for v in c["sources"].values()) for c in got["cells"])
    assert used <= sessions.PROVENANCE_BATCH < used + 4  # each Z1 cell: X, W1, b1 and itself
