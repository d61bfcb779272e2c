"""Practice: examples a student can compute by hand, every step as an exercise, grading.

    variant(seed, config) -> Variant          numbers with one or two decimals, checked
    given_variant(x, y, params, lr, config)   a walk's own example, as it is
    exercise(step, variant) -> Exercise       the step's givens (exactly what it reads) and
                                              its true result
    grade(step, answer, truth, given) -> Grade   cell by cell, with the misconception that
                                              explains the wrong cells, if one does
    hint(step, level, cell, given) -> Hint    which cells feed a cell; then its formula with
                                              the numbers (but not the result)

Beyond a walk's steps, two kinds of step names ask for the exercises of issue 21 (every
function above takes them; :func:`step_names` with ``optimizer=`` and
:func:`mean_step_names` list them):

    "W1@momentum", "W1@adam"   an update of W1 by that optimizer: given W1, dW1, the state
                               before (v_W1; m_W1 and s_W1), t and the options (beta;
                               beta1, beta2, eps) as numbers; the answer is the new W1
    "mean_dW1"                 a mini-batch's mean gradient: given the N per-example
                               gradients dW1(1) ... dW1(N); the answer is their mean

Tolerance (:func:`tolerance`): a cell is right when it is within 0.6 units of the third
significant digit of the true value, or within 0.05% of the tensor's largest magnitude,
whichever is larger. An answer rounded to three significant digits is always accepted; a
cell off by one in its second significant digit is refused whenever its true value is at
least 5% of the tensor's largest magnitude (a cell that is nearly 0 beside large ones may be
answered 0).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .config import Config
from .kinds import _wrong
from .kinds._pool import windows as _windows
from .misconceptions import Misconception, Sizes, for_step, mean_misconceptions
from .model import Trace, trace
from .network import Network, Node, as_network
from .notation import d as _d
from .optimizers import OPTIMIZERS, Optimizer, optimizer, practice_optimizer
from .steps import STEPS, step_value, steps_for

STEP_NAMES: tuple[str, ...] = tuple(s.writes for s in STEPS)
INDEX: dict[str, int] = {name: i for i, name in enumerate(STEP_NAMES)}
LR = 0.1  # the variants' learning rate: one decimal, like every other number
SIGNIFICANT = 3  # an answer rounded to this many significant digits is accepted
SLACK = 0.6  # ... within this many units of that digit
FLOOR = 5e-4  # ... or this share of the tensor's largest magnitude
_ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_NUMBER = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
TOLERANCE_TEXT = (  # the rule above, in words, for the page
    f"A cell is right when it is within {SLACK:g} units of the {_ORDINAL[SIGNIFICANT]} "
    f"significant digit of the true value, or within {FLOOR * 100:g}% of the tensor's largest "
    "magnitude, whichever is larger: an answer rounded to "
    f"{_NUMBER[SIGNIFICANT]} significant digits is accepted; one off by one in its "
    f"{_ORDINAL[SIGNIFICANT - 1]} significant digit is not.")
EXPLAINS = 0.75  # a misconception explains an answer that matches it on this share of its
#                   wrong cells (a slip elsewhere is forgiven)
HINT_CELLS = 12  # cells a hint names of one tensor; it says how many more there are
EPS = _wrong.EPS  # values this close count as equal (the variants' numbers are exact
#                    decimals); the kinds' fit checks use the same
NetLike = Network | Config | Mapping | None


# ------------------------------------------------------------------------ practice steps
@dataclass(frozen=True)
class PracticeStep:
    """One step a student can compute: what it writes and reads, and the node (layer) and
    role (forward, backward, dW, db, dinput, loss, dA, update) its misconceptions are
    found by."""

    name: str
    phase: str
    reads: tuple[str, ...]
    latex: str
    text: str
    node: Node
    role: str
    index: int  # in practice_steps(net)


def _role(node: Node, writes: str, phase: str) -> str:
    if phase == "update":
        return "update"
    if phase == "forward":
        return "loss" if writes == "L" else "forward"
    by_param = {"d" + name: role for role, name in node.params.items()}
    if writes in by_param:
        return "d" + by_param[writes]
    if node.kind.ROLE == "output" and writes == "d" + node.writes:
        return "dA"
    if writes == "d" + node.reads:
        return "dinput" if node.params else "backward"
    raise ValueError(f"no role for {writes} of {node.writes}")


def _dinput_text(node: Node) -> str:
    W, dZ, IN = node.params["W"], "d" + node.writes, node.reads
    if node.kind.ROLE == "dense":
        return (f"The error flows back to each cell of {IN}: d{IN} = {dZ} {W}, each cell "
                f"collecting {dZ} times the weights it met.")
    pad, s = node.layer["padding"], node.layer["stride"]
    text = (f"The gradient that flows back to {IN}: each cell collects, from every position "
            f"whose window covered it, that position's {dZ} times the weight it met.")
    if s != 1:
        text += f" The window moved {s} cells at a time: only the positions it visited count."
    if pad:
        text += (f" {IN} was padded by {pad}: the border's gradients are dropped, it is not "
                 "part of the input.")
    return text


@functools.lru_cache(maxsize=256)
def practice_steps(net: Network) -> tuple[PracticeStep, ...]:
    """The steps of ``net`` a student computes, in order: every step of
    :func:`engine.steps.steps_for`; for a network that is not seed-shaped, also the input
    gradient a conv's or dense layer's backward gives beside its weights' (dX, dP1 …),
    each as a step of its own. The seed's are its 21 steps, as they always were."""
    seed_shaped = net.config is not None
    found: list[tuple[object, Node, str]] = []  # (step or formula, node, phase)
    for n in net.nodes:
        found += [(st, n, "forward") for st in n.kind.forward_steps(n, net)]
    for n in reversed(net.nodes):
        for st in n.kind.backward_steps(n, net):
            found.append((st, n, "backward"))
            if not seed_shaped:
                found += [(f, n, "dinput") for f in st.also]
    by_param = {name: n for n in net.weighted for name in n.params.values()}
    found += [(st, by_param[st.writes], "update") for st in steps_for(net)
              if st.phase == "update"]
    out = []
    for i, (st, n, phase) in enumerate(found):
        if phase == "dinput":
            reads = ("d" + n.writes, n.params["W"])
            out.append(PracticeStep(st.writes, "backward", reads, st.latex, _dinput_text(n), n,
                                    "dinput", i))
        else:
            out.append(PracticeStep(st.writes, st.phase, st.reads, st.latex, st.text, n,
                                    _role(n, st.writes, st.phase), i))
    return tuple(out)


