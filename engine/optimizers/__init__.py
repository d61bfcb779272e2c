"""Optimizers: how a pass's gradients change the parameters, and the state kept between
passes. One module per optimizer, the one home of everything about it: its options with
their defaults and ranges, the state it keeps, the math of one update (``update``), its
update step (formula, and the same with the live numbers), and its misconceptions.

    sgd        P <- P - eta dP                                     no state
    momentum   v_P <- beta v_P + dP; P <- P - eta v_P               v_P
    adam       m_P, s_P (first and second moments), bias-corrected  m_P, s_P

Each equals its ``torch.optim`` counterpart (SGD; SGD(momentum=beta, dampening=0); Adam)
on the same gradients::

    optimizer({"type": "adam", "beta1": 0.9}) -> Optimizer     checked; OptimizerError
    SGD = optimizer(None)
    opt.state_names("W1") -> ("m_W1", "s_W1")
    opt.init_state(params) -> {state name: zeros}
    opt.apply(params, grads, state, t, lr) -> (new params, new state)   t: 1-based count
    opt.update_step(param, grad, text) -> engine.notation.Step
    opt.details(param, grad_value, tensors_before, t, lr) -> {name: array}
    OPTIMIZERS, OPTIMIZER_LIMITS, limits()                     served by the API

A module provides NAME, TITLE, DESCRIPTION, OPTIONS (name -> :class:`Option`), STATE (the
state's prefixes: v_W1 is prefix v of W1), NONNEGATIVE (the prefixes whose cells cannot be
below zero: Adam's s), PRACTICE (the options of Practice's
exercises), ``update(P, g, state, t, lr, **options) -> (new P, new state, shown)`` (state
keyed by prefix; ``shown`` what else the page draws, m_hat and s_hat for Adam),
``update_step(param, grad, text, **options) -> Step`` and MISCONCEPTIONS (templates,
bound to a parameter by :meth:`Optimizer.misconceptions`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..misconceptions import Misconception
from ..model import check_lr
from ..network import Problem
from ..notation import Step
from . import adam, momentum, sgd
from ._formula import state_name
from ._option import Option

OPTIMIZERS: dict[str, ModuleType] = {"sgd": sgd, "momentum": momentum, "adam": adam}
# Every optimizer's options: {type: {option: Option}}, enforced by optimizer().
OPTIMIZER_LIMITS: dict[str, dict[str, Option]] = {
    name: dict(kind.OPTIONS) for name, kind in OPTIMIZERS.items()}
_PARAM = re.compile(r"^[Wb][1-9][0-9]*$")  # the names parameters have: W1, b1, W2, ...

__all__ = ["OPTIMIZERS", "OPTIMIZER_LIMITS", "SGD", "Optimizer", "OptimizerError", "Option",
           "limits", "optimizer"]


class OptimizerError(ValueError):
    """An optimizer spec that does not fit; ``problems`` lists every fault, each naming its
    field ("type", "beta1", ...)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class Optimizer:
    """A checked optimizer: its type and every option (defaults filled in), in its
    module's order. Hashable: it may key caches."""

    type: str
    options: tuple[tuple[str, float], ...] = ()

    # ------------------------------------------------------------------ what it is
    @property
    def kind(self) -> ModuleType:
        return OPTIMIZERS[self.type]

    @property
    def title(self) -> str:
        return self.kind.TITLE

    def __getitem__(self, name: str) -> float:
        return dict(self.options)[name]

    def get(self, name: str, default: object = None) -> object:
        return dict(self.options).get(name, default)

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, **dict(self.options)}

    def __str__(self) -> str:
        options = ", ".join(f"{key}={value:g}" for key, value in self.options)
        return f"{self.type}({options})"

    def state_names(self, param: str) -> tuple[str, ...]:
        """The state kept for ``param``: () for sgd, (v_P,) momentum, (m_P, s_P) Adam."""
        return tuple(state_name(prefix, param) for prefix in self.kind.STATE)

    def state_problem(self, name: str, value: np.ndarray) -> str | None:
        """What is wrong with a state ``name`` (v_W1, s_W1 ...) given from outside: a cell
        that is not finite, or below zero where the state is a mean of squares; else None."""
        if not np.all(np.isfinite(value)):
            return f"{name} must be finite numbers"
        prefix = name.partition("_")[0]
        if prefix in self.kind.NONNEGATIVE and np.any(value < 0):
            return (f"{name} is a running mean of squared gradients: its cells cannot be "
                    f"below 0 (got {float(value.min()):g})")
        return None

    # ------------------------------------------------------------------------ math
    def init_state(self, params: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Zeros of each parameter's shape under every state name (``{}`` for sgd)."""
        return {name: np.zeros(np.shape(params[param]))
                for param in _param_names(params) for name in self.state_names(param)}

    def apply(self, params: Mapping[str, object], grads: Mapping[str, object],
              state: Mapping[str, object] | None, t: int, lr: float
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Update ``t`` (1-based) of every parameter P in ``params`` (other tensors are
        ignored: a trace will do) from ``grads["d" + P]``: (new params, new state). A state
        of None is the zeros of :meth:`init_state`. New arrays; the inputs are unchanged."""
        lr, t = check_lr(lr), _check_t(t)
        names = _param_names(params)
        if not names:
            raise ValueError("params holds no parameter (W1, b1, ...)")
        state = self.init_state(params) if state is None else state
        missing = [f"d{P}" for P in names if f"d{P}" not in grads]
        missing += [s for P in names for s in self.state_names(P) if s not in state]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        new_params: dict[str, np.ndarray] = {}
        new_state: dict[str, np.ndarray] = {}
        for P in names:
            value = np.asarray(params[P], dtype=np.float64)
            for name in ("d" + P, *self.state_names(P)):
                source = grads if name == "d" + P else state
                if np.shape(source[name]) != value.shape:
                    raise ValueError(f"{name} must have shape {value.shape}, "
                                     f"got {np.shape(source[name])}")
            new_params[P], kept, _ = self._update(P, value, grads["d" + P], state, t, lr)
            new_state.update({state_name(prefix, P): v for prefix, v in kept.items()})
        return new_params, new_state

    def _update(self, P: str, value: np.ndarray, grad: object, state: Mapping[str, object],
                t: int, lr: float) -> tuple[np.ndarray, dict, dict]:
        before = {prefix: np.asarray(state[state_name(prefix, P)], dtype=np.float64)
                  for prefix in self.kind.STATE}
        return self.kind.update(value, np.asarray(grad, dtype=np.float64), before, t, lr,
                                **dict(self.options))

    def update_step(self, param: str, grad: str, text: str) -> Step:
        """The walk's update step of ``param`` from gradient ``grad`` ("dW1", or "mean_dW1"
        for a mini-batch): phase "update", writes ``param``, reads (param, grad, *state);
        its ``also`` formulas show the state's updates, each with the numbers of cell
        [0, ...]. Its numbers read the mapping's state *before* the update and "t"."""
        return self.kind.update_step(param, grad, text, **dict(self.options))

    def details(self, param: str, grad_value: object, tensors_before: Mapping[str, object],
                t: int, lr: float) -> dict[str, np.ndarray]:
        """What the page shows of one parameter's update: each state name (v_W1 ...) before
        the update, the same + "_after" after it, the bias-corrected moments (m_hat_W1,
        s_hat_W1) for Adam, ``change`` (new − old parameter) and ``after`` (the new one).
        ``tensors_before`` holds the parameter and the state before."""
        value = np.asarray(tensors_before[param], dtype=np.float64)
        new, kept, shown = self._update(param, value, grad_value, tensors_before,
                                        _check_t(t), float(lr))
        out: dict[str, np.ndarray] = {}
        for prefix, after in kept.items():
            name = state_name(prefix, param)
            out[name] = np.asarray(tensors_before[name], dtype=np.float64)
            out[name + "_after"] = after
        out.update({state_name(key, param): v for key, v in shown.items()})
        out["change"], out["after"] = new - value, new
        return out

    # -------------------------------------------------------------------- practice
    def misconceptions(self, param: str, step: str) -> tuple[Misconception, ...]:
        """The misconceptions of the update of ``param``, bound as those of practice step
        ``step`` (sgd's are the seed library's two)."""
        if self.type == "sgd":
            from ..misconceptions import update_misconceptions
            return update_misconceptions(param)
        words = {"P": param, "g": "d" + param,
                 **{prefix: state_name(prefix, param) for prefix in self.kind.STATE}}
        return tuple(_bind(m, param, step, words) for m in self.kind.MISCONCEPTIONS)

    def draw_state(self, rng: np.random.Generator, param: str, grad: np.ndarray, t: int
                   ) -> dict[str, np.ndarray]:
        """A state before update ``t`` for Practice: what this optimizer would keep after
        t − 1 updates from earlier gradients near ``grad`` (each cell times 0.5 ... 1.5,
        one decimal), rounded to two significant digits."""
        grad = np.asarray(grad, dtype=np.float64)
        state = {prefix: np.zeros(grad.shape) for prefix in self.kind.STATE}
        for k in range(1, t):
            earlier = _round(grad * rng.integers(5, 16, size=grad.shape) / 10)
            _, state, _ = self.kind.update(np.zeros(grad.shape), earlier, state, k, 0.1,
                                           **dict(self.options))
        return {state_name(prefix, param): _round(v) for prefix, v in state.items()}


def _bind(m: Misconception, param: str, step: str, words: Mapping[str, str]) -> Misconception:
    def wrong(given: Mapping[str, object], where: object, lr: float | None) -> np.ndarray:
        return m.wrong(given, param, lr)

    return Misconception(f"{param}-{m.id}", step, m.title.format(**words),
                         m.message.format(**words), wrong)


def _round(values: np.ndarray, digits: int = 2) -> np.ndarray:
    """Each value to ``digits`` significant digits (0 stays 0)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.array([float(f"{v:.{digits}g}") for v in values.ravel()])
    return out.reshape(values.shape)


def _param_names(params: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(name for name in params if _PARAM.match(name))


def _check_t(t: object) -> int:
    if isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 1:
        raise ValueError(f"t (the update's 1-based count) must be an integer >= 1, got {t!r}")
    return int(t)


def optimizer(spec: Mapping[str, object] | Optimizer | str | None = None) -> Optimizer:
    """The optimizer a spec names: None -> sgd; ``"adam"`` -> Adam with its defaults;
    ``{"type": "momentum", "beta": 0.9}``; an Optimizer as it is. Refuses a spec that does
    not fit with an :class:`OptimizerError` naming every fault's field: an unknown type, an
    unknown option, an option that is not a plain finite number or is out of its range."""
    if isinstance(spec, Optimizer):
        return spec
    if spec is None:
        spec = {"type": "sgd"}
    elif isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping):
        raise OptimizerError([Problem("optimizer", 'must be an object such as {"type": "sgd"}, '
                                                   f"got {spec!r}")])
    kind_name = spec.get("type")
    if not isinstance(kind_name, str) or kind_name not in OPTIMIZERS:
        raise OptimizerError([Problem("type", f"must be one of {', '.join(OPTIMIZERS)}, "
                                              f"got {kind_name!r}")])
    kind = OPTIMIZERS[kind_name]
    problems: list[Problem] = []
    for key in sorted(set(spec) - {"type"} - set(kind.OPTIONS), key=str):
        known = ", ".join(kind.OPTIONS) or "none"
        problems.append(Problem(str(key), f"is not an option of {kind_name} (options: {known})"))
    options: list[tuple[str, float]] = []
    for key, option in kind.OPTIONS.items():
        value = spec.get(key, option.default)
        if not option.holds(value):
            problems.append(Problem(key, f"must be a number {option.range_text()}, "
                                         f"got {value!r}"))
            continue
        options.append((key, float(value)))
    if problems:
        raise OptimizerError(problems)
    return Optimizer(kind_name, tuple(options))


def practice_optimizer(kind_name: str) -> Optimizer:
    """The optimizer of Practice's exercises of a type (its module's PRACTICE options)."""
    return optimizer({"type": kind_name, **OPTIMIZERS[kind_name].PRACTICE})


def limits() -> dict[str, dict[str, object]]:
    """Every optimizer for the API and ``GET /api/meta``: title, description, its options
    (default, min, max, max_excluded, text) and the prefixes of the state it keeps."""
    return {name: {"title": kind.TITLE, "description": kind.DESCRIPTION,
                   "options": {key: o.to_dict() for key, o in kind.OPTIONS.items()},
                   "state": list(kind.STATE)}
            for name, kind in OPTIMIZERS.items()}


SGD = optimizer(None)
