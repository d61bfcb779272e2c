"""The ordered steps of one training iteration, derived from the network: the one source of
truth for the sequence.

The server serves this list and the page renders from it. Each step names the tensor it
writes, the tensors it reads, its formula (LaTeX), one plain sentence, and a function that
substitutes the live numbers of a trace into the formula. Each layer kind
(:mod:`engine.kinds`) writes its own steps; this module puts them in order:

    forward   one step per layer, then the output's activation and the loss;
    backward  the output's two steps, then one or more per layer in reverse (a conv's
              weight gradient also gives the gradient of its input: dX beside dW1);
    update    one per parameter, in layer order.

For the seed's network: forward Z1 A1 P1 F Z2 A2 L; backward dA2 dZ2 dW2 db2 dF dP1 dA1
dZ1 dW1 db1; update W1 b1 W2 b2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .config import Config
from .model import Trace
from .network import SEED, Network, as_network
from .notation import DIGITS, FIT, Formula, Step, d, idx, num, num_parts, num_text, tex, vec
from .walk import grad_name, mean_name

Tensors = Trace  # a trace: every tensor by name, and its network

__all__ = [
    "DIGITS",
    "FIT",
    "GIVEN",
    "PHASES",
    "STEPS",
    "TITLES",
    "Formula",
    "Step",
    "given",
    "idx",
    "known",
    "num",
    "num_parts",
    "num_text",
    "step_records",
    "step_value",
    "steps_for",
    "steps_of",
    "titles",
    "vec",
]


def _update(name: str, grad: str | None = None) -> Callable[[Tensors, float | None], str | None]:
    latex_name = tex(name)
    grad = grad or "d" + name

    def numbers(t: Tensors, lr: float | None) -> str | None:
        if lr is None:
            return None
        old, change = t[name].flat[0], t[grad].flat[0]
        shape = np.shape(t[name])
        where = "" if t[name].size == 1 else "[" + ",".join("0" * len(shape)) + "]"
        return (rf"{latex_name}{where} \leftarrow {num(old)} - {num(lr)} \times"
                rf" {num(change, paren=True)} = {num(old - lr * change)}")
    return numbers


def mean_latex(name: str) -> str:
    """The averaged gradient of a parameter, as formulas write it: an overline."""
    return rf"\overline{{{d(name)}}}"


def _mean_step(name: str, batch: int) -> Step:
    """The step that averages ``name``'s per-example gradients over the batch."""
    per_example = rf"\frac{{\partial L^{{(n)}}}}{{\partial {tex(name)}}}"
    latex = (rf"{mean_latex(name)} = \frac{{1}}{{N}} \sum_{{n=1}}^{{N}} {per_example}"
             rf",\quad N = {batch}")

    def numbers(t: Tensors, lr: float | None) -> str | None:
        examples = getattr(t, "examples", None)
        if not examples or len(examples) != batch:
            return None
        cells = [float(e["d" + name].flat[0]) for e in examples]
        where = "" if t["d" + name].size == 1 else "[" + ",".join(
            "0" * np.ndim(t["d" + name])) + "]"
        if batch > 6:  # too long for a line: the first two, the last
            terms = (rf"{num(cells[0])} + {num(cells[1], paren=True)} + \dots"
                     rf" + {num(cells[-1], paren=True)}")
        else:
            terms = " + ".join(num(c, paren=i > 0) for i, c in enumerate(cells))
        return (rf"{mean_latex(name)}{where} = \frac{{1}}{{{batch}}}\left({terms}\right)"
                rf" = {num(t[mean_name(name)].flat[0])}")
    text = (f"Average over the batch: each example gave its own gradient of {name}; the loss "
            f"is their mean, L = (1/N) Σ L⁽ⁿ⁾, so the gradient the update uses is the mean of "
            f"the {batch} per-example gradients, not their sum.")
    return Step("backward", mean_name(name), ("d" + name,), latex, text, numbers)


@functools.lru_cache(maxsize=256)
def steps_for(net: Network, batch: int = 1, optimizer: object = None) -> tuple[Step, ...]:
    """Every step of a pass of ``net`` over ``batch`` examples, updated by ``optimizer``
    (None: gradient descent), in order."""
    nodes = net.nodes
    forward = [s for n in nodes for s in n.kind.forward_steps(n, net)]
    backward = [s for n in reversed(nodes) for s in n.kind.backward_steps(n, net)]
    averages = [_mean_step(name, batch) for name in net.param_names] if batch > 1 else []
    sgd = optimizer is None or getattr(optimizer, "type", "sgd") == "sgd"
    updates = []
    weighted = net.weighted
    for n in weighted:
        for role, name in n.params.items():
            text = n.kind.UPDATE_TEXT[role]
            if n is weighted[-1] and role == "b":
                text = ("Last, the dense bias: after this the next forward pass uses the new "
                        "parameters.")
            grad = grad_name(name, batch)
            if sgd:
                shown = d(name) if batch == 1 else mean_latex(name)
                updates.append(Step("update", name, (name, grad),
                                    rf"{tex(name)} \leftarrow {tex(name)} - \eta {shown}",
                                    text, _update(name, grad)))
            else:  # the optimizer's words, not gradient descent's
                kind = optimizer.kind
                said = (f"{kind.TITLE} updates {name}: {kind.DESCRIPTION[0].lower()}"
                        f"{kind.DESCRIPTION[1:]}")
                updates.append(optimizer.update_step(name, grad, said))
    return (*forward, *backward, *averages, *updates)