def step_names(net: NetLike = None, *, optimizer: object = None) -> tuple[str, ...]:
    """The names of ``net``'s practice steps (the seed's STEP_NAMES by default); with an
    ``optimizer`` (a spec or an Optimizer) other than sgd, its update steps are that
    optimizer's ("W1@adam")."""
    names = tuple(s.name for s in practice_steps(as_network(net)))
    if optimizer is None:
        return names
    kind = _optimizer_of(optimizer).type
    if kind == "sgd":
        return names
    params = set(as_network(net).param_names)
    return tuple(optimizer_step_name(n, kind) if n in params else n for n in names)


def mean_step_names(net: NetLike = None) -> tuple[str, ...]:
    """The mini-batch mean's practice steps of ``net``, one per parameter: mean_dW1 ..."""
    return tuple(MEAN + "d" + name for name in as_network(net).param_names)


def practice_step(step: str, net: NetLike = None) -> PracticeStep:
    steps = practice_steps(as_network(net))
    for s in steps:
        if s.name == step:
            return s
    raise ValueError(f"step must be one of {', '.join(s.name for s in steps)}, got {step!r}")


def check_step(step: str, net: NetLike = None) -> int:
    if net is not None and as_network(net).config is None:
        return practice_step(step, net).index
    if step not in INDEX:
        raise ValueError(f"step must be one of {', '.join(STEP_NAMES)}, got {step!r}")
    return INDEX[step]


# ----------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """One example to compute by hand: x, y, params, lr and the whole trace.

    ``config`` is the seed-shaped Config (None for another network); ``network`` is always
    the network."""

    seed: int | None  # None: an example given as it is (given_variant), not drawn
    config: Config | None
    x: np.ndarray
    y: float
    params: dict[str, np.ndarray]
    lr: float
    trace: Trace = field(repr=False)
    decimals: int  # of x and W1
    network: Network | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.network is None:
            object.__setattr__(self, "network", as_network(self.config))


def _draw(rng: np.random.Generator, config: Config, decimals: int
          ) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    n, k, K, D = config.input_size, config.kernel_size, config.filters, config.features
    scale = 10**decimals
    x = rng.integers(0, scale + 1, size=(n, n)) / scale
    x[rng.random((n, n)) < 0.3] = 0.0  # a few zeros make the arithmetic lighter
    W1 = rng.integers(-9 * scale // 10, 9 * scale // 10 + 1, size=(K, k, k)) / scale
    b1 = rng.integers(-3, 4, size=K) / 10
    W2 = rng.choice([-1, 1], size=(1, D)) * rng.integers(1, 10, size=(1, D)) / 10
    b2 = rng.integers(-3, 4, size=1) / 10
    y = float(rng.integers(0, 2))
    return x, y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def _draw_network(rng: np.random.Generator, net: Network, decimals: int
                  ) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    """Any network's example: X in [0, 1] (a few zeros), each W nonzero in ±[0.1, bound]
    with bound about 1.5/sqrt(fan-in) (at most 0.9, at least 0.1) and each b in [-0.3, 0.3],
    all with ``decimals`` decimals (W and X) or one (b); Y a class."""
    scale = 10**decimals
    n = net.input_size
    x = rng.integers(0, scale + 1, size=(n, n)) / scale
    x[rng.random((n, n)) < 0.3] = 0.0
    params: dict[str, np.ndarray] = {}
    for node in net.weighted:
        W, b = node.params["W"], node.params["b"]
        shape = node.param_shapes[W]
        fan_in = int(np.prod(shape[1:]))
        top = max(1, min(9, round(15 / np.sqrt(fan_in)))) * scale // 10
        low = max(1, scale // 10)
        sign = rng.choice([-1, 1], size=shape)
        params[W] = sign * rng.integers(low, max(low, top) + 1, size=shape) / scale
        params[b] = rng.integers(-3, 4, size=node.param_shapes[b]) / 10
    y = float(rng.integers(0, net.classes))
    return x, y, params


def ties_or_zeros(t: Trace) -> list[str]:
    """What makes a trace unfit for hand computation, each layer kind's own check
    (``unfit`` in :mod:`engine.kinds`): a Z exactly 0 at a ReLU's kink, a tie among the
    positive maxima of a max-pooling window, a saturated hidden tanh or sigmoid. Empty when
    it is fit."""
    return [problem for node in t.network.nodes[:-1]
            for problem in node.kind.unfit(t, node)]


def unfit(t: Trace) -> list[str]:
    """ties_or_zeros, and an output saturated (a log a student cannot take by hand)."""
    out = t.network.nodes[-1]
    return ties_or_zeros(t) + out.kind.unfit(t, out)


def features(t: Trace) -> dict[str, bool]:
    """What a variant shows when it can: a positive window loser (max-pool routes past it),
    a blocked window (every cell <= 0: the tie rule picks its top-left cell, and the ReLU
    mask blocks the gradient routed there), a window with a positive winner, and an A2 far
    enough from 0 and 1 to compute."""
    p = t.config.pool_size
    windows = _windows(t["Z1"], p, p)  # (K, q, q, p*p)
    top = windows.max(axis=-1)
    positive_losers = (windows > EPS).sum(axis=-1) >= 2
    return {
        "loser": bool(np.any(positive_losers)) or p == 1,
        "blocked": bool(np.any(top < -EPS)),
        "active": bool(np.any(top > EPS)),
        "moderate": 0.05 < float(t["A2"]) < 0.95,
    }


def network_features(t: Trace) -> dict[str, bool]:
    """What a drawn example of any network shows when it can: a gradient that reaches the
    first layer's weights (not all blocked on the way)."""
    first = t.network.weighted[0]
    return {"reaches": bool(np.any(np.abs(np.asarray(t["d" + first.params["W"]])) > EPS))}


def _network_key(net: NetLike) -> Config | Network:
    network = as_network(net)
    return network.config if network.config is not None else network


def variant(seed: int, config: NetLike = Config()) -> Variant:
    """A hand-computable example, deterministic for ``seed`` and the network (a Config, a
    Network or its spec; a seed-shaped network draws what its Config draws).

    The seed's network: X in [0, 1] and W1 in [-0.9, 0.9] with one decimal (two, then
    three, for configs so big that one decimal cannot avoid ties), b1 and b2 in
    [-0.3, 0.3], W2 in ±[0.1, 0.9], all with one decimal; Y 0 or 1; lr 0.1. Never a Z1
    exactly 0 nor a tie among the positive maxima of a pooling window. Drawn until it also
    has everything of :func:`features` (within a budget of draws; a variant that cannot
    have a blocked window and an active one, e.g. with a single window, goes without).

    Any other network: as :func:`_draw_network` says, drawn until no kind's fit check fails
    (:func:`unfit`: no Z at a kink, no tied maximum, nothing saturated), preferring one
    whose gradient reaches the first layer.
    """
    return _cached_variant(seed, _network_key(config))


@functools.lru_cache(maxsize=256)
def _cached_variant(seed: int, key: Config | Network) -> Variant:
    return _draw_variant(seed, key)


def _draw_variant(seed: int, config: NetLike = Config()) -> Variant:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    key = _network_key(config)
    rng = np.random.default_rng([seed, 7_212_025])
    fallback = None
    if isinstance(key, Network):
        for decimals, tries in ((1, 300), (2, 200), (3, 200)):
            for _ in range(tries):
                x, y, params = _draw_network(rng, key, decimals)
                t = trace(x, y, params, key)
                if unfit(t):
                    continue
                v = Variant(seed, None, x, y, params, LR, t, decimals, key)
                if all(network_features(t).values()):
                    return _frozen(v)
                fallback = fallback or v
            if fallback is not None:
                return _frozen(fallback)
        raise ValueError(f"no hand-computable example found for seed {seed} and {key}")
    config = key
    for decimals, tries in ((1, 300), (2, 200), (3, 200), (4, 1000)):
        for _ in range(tries):
            x, y, params = _draw(rng, config, decimals)
            t = trace(x, y, params, config)
            if ties_or_zeros(t):
                continue
            if all(features(t).values()):
                return _frozen(Variant(seed, config, x, y, params, LR, t, decimals))
            if fallback is None:
                fallback = Variant(seed, config, x, y, params, LR, t, decimals)
        if fallback is not None:
            return _frozen(fallback)
    raise ValueError(f"no hand-computable example found for seed {seed} and {config}")


variant.__wrapped__ = _draw_variant  # type: ignore[attr-defined]  (a fresh draw, uncached)
variant.cache_clear = _cached_variant.cache_clear  # type: ignore[attr-defined]


def given_variant(x: np.ndarray, y: float, params: Mapping[str, np.ndarray], lr: float,
                  config: NetLike = Config()) -> Variant:
    """An example given as it is (the explorer's walk, a notebook's numbers) to compute by
    hand: no seed, no check that it is fit. Its ties and all-zero windows are named in the
    dA1 prompt (:func:`tie_note`), and the grading's tolerance holds for any numbers."""
    net = as_network(config)
    x = np.array(x, dtype=np.float64)
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    t = trace(x, float(y), params, net)
    return _frozen(Variant(None, net.config, x, float(y), params, float(lr), t, decimals=0,
                           network=net))


def _frozen(v: Variant) -> Variant:
    """The variant with every array read-only: it is cached and shared between callers."""
    for array in (v.x, *v.params.values(), *v.trace.values()):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return v


# ---------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    step: str
    index: int
    given: dict[str, np.ndarray]  # exactly STEPS[index].reads
    truth: np.ndarray
    lr: float | None  # for the update steps
    config: Config | None  # None for a network that is not seed-shaped
    prompt: str
    latex: str
    network: Network | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.network is None:
            object.__setattr__(self, "network", as_network(self.config))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.truth.shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    if not shape:
        return "one number"
    if len(shape) == 1:
        return f"{shape[0]} numbers in a row"
    if len(shape) == 3 and shape[0] == 1:
        return f"a {shape[1]}×{shape[2]} grid"
    return "a " + "×".join(map(str, shape)) + " array"


TIE_RULE = ("A window whose cells are all 0 (every Z1 there ≤ 0) still has a maximum: the "
            "first one reading row by row, its top-left cell.")

PROMPTS: dict[str, str] = {
    "Z1": "Slide W1 over X: each cell is the window's sum of X × W1, plus b1.",
    "A1": "Apply ReLU to every cell of Z1.",
    "P1": "Max-pool A1: keep the largest value of each {p}×{p} window.",
    "F": "Flatten P1 into one row, filter by filter, row by row.",
    "Z2": "The dense layer: Σ F × W2, plus b2.",
    "A2": "The sigmoid of Z2.",
    "L": "The binary cross-entropy of A2 against the label Y (natural logarithm).",
    "dA2": "How the loss changes with A2.",
    "dZ2": "The gradient at the logit Z2.",
    "dW2": "The gradient of each dense weight.",
    "db2": "The gradient of the dense bias.",
    "dF": "The gradient of each feature.",
    "dP1": "Put dF back into P1's shape.",
    "dA1": "Route each window's gradient dP1 through max-pooling. " + TIE_RULE,
    "dZ1": "Pass dA1 back through ReLU.",
    "dW1": "The gradient of each filter weight: Σ over positions of the X window × dZ1.",
    "db1": "The gradient of the conv bias.",
}


def prompt(step: str, config: Config, lr: float | None) -> str:
    shape = config.shapes()["d" + step if STEPS[INDEX[step]].phase == "update" else step]
    if STEPS[INDEX[step]].phase == "update":
        text = f"One step of gradient descent on {step} with η = {lr:g}."
    else:
        text = PROMPTS[step].format(p=config.pool_size)
    return f"{text} Your answer: {_shape_text(shape)}."