def steps_of(tensors: Tensors) -> tuple[Step, ...]:
    """The steps of the pass a trace (or a :class:`engine.walk.Pass`) belongs to."""
    return steps_for(tensors.network, getattr(tensors, "batch", 1),
                     getattr(tensors, "optimizer", None))


STEPS: tuple[Step, ...] = steps_for(SEED)
PHASES = ("forward", "backward", "update")


@functools.lru_cache(maxsize=256)
def titles(net: Network, batch: int = 1) -> dict[str, str]:
    """A short title for every tensor's heatmap (with a batch's mean gradients)."""
    out = {"X": "input", "Y": "label"}
    for n in net.nodes[:-1]:
        role = n.kind.ROLE
        if role == "conv":
            out[n.params["W"]], out[n.params["b"]] = "filter", "conv bias"
        if role == "dense":
            out[n.params["W"]], out[n.params["b"]] = "dense weights", "dense bias"
        out[n.writes] = n.kind.TITLE
    output = net.nodes[-1]
    out[output.reads] = output.kind.LOGIT_TITLE
    out[output.writes] = output.kind.TITLE
    out["L"] = "loss"
    grads = {"d" + name: f"∂L/∂{name}" for name in out if name not in ("Y", "L")}
    grads["dX"] = "saliency"
    means = ({mean_name(p): f"mean ∂L/∂{p}" for p in net.param_names} if batch > 1 else {})
    return {**out, **grads, **means}


TITLES = titles(SEED)


@functools.lru_cache(maxsize=256)
def given(net: Network, optimizer: object = None) -> tuple[str, ...]:
    """Known before the first step of a pass: X, Y, the parameters and the state the
    optimizer keeps for them (none for gradient descent)."""
    state = () if optimizer is None else tuple(
        s for p in net.param_names for s in optimizer.state_names(p))
    return ("X", "Y", *net.param_names, *state)


GIVEN = given(SEED)


def known(cursor: int, net: Network | Config | None = None, batch: int = 1,
          optimizer: object = None) -> tuple[str, ...]:
    """The trace's tensors a walk has shown once step ``cursor`` is done (-1: before the
    first step): the given ones, then what each step up to the cursor reveals. The one
    rule for what a walk may send; everything else stays on the server."""
    net = as_network(net)
    steps = steps_for(net, batch, optimizer)
    if not -1 <= cursor < len(steps):
        raise ValueError(f"cursor must be in [-1, {len(steps) - 1}], got {cursor}")
    return (given(net, optimizer)
            + tuple(name for step in steps[:cursor + 1] for name in step.reveals))


def step_records(tensors: Tensors, lr: float | None = None) -> list[dict[str, object]]:
    """Every step as a plain record with the live numbers of a trace substituted.

    ``{index, phase, writes, reads, latex, latex_numbers, text, reveals, also}``;
    ``latex_numbers`` is None where the numbers do not fit on a line (or, for the update,
    when no lr is given); ``also`` lists the formulas of what the step computes beside what
    it writes, each ``{writes, latex, latex_numbers}``.
    """
    return [step_record(tensors, i, lr) for i in range(len(steps_of(tensors)))]


def step_record(tensors: Tensors, index: int, lr: float | None = None) -> dict[str, object]:
    """One step's record, as :func:`step_records` makes each."""
    s = steps_of(tensors)[index]
    return {"index": index, "phase": s.phase, "writes": s.writes, "reads": list(s.reads),
            "latex": s.latex, "latex_numbers": s.numbers(tensors, lr), "text": s.text,
            "reveals": list(s.reveals),
            "also": [{"writes": f.writes, "latex": f.latex, "latex_numbers": f.numbers(tensors, lr)}
                     for f in s.also]}


def step_value(tensors: Tensors, index: int, lr: float) -> np.ndarray:
    """The value step ``index`` writes: a trace's tensor, or for an update step the new
    parameter (P - lr * dP by gradient descent; the optimizer's update otherwise)."""
    step = steps_of(tensors)[index]
    if step.phase != "update":
        return tensors[step.writes]
    grad = step.reads[1]
    optimizer = getattr(tensors, "optimizer", None)
    if optimizer is None or getattr(optimizer, "type", "sgd") == "sgd":
        return tensors[step.writes] - lr * tensors[grad]
    return optimizer.details(step.writes, tensors[grad], tensors, int(tensors["t"]), lr)["after"]