def tie_note(A1: np.ndarray, pool_size: int, *, at_most: int = 3) -> str:
    """Which cell the tie rule picks in the windows of A1 whose maximum is tied: all 0 (a
    drawn variant has no other tie) or, in an example given as it is, a positive tie."""
    p = pool_size
    windows = _windows(A1, p, p)
    tied = np.zeros(windows.shape[:-1], dtype=bool)
    if windows.shape[-1] > 1:
        ordered = np.sort(windows, axis=-1)
        tied = ordered[..., -1] - ordered[..., -2] < EPS
    zero = windows.max(axis=-1) <= 0
    notes = []
    if np.any(zero):
        cells = [f"A1[{f},{r * p},{c * p}]" for f, r, c in np.argwhere(zero)[:at_most]]
        count = int(zero.sum())
        more = f" and {count - at_most} more" if count > at_most else ""
        notes.append(
            f"In this example the window starting at {cells[0]} is all 0: its gradient "
            f"goes to {cells[0]}." if count == 1 else
            f"In this example the windows starting at {', '.join(cells)}{more} are all 0: "
            "each one's gradient goes to that first cell.")
    positive = tied & ~zero
    if np.any(positive):
        winners = windows.argmax(axis=-1)  # the first maximum, reading row by row
        cells = [f"A1[{f},{r * p + winners[f, r, c] // p},{c * p + winners[f, r, c] % p}]"
                 for f, r, c in np.argwhere(positive)[:at_most]]
        count = int(positive.sum())
        more = f" and {count - at_most} more" if count > at_most else ""
        where = "one window" if count == 1 else f"{count} windows"
        notes.append(
            f"In {where} two or more cells share the maximum: the first one reading row by "
            f"row takes the gradient ({', '.join(cells)}{more}).")
    return " ".join(notes)


NETWORK_TIE_RULE = ("Where a window's maximum is shared, the first one reading row by row "
                    "takes the gradient.")


def network_prompt(step: PracticeStep, net: Network, lr: float | None) -> str:
    """A step's task in words, for any network: the step's own sentence and the answer's
    shape."""
    shape = net.shapes()["d" + step.name if step.phase == "update" else step.name]
    if step.phase == "update":
        text = f"One step of gradient descent on {step.name} with η = {lr:g}."
    else:
        text = step.text
        if step.node.layer.type == "maxpool" and step.role == "backward":
            text += " " + NETWORK_TIE_RULE
    return f"{text} Your answer: {_shape_text(shape)}."


def exercise(step: str, var: Variant, *, optimizer: object = None,
             batch: int | None = None) -> Exercise:
    """Step ``step`` of ``var`` as an exercise: its givens are the tensors the step reads,
    taken from the variant's true trace.

    An optimizer's update ("W1@adam", with ``optimizer``'s options) or a mini-batch's mean
    ("mean_dW1", over ``batch`` examples): see :func:`extra_exercise`. Other steps take
    neither."""
    if _extra(step) is not None:
        return extra_exercise(step, var, optimizer=optimizer, batch=batch)
    net = var.network
    if net.config is None:
        ps = practice_step(step, net)
        given = {name: np.asarray(var.trace[name]) for name in ps.reads}
        lr = var.lr if ps.phase == "update" else None
        truth = (var.trace[step] - var.lr * var.trace["d" + step] if ps.phase == "update"
                 else var.trace[step])
        return Exercise(step, ps.index, given, np.asarray(truth), lr, None,
                        network_prompt(ps, net, lr), ps.latex, net)
    i = check_step(step)
    s = STEPS[i]
    given = {name: np.asarray(var.trace[name]) for name in s.reads}
    lr = var.lr if s.phase == "update" else None
    truth = np.asarray(step_value(var.trace, i, var.lr))
    text = prompt(step, var.config, lr)
    if step == "dA1" and (note := tie_note(given["A1"], var.config.pool_size)):
        task, answer = text.split(" Your answer:")
        text = f"{task} {note} Your answer:{answer}"
    return Exercise(step, i, given, truth, lr, var.config, text, s.latex)


# ------------------------------------------------------------------------------ grading
def tolerance(truth: np.ndarray) -> np.ndarray:
    """Each cell's tolerance: SLACK units of its third significant digit, or FLOOR of the
    tensor's largest magnitude, whichever is larger (see the module docstring)."""
    t = np.abs(np.asarray(truth, dtype=np.float64))
    largest = float(t.max()) if t.size else 0.0
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.where(t > 0, t, 1.0)))
    digit = SLACK * 10.0 ** (exponent - (SIGNIFICANT - 1))
    return np.maximum(np.where(t > 0, digit, 0.0), max(FLOOR * largest, 1e-12))


def right_cells(answer: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(answer) - np.asarray(truth)) <= tolerance(truth)


@dataclass(frozen=True)
class Grade:
    correct: bool
    score: float  # share of right cells
    cells: np.ndarray  # bool, the answer's shape: True where right
    misconception: Misconception | None


def sizes_of(step: str, given: Mapping[str, np.ndarray], truth: np.ndarray
             ) -> tuple[Sizes, ...]:
    """The sizes that matter to a step's misconceptions, read off its tensors: every pool
    size that fits, where more than one does (A1 4×4 pools to 1×1 with p = 3 or 4)."""
    if step in ("P1", "dA1"):
        m = np.shape(given["A1"])[-1]
        q = truth.shape[-1] if step == "P1" else np.shape(given["dP1"])[-1]
        return tuple(Sizes(pool_size=p) for p in range(1, m + 1) if m // p == q)
    if step == "dW1":
        return (Sizes(kernel_size=truth.shape[-1], filters=truth.shape[0]),)
    if step == "dP1":
        return (Sizes(filters=truth.shape[0], pooled_size=truth.shape[-1]),)
    return (Sizes(),)


def check_answer(answer: object, shape: tuple[int, ...], name: str = "answer") -> np.ndarray:
    """The answer as a float64 array of ``shape``, or a ValueError saying what is wrong."""
    try:
        array = np.array(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers in the shape {shape}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers, got NaN or infinity")
    return array


def _general(config: NetLike, net: NetLike) -> Network | None:
    """The network a grade or hint is about when it is not seed-shaped, else None."""
    chosen = net if net is not None else config
    if chosen is None or isinstance(chosen, Config):
        return None
    network = as_network(chosen)
    return network if network.config is None else None


def _seed_config(config: NetLike) -> Config | None:
    if config is None or isinstance(config, Config):
        return config
    return as_network(config).config


def grade(step: str, answer: object, truth: object, given: Mapping[str, object], *,
          config: NetLike = None, lr: float | None = None, net: NetLike = None) -> Grade:
    """Mark ``answer`` cell by cell against ``truth`` and name the misconception that
    explains its wrong cells, when one does.

    ``given`` holds what the step reads. ``config`` (a Config, or a Network: the network
    the step is of; ``net`` says the same) gives the sizes the misconceptions need; for the
    seed's network they are read off the tensors when not given. ``lr`` is needed for the
    update steps' misconceptions. A misconception is reported only when its tensor differs
    from the truth, and the answer matches it on at least EXPLAINS of the answer's wrong
    cells; the one matching most wrong cells (then most cells) wins.
    """
    if _extra(step) is not None:
        return _grade_extra(step, answer, truth, given, lr)
    network = _general(config, net)
    check_step(step, network)
    truth = np.asarray(truth, dtype=np.float64)
    answer = check_answer(answer, truth.shape)
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    right = right_cells(answer, truth)
    score = float(right.mean()) if right.size else 1.0
    found = None
    if not right.all():
        if network is not None:
            node = practice_step(step, network).node
            candidates = [(m, node) for m in for_step(step, network)]
        else:
            seed = _seed_config(config if net is None else net)
            options = (Sizes.of(seed),) if seed is not None else sizes_of(step, g, truth)
            candidates = [(m, sizes) for m in for_step(step) for sizes in options]
        found = _explain(answer, truth, right, g, candidates, lr)
    return Grade(bool(right.all()), score, right, found)


def _explain(answer: np.ndarray, truth: np.ndarray, right: np.ndarray,
             given: Mapping[str, np.ndarray], candidates: list[tuple[Misconception, object]],
             lr: float | None) -> Misconception | None:
    wrong_cells = ~right
    best, best_key = None, (0.0, 0.0)
    for m, where in candidates:
        try:
            with np.errstate(all="ignore"):
                tensor = np.asarray(m.wrong(given, where, lr), dtype=np.float64)
        except (ValueError, IndexError, KeyError, ArithmeticError):  # 1 / (A2(1 − A2)) at 0
            continue
        if tensor.shape != truth.shape or not np.isfinite(tensor).all():
            continue
        if right_cells(tensor, truth).all():
            continue  # coincides with the right answer here: it explains nothing
        agrees = right_cells(answer, tensor)
        share = float(agrees[wrong_cells].mean())
        key = (share, float(agrees.mean()))
        if share >= EXPLAINS and key > best_key:
            best, best_key = m, key
    return best


# -------------------------------------------------------------------------------- hints
@dataclass(frozen=True)
class Hint:
    level: int  # 1: the cells that feed the cell; 2: its formula with the numbers
    cell: tuple[int, ...]
    text: str
    feeds: dict[str, list[tuple[int, ...]]]


def _n(value: float) -> str:
    value = float(value)
    text = f"{value:.4g}"
    return f"({text})" if value < 0 else text


def _name(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(map(str, index))}]" if index else name


def _winner(A1: np.ndarray, f: int, r: int, c: int, p: int) -> tuple[int, int, int]:
    window = A1[f, r * p : (r + 1) * p, c * p : (c + 1) * p]
    w = int(window.argmax())
    return f, r * p + w // p, c * p + w % p


def _feeds(step: str, cell: tuple[int, ...], g: Mapping[str, np.ndarray], config: Config
           ) -> dict[str, list[tuple[int, ...]]]:
    """The given cells a step's result cell is computed from."""
    def all_of(name: str) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in ix) for ix in np.ndindex(np.shape(g[name]))]

    p = config.pool_size
    if step == "Z1":
        f, i, j = cell
        k = np.shape(g["W1"])[-1]
        return {"X": [(i + a, j + b) for a in range(k) for b in range(k)],
                "W1": [(f, a, b) for a in range(k) for b in range(k)], "b1": [(f,)]}
    if step == "A1":
        return {"Z1": [cell]}
    if step == "P1":
        f, i, j = cell
        return {"A1": [(f, i * p + a, j * p + b) for a in range(p) for b in range(p)]}
    if step == "F":
        return {"P1": [tuple(int(v) for v in np.unravel_index(cell[0], np.shape(g["P1"])))]}
    if step == "dP1":
        return {"dF": [(int(np.ravel_multi_index(cell, config.shapes()["P1"])),)]}
    if step == "dA1":
        f, i, j = cell
        q = np.shape(g["dP1"])[-1]
        if i // p >= q or j // p >= q:
            return {}
        r, c = i // p, j // p
        return {"A1": [(f, r * p + a, c * p + b) for a in range(p) for b in range(p)],
                "dP1": [(f, r, c)]}
    if step == "dZ1":
        return {"dA1": [cell], "Z1": [cell]}
    if step == "dW1":
        f, a, b = cell
        m = np.shape(g["dZ1"])[-1]
        return {"X": [(i + a, j + b) for i in range(m) for j in range(m)],
                "dZ1": [(f, i, j) for i in range(m) for j in range(m)]}
    if step == "db1":
        m = np.shape(g["dZ1"])[-1]
        return {"dZ1": [(cell[0], i, j) for i in range(m) for j in range(m)]}
    if step == "dW2":
        return {"dZ2": [()], "F": [(cell[1],)]}
    if step == "dF":
        return {"dZ2": [()], "W2": [(0, cell[0])]}
    if STEPS[INDEX[step]].phase == "update":
        return {step: [cell], "d" + step: [cell]}
    return {name: all_of(name) for name in g}  # the scalar steps read every given


def _formula(step: str, cell: tuple[int, ...], g: Mapping[str, np.ndarray], config: Config,
             lr: float | None) -> str:
    """The cell's formula with the given numbers filled in, ending in '= ?'."""
    v = {name: np.asarray(value) for name, value in g.items()}
    target = _name(step, cell)
    p = config.pool_size
    if step == "Z1":
        f, i, j = cell
        k = v["W1"].shape[-1]
        terms = " + ".join(f"{_n(v['X'][i + a, j + b])}×{_n(v['W1'][f, a, b])}"
                           for a in range(k) for b in range(k))
        return f"{target} = {terms} + {_n(v['b1'][f])} = ?"
    if step == "A1":
        return f"{target} = max({_n(v['Z1'][cell])}, 0) = ?"
    if step == "P1":
        f, i, j = cell
        cells = v["A1"][f, i * p : (i + 1) * p, j * p : (j + 1) * p].ravel()
        return f"{target} = max({', '.join(_n(c) for c in cells)}) = ?"
    if step == "F":
        source = _feeds(step, cell, v, config)["P1"][0]
        return f"{target} = {_name('P1', source)} (row by row, filter by filter) = ?"
    if step == "Z2":
        F, W2 = v["F"], v["W2"][0]
        terms = " + ".join(f"{_n(a)}×{_n(b)}" for a, b in zip(F, W2))
        return f"Z2 = {terms} + {_n(v['b2'][0])} = ?"
    if step == "A2":
        return f"A2 = 1 / (1 + e^−{_n(v['Z2'])}) = ?"
    if step == "L":
        y, a = _n(v["Y"]), _n(v["A2"])
        return f"L = −{y}·ln {a} − (1 − {y})·ln(1 − {a}) = ?"
    if step == "dA2":
        y, a = _n(v["Y"]), _n(v["A2"])
        return f"dA2 = ({a} − {y}) / ({a}·(1 − {a})) = ?"
    if step == "dZ2":
        return f"dZ2 = dA2 × A2(1 − A2) = A2 − Y = {_n(v['A2'])} − {_n(v['Y'])} = ?"
    if step == "dW2":
        return f"{target} = dZ2 × F[{cell[1]}] = {_n(v['dZ2'])}×{_n(v['F'][cell[1]])} = ?"
    if step == "db2":
        return f"db2[0] = dZ2 × 1 = {_n(v['dZ2'])} × 1 = ?"
    if step == "dF":
        return f"{target} = dZ2 × W2[0,{cell[0]}] = {_n(v['dZ2'])}×{_n(v['W2'][0, cell[0]])} = ?"
    if step == "dP1":
        source = _feeds(step, cell, v, config)["dF"][0]
        return f"{target} = {_name('dF', source)} = ?"
    if step == "dA1":
        f, i, j = cell
        q = v["dP1"].shape[-1]
        if i // p >= q or j // p >= q:
            return (f"{target} is outside every pooling window, so no gradient reaches it: "
                    f"{target} = ?")
        r, c = i // p, j // p
        window = v["A1"][f, r * p : (r + 1) * p, c * p : (c + 1) * p].ravel()
        first = _name("A1", _winner(v["A1"], f, r, c, p))
        return (f"Its window of A1 is ({', '.join(_n(x) for x in window)}), whose first "
                f"maximum is {first}. {target} = {_name('dP1', (f, r, c))} = "
                f"{_n(v['dP1'][f, r, c])} if {_name('A1', cell)} is that maximum, else 0 = ?")
    if step == "dZ1":
        gate = "1" if v["Z1"][cell] > 0 else "0"
        return (f"{target} = dA1 × [Z1 > 0] = {_n(v['dA1'][cell])} × [{_n(v['Z1'][cell])} > 0]"
                f" = {_n(v['dA1'][cell])} × {gate} = ?")
    if step == "dW1":
        f, a, b = cell
        m = v["dZ1"].shape[-1]
        terms = [f"{_n(v['X'][i + a, j + b])}×{_n(v['dZ1'][f, i, j])}"
                 for i in range(m) for j in range(m) if v["dZ1"][f, i, j] != 0]
        return f"{target} = Σ X[i+{a},j+{b}]·dZ1[i,j] = {' + '.join(terms) or '0'} = ?"
    if step == "db1":
        used = [_n(x) for x in v["dZ1"][cell[0]].ravel() if x != 0]
        return f"{target} = Σ dZ1 = {' + '.join(used) or '0'} = ?"
    # an update step
    old, grad = v[step][cell], v["d" + step][cell]
    return f"{target} ← {_n(old)} − {lr if lr is not None else 'η'}×{_n(grad)} = ?"


def _network_feeds(step: PracticeStep, cell: tuple[int, ...], g: Mapping[str, np.ndarray],
                   net: Network) -> tuple[dict[str, list[tuple[int, ...]]], dict]:
    """The given cells a result cell of any network's step is computed from, by the
    kinds' provenance (:mod:`engine.provenance`), and the provenance itself ({} where
    there is none: the output's steps read every given cell, an update its two cells)."""
    from .provenance import sources_for

    def all_of(name: str) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in ix) for ix in np.ndindex(np.shape(g[name]))]

    if step.phase == "update":
        return {step.name: [cell], "d" + step.name: [cell]}, {}
    source = sources_for(net).get(step.name)
    found: dict = {}
    if source is not None:
        # the step's own tensor is not given: a zero placeholder of its shape (only its
        # shape is read), so that nothing of the answer is at hand here
        t = Trace({**g, step.name: np.zeros(net.shapes()[step.name])}, net)
        try:
            found = source(t, cell)
        except (KeyError, IndexError, ValueError):
            found = {}
    feeds = {name: [tuple(int(i) for i in ix) for ix in found[name]]
             for name in g if name in found}
    if not found:
        feeds = {name: all_of(name) for name in g}
    return feeds, found


def _network_formula(step: PracticeStep, cell: tuple[int, ...], g: Mapping[str, np.ndarray],
                     found: dict, feeds: dict[str, list[tuple[int, ...]]],
                     lr: float | None) -> str:
    """The cell's computation with the given numbers filled in, ending in '= ?'."""
    target = _name(step.name, cell)
    if step.phase == "update":
        old, grad = g[step.name][cell], g["d" + step.name][cell]
        return f"{target} ← {_n(old)} − {lr if lr is not None else 'η'}×{_n(grad)} = ?"
    factors = found.get("factors")
    if factors:
        terms = [f"{_n(a)}×{_n(b)}" for a, b in factors[:HINT_CELLS]]
        more = f" + {len(factors) - HINT_CELLS} more products" if len(factors) > HINT_CELLS else ""
        bias = f" + {_n(found['bias'])}" if "bias" in found else ""
        return f"{target} = {' + '.join(terms)}{more}{bias} = ?"
    values = [f"{_name(name, ix)} = {_n(g[name][ix])}" for name, cells in feeds.items()
              for ix in cells[:HINT_CELLS]]
    note = found.get("note")
    lead = f"{target}: {note}." if note else f"{target} from"
    return f"{lead} Its inputs: {'; '.join(values) or 'none'}. {target} = ?"


def hint(step: str, level: int, cell: tuple[int, ...], given: Mapping[str, object], *,
         config: NetLike = None, lr: float | None = None, net: NetLike = None) -> Hint:
    """Hint ``level`` (1 or 2) about result cell ``cell``: the given cells it is computed
    from; then also its formula with the numbers filled in, without the result.
    ``config`` (or ``net``) is the step's network: a Config, or any Network."""
    if _extra(step) is not None:
        return _hint_extra(step, level, cell, given, lr)
    network = _general(config, net)
    check_step(step, network)
    if level not in (1, 2):
        raise ValueError(f"level must be 1 or 2, got {level}")
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    cell = tuple(int(i) for i in cell)
    if network is not None:
        ps = practice_step(step, network)
        feeds, found = _network_feeds(ps, cell, g, network)
    else:
        seed = _seed_config(config if net is None else net)
        if seed is None:
            raise ValueError("hint needs the step's network (config=)")
        feeds = _feeds(step, cell, g, seed)
    listed = "; ".join(
        name if cells == [()] else
        f"{name} " + ", ".join(_name("", ix) for ix in cells[:HINT_CELLS])
        + (f" and {len(cells) - HINT_CELLS} more of its cells" if len(cells) > HINT_CELLS
           else "") for name, cells in feeds.items())
    text = (f"{_name(step, cell)} is wrong. It is computed from {listed}."
            if listed else f"{_name(step, cell)} is wrong.")
    if level == 2:
        text += " " + (_network_formula(ps, cell, g, found, feeds, lr) if network is not None
                       else _formula(step, cell, g, seed, lr))
    return Hint(level, cell, text, feeds)


# ------------------------------------------- optimizers' updates and a mini-batch's mean
MEAN = "mean_"  # mean_dW1: the mean of the per-example gradients dW1(1) ... dW1(N)
AT = "@"  # W1@adam: W1's update by Adam
BATCH = 3  # the examples of a mean exercise when not told
BATCH_LIMITS = (2, 16)
UPDATE_COUNTS = (2, 5)  # t of an optimizer exercise: drawn in this range (a state to keep)


def optimizer_step_name(param: str, kind: str) -> str:
    """The practice step of ``param``'s update by optimizer ``kind``: W1@adam (sgd's is W1)."""
    return param if kind == "sgd" else f"{param}{AT}{kind}"


def _extra(step: object) -> tuple[str, str] | None:
    """("mean", param) for mean_dP, (kind, param) for P@kind, None for any other name."""
    if not isinstance(step, str):
        return None
    if step.startswith(MEAN + "d") and len(step) > len(MEAN) + 1:
        return "mean", step[len(MEAN) + 1:]
    param, at, kind = step.partition(AT)
    if at and param:
        if kind not in OPTIMIZERS or kind == "sgd":
            others = ", ".join(k for k in OPTIMIZERS if k != "sgd")
            raise ValueError(f"an optimizer's update step is P@kind with kind one of {others} "
                             f"(sgd's is P itself), got {step!r}")
        return kind, param
    return None


def _optimizer_of(spec: object) -> Optimizer:
    return optimizer(spec)  # type: ignore[arg-type]


def extra_misconceptions(step: str) -> tuple[Misconception, ...] | None:
    """The misconceptions of an optimizer's update step or a mean step, None for any other
    step (served by :func:`engine.misconceptions.for_step`)."""
    found = _extra(step)
    if found is None:
        return None
    kind, param = found
    if kind == "mean":
        return mean_misconceptions(param)
    return practice_optimizer(kind).misconceptions(param, step)


def _check_param(param: str, net: Network, step: str) -> None:
    if param not in net.param_names:
        raise ValueError(f"{step}: {param} is not a parameter of the network "
                         f"({', '.join(net.param_names)})")


def _rng(var: Variant, step: str) -> np.random.Generator:
    """A draw of its own for each exercise of a variant (an example given as it is draws
    from its numbers)."""
    import zlib

    base = var.seed if var.seed is not None else zlib.crc32(np.ascontiguousarray(var.x).tobytes())
    return np.random.default_rng([base, zlib.crc32(step.encode()), 2_021])


def extra_exercise(step: str, var: Variant, *, optimizer: object = None,
                   batch: int | None = None, examples: list[Mapping[str, object]] | None = None
                   ) -> Exercise:
    """An optimizer's update step ("W1@momentum", "W1@adam") or a mini-batch's mean step
    ("mean_dW1") on variant ``var``.

    The update: ``optimizer`` (a spec or Optimizer of the step's kind; by default the
    module's PRACTICE options: Adam's ε is 0.01 there, so where ε goes shows) and a t drawn
    from UPDATE_COUNTS with the state an optimizer would keep after t − 1 updates from
    gradients near this one (:meth:`Optimizer.draw_state`, two significant digits). Given:
    the parameter, its gradient, the state before, ``t`` and the options, each a number.

    The mean: the gradients of ``examples`` (a batch's traces) when given, else those of
    the variant's example and ``batch`` − 1 (default BATCH − 1) more examples drawn for it,
    each traced with the variant's parameters. Given: d{P}(1) ... d{P}(N).
    """
    found = _extra(step)
    if found is None:
        raise ValueError(f"{step!r} is neither an optimizer's update (W1@adam) nor a mean "
                         "step (mean_dW1)")
    kind, param = found
    net = var.network
    _check_param(param, net, step)
    rng = _rng(var, step)
    steps = practice_steps(net)
    index = {s.name: s.index for s in steps}
    grad = "d" + param
    if kind == "mean":
        traces = _batch(var, rng, batch, examples)
        given = {f"{grad}({n})": np.asarray(tr[grad], dtype=np.float64)
                 for n, tr in enumerate(traces, start=1)}
        for name, value in given.items():
            if value.shape != net.shapes()[grad]:
                raise ValueError(f"{name} must have shape {net.shapes()[grad]}, "
                                 f"got {value.shape}")
        truth = np.mean(list(given.values()), axis=0)
        prompt = (f"The mini-batch's gradient of {param}: the mean, cell by cell, of the "
                  f"N = {len(traces)} per-example gradients {grad}(1) … {grad}({len(traces)})."
                  f" Your answer: {_shape_text(truth.shape)}.")
        latex = (rf"\overline{{{_d(param)}}} = \frac{{1}}{{N}}"
                 rf" \sum_{{n=1}}^{{N}} {_d(param)}^{{(n)}}")
        return Exercise(step, index[grad], given, truth, None, var.config, prompt, latex, net)
    opt = practice_optimizer(kind) if optimizer is None else _optimizer_of(optimizer)
    if opt.type != kind:
        raise ValueError(f"{step} is an update by {kind}, not by {opt.type}")
    t = int(rng.integers(UPDATE_COUNTS[0], UPDATE_COUNTS[1] + 1))
    P = np.asarray(var.trace[param], dtype=np.float64)
    g = np.asarray(var.trace[grad], dtype=np.float64)
    state = opt.draw_state(rng, param, g, t)
    new, _ = opt.apply({param: P}, {grad: g}, state, t, var.lr)
    given = {param: P, grad: g, **state, "t": np.asarray(float(t)),
             **{key: np.asarray(value) for key, value in opt.options}}
    s = opt.update_step(param, grad, "")
    latex = r" \qquad ".join([*(f.latex for f in s.also), s.latex])
    return Exercise(step, index[param], given, new[param], var.lr, var.config,
                    _optimizer_prompt(opt, param, t, var.lr, P.shape), latex, net)


def _batch(var: Variant, rng: np.random.Generator, batch: int | None,
           examples: list[Mapping[str, object]] | None) -> list[Mapping[str, object]]:
    if examples is not None:
        traces = list(examples)
        if not BATCH_LIMITS[0] <= len(traces) <= BATCH_LIMITS[1]:
            raise ValueError(f"examples must hold {BATCH_LIMITS[0]} to {BATCH_LIMITS[1]} "
                             f"traces, got {len(traces)}")
        return traces
    n = BATCH if batch is None else batch
    if isinstance(n, bool) or not isinstance(n, int) or not BATCH_LIMITS[0] <= n <= BATCH_LIMITS[1]:
        raise ValueError(f"batch must be an integer from {BATCH_LIMITS[0]} to "
                         f"{BATCH_LIMITS[1]}, got {n!r}")
    net, size = var.network, var.network.input_size
    traces: list[Mapping[str, object]] = [var.trace]
    for _ in range(n - 1):
        x = rng.integers(0, 11, size=(size, size)) / 10
        x[rng.random((size, size)) < 0.3] = 0.0
        traces.append(trace(x, float(rng.integers(0, net.classes)), var.params, net))
    return traces


def _optimizer_prompt(opt: Optimizer, param: str, t: int, lr: float,
                      shape: tuple[int, ...]) -> str:
    P, g = param, "d" + param
    if opt.type == "momentum":
        text = (f"One step of gradient descent with momentum on {P}, update t = {t}, with "
                f"η = {lr:g} and β = {opt['beta']:g}: first the velocity "
                f"v_{P} ← β·v_{P} + {g} (v_{P} is its value before this update), then "
                f"{P} ← {P} − η·v_{P}.")
    else:
        text = (f"One Adam step on {P}, update t = {t}, with η = {lr:g}, β₁ = "
                f"{opt['beta1']:g}, β₂ = {opt['beta2']:g} and ε = {opt['eps']:g}: "
                f"m_{P} ← β₁·m_{P} + (1 − β₁)·{g}, s_{P} ← β₂·s_{P} + (1 − β₂)·{g}² "
                f"(m_{P} and s_{P} are their values before this update), "
                f"m̂ = m_{P} / (1 − β₁ᵗ), ŝ = s_{P} / (1 − β₂ᵗ), then "
                f"{P} ← {P} − η·m̂ / (√ŝ + ε).")
    return f"{text} Your answer: the new {P}, {_shape_text(shape)}."


def _grade_extra(step: str, answer: object, truth: object, given: Mapping[str, object],
                 lr: float | None) -> Grade:
    truth = np.asarray(truth, dtype=np.float64)
    answer = check_answer(answer, truth.shape)
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    right = right_cells(answer, truth)
    score = float(right.mean()) if right.size else 1.0
    found = None
    if not right.all():
        candidates = [(m, None) for m in extra_misconceptions(step) or ()]
        found = _explain(answer, truth, right, g, candidates, lr)
    return Grade(bool(right.all()), score, right, found)


def _hint_extra(step: str, level: int, cell: tuple[int, ...], given: Mapping[str, object],
                lr: float | None) -> Hint:
    if level not in (1, 2):
        raise ValueError(f"level must be 1 or 2, got {level}")
    kind, param = _extra(step)  # type: ignore[misc]
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    cell = tuple(int(i) for i in cell)
    feeds = {name: [cell] if value.ndim else [()] for name, value in g.items()}
    listed = "; ".join(name if cells == [()] else f"{name} {_name('', cells[0])}"
                       for name, cells in feeds.items())
    target = _name(param if kind != "mean" else step, cell)
    text = f"{target} is wrong. It is computed from {listed}."
    if level == 2:
        text += " " + _extra_formula(kind, param, target, cell, g, lr)
    return Hint(level, cell, text, feeds)


def _extra_formula(kind: str, param: str, target: str, cell: tuple[int, ...],
                   g: Mapping[str, np.ndarray], lr: float | None) -> str:
    grad = "d" + param
    eta = f"{lr:g}" if lr is not None else "η"
    if kind == "mean":
        parts = [_n(v[cell]) for name, v in g.items() if name.startswith(grad + "(")]
        return f"{target} = ({' + '.join(parts)}) / {len(parts)} = ?"
    P, dP = _n(g[param][cell]), _n(g[grad][cell])
    if kind == "momentum":
        beta, v = _n(g["beta"]), _n(g["v_" + param][cell])
        return (f"v_{param} = {beta}×{v} + {dP} = ?, then {target} ← {P} − {eta}×v_{param}"
                " = ?")
    b1, b2, eps, t = (float(g[k]) for k in ("beta1", "beta2", "eps", "t"))
    m, s = _n(g["m_" + param][cell]), _n(g["s_" + param][cell])
    return (f"m_{param} = {b1:g}×{m} + {1 - b1:.4g}×{dP}, s_{param} = {b2:g}×{s} + "
            f"{1 - b2:.4g}×{dP}², m̂ = m_{param} / (1 − {b1:g}^{t:g}), "
            f"ŝ = s_{param} / (1 − {b2:g}^{t:g}), then {target} ← {P} − {eta}×m̂ / (√ŝ + "
            f"{eps:g}) = ?")
