"""Requests and responses of the practice API (``/api/exercises``): pydantic models.

Tensor fields are typed with their real nesting (a number, a row, a grid, or a stack of
grids), so clients generated from the OpenAPI schema get typed models.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

import engine

from .schemas import (
    MAX_ABS,
    MAX_AXIS,
    OUTER_AXIS,
    PARAM_SLOTS,
    SERVED_EXAMPLE,
    TENSOR_NAMES,
    TENSOR_SHAPES,
    AnyTensor,
    ConfigIn,
    ConfigOut,
    Image,
    Label,
    LearningRate,
    NetworkIn,
    NetworkOut,
    Number,
    OptimizerIn,
    ParamsIn,
    RangeOut,
    Seed,
    tensors_model,
)

StepName = Literal["Z1", "A1", "P1", "F", "Z2", "A2", "L", "dA2", "dZ2", "dW2", "db2", "dF",
                   "dP1", "dA1", "dZ1", "dW1", "db1", "W1", "b1", "W2", "b2"]
assert set(StepName.__args__) == set(engine.STEP_NAMES)  # one list, served by the engine
# Any network's step: the tensor it writes (Z3, dW2, dX, P1 …), an optimizer's update of a
# parameter (W1@adam) or a mini-batch's mean gradient (mean_dW1), checked against the
# network's own steps when the exercise is made.
AnyStep = Annotated[str, Field(
    pattern=r"^(L|d?([XF]|[WbZAP][1-9])|[Wb][1-9]@[a-z]{1,20}|mean_d[Wb][1-9])$",
    description=(
        "The tensor the step writes: for the seed's network " + " ".join(engine.STEP_NAMES)
        + "; an update by momentum or Adam, P@momentum or P@adam (W1@adam); a mini-batch's "
        "mean gradient, mean_dP (mean_dW1); any network's are listed by "
        "GET /api/exercises?network=…"))]
BATCH_LIMITS = engine.practice.BATCH_LIMITS
BatchSize = Annotated[int, Field(strict=True, ge=BATCH_LIMITS[0], le=BATCH_LIMITS[1])]

Row = Annotated[list[Number], Field(min_length=1, max_length=MAX_AXIS)]
# Only the last axis of a result is long (a dense layer's row); the outer ones are filters,
# channels, rows or units.
Grid = Annotated[list[Row], Field(min_length=1, max_length=OUTER_AXIS)]
Stack = Annotated[list[Grid], Field(min_length=1, max_length=OUTER_AXIS)]
Stack4 = Annotated[list[Stack], Field(min_length=1, max_length=OUTER_AXIS)]


def _numbers(value: object, depth: int = 0, where: str = "") -> object:
    """One clear error for anything but a number or nested lists of numbers (instead of one
    error per cell and per possible nesting)."""
    if isinstance(value, list):
        if depth == 4:
            raise ValueError("answer nests lists more than 4 deep: no step's result does")
        if not value:
            raise ValueError(f"answer has an empty list{' at ' + where if where else ''}")
        if len(value) > MAX_AXIS:
            raise ValueError(f"answer has a list longer than any step's result ({MAX_AXIS})")
        for i, item in enumerate(value):
            _numbers(item, depth + 1, f"{where}[{i}]")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a string" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"answer must hold only numbers, got {kind} at {where or 'the top'}")
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise ValueError(f"answer must hold finite numbers within ±{MAX_ABS:g}, got "
                         f"{'NaN or infinity' if not math.isfinite(value) else 'a larger one'}"
                         f" at {where or 'the top'}")
    return value


AnswerValue = Annotated[Number | Row | Grid | Stack | Stack4, BeforeValidator(_numbers)]

Cells = (bool | list[bool] | list[list[bool]] | list[list[list[bool]]]
         | list[list[list[list[bool]]]])

# What each step reads is what its exercise gives: one field per tensor any network's step
# can read, typed as deep as it can be, present only when the step reads it.
# an optimizer's state before its update (v_W1; m_W1, s_W1), one name per prefix and slot
STATE_PREFIXES = tuple(dict.fromkeys(
    prefix for kind in engine.optimizers.OPTIMIZERS.values() for prefix in kind.STATE))
STATE_NAMES = tuple(f"{prefix}_{p}" for prefix in STATE_PREFIXES for p in PARAM_SLOTS)
_TensorGivens = tensors_model("TensorGivens", "", (*TENSOR_NAMES, *STATE_NAMES), ())
_NUMBER_GIVENS = {
    "t": "The update's count, 1-based (an optimizer's update step).",
    **{option: f"{o.text} (an optimizer's update step)"
       for kind in engine.optimizers.OPTIMIZERS.values() for option, o in kind.OPTIONS.items()},
}


def _no_default(schema: dict[str, object]) -> None:
    schema.pop("default", None)


class Givens(_TensorGivens):  # type: ignore[misc, valid-type]
    __doc__ = (
        "The tensors the step reads, and only those. The seed's network: " + "; ".join(
            f"{step.writes} reads {', '.join(step.reads)}" for step in engine.STEPS)
        + ". An update by momentum or Adam (W1@adam) reads the parameter, its gradient, "
        "the state before the update (v_W1; m_W1 and s_W1), t and the options (beta; "
        "beta1, beta2, eps), each a number. A mini-batch's mean (mean_dW1) reads the "
        "per-example gradients dW1(1) … dW1(N), one property each.")
    model_config = ConfigDict(extra="allow")

    t: float = Field(default=None, description=_NUMBER_GIVENS["t"],
                     json_schema_extra=_no_default)
    beta: float = Field(default=None, description=_NUMBER_GIVENS["beta"],
                     json_schema_extra=_no_default)
    beta1: float = Field(default=None, description=_NUMBER_GIVENS["beta1"],
                     json_schema_extra=_no_default)
    beta2: float = Field(default=None, description=_NUMBER_GIVENS["beta2"],
                     json_schema_extra=_no_default)
    eps: float = Field(default=None, description=_NUMBER_GIVENS["eps"],
                     json_schema_extra=_no_default)


def _by_depth() -> str:
    depths: dict[int, list[str]] = {}
    for step in engine.STEP_NAMES:
        depths.setdefault(len(TENSOR_SHAPES[step]), []).append(step)
    kinds = ("a number", "a list", "a list of rows", "a list of grids",
             "a list of lists of grids")
    return "; ".join(f"{kinds[d]} for {' '.join(names)}" for d, names in sorted(depths.items()))


ANSWER_DEPTHS = (f"In the step's shape (`shape`), as deep as the tensor it writes; for "
                 f"the seed's network {_by_depth()}; another network's conv weights "
                 "(K, C, k, k) are a list of lists of grids.")

_EXAMPLE_CREATE = {"step": "dA1", "seed": 7}
# The dA1 exercise of seed 7 answered to three significant digits: first with the gradient
# sent to every cell of each window (the misconception da1-every-cell), then right.
_EXAMPLE_WRONG = [[[-0.289, -0.289, 0.289, 0.289], [-0.289, -0.289, 0.289, 0.289],
                   [0.505, 0.505, 0.433, 0.433], [0.505, 0.505, 0.433, 0.433]]]
_EXAMPLE_RIGHT = [[[-0.289, 0.0, 0.289, 0.0], [0.0, 0.0, 0.0, 0.0],
                   [0.0, 0.0, 0.0, 0.433], [0.505, 0.0, 0.0, 0.0]]]


class ExampleIn(BaseModel):
    """An example to compute as it is: the explorer's walk at its current pass, or a
    notebook's own numbers."""

    model_config = ConfigDict(extra="forbid")
    x: Image
    y: Label
    params: ParamsIn
    lr: LearningRate


class ExerciseCreate(BaseModel):
    """One step to compute (``step``), or the whole pass in order (``chain: true``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [_EXAMPLE_CREATE, {"chain": True, "seed": 7}]})

    step: AnyStep | None = Field(default=None, description=(
        "The tensor the step writes: for the seed's network Z1 … db1, or W1 b1 W2 b2 for "
        "the updates; any network's steps are listed by GET /api/exercises?network=…"))
    chain: Annotated[bool, Field(strict=True)] = Field(default=False, description=(
        "The whole pass, Z1 → … → db1 → the four updates; each step is given the true "
        "results of the ones before. Give either step or chain."))
    seed: Seed | None = Field(default=None, description=(
        "Picks the numbers (the same seed and config give the same numbers); missing: a "
        "random one."))
    config: ConfigIn = Field(default_factory=ConfigIn, description=(
        "The seed-shaped network's sizes; default the seed's 6×6 input, 3×3 kernel, 2×2 "
        "pooling. Give config or network, not both."))
    network: NetworkIn | None = Field(default=None, description=(
        "Any network, as a list of layers, instead of config."))
    example: ExampleIn | None = Field(default=None, description=(
        "These numbers instead of drawn ones (shaped as the network says): the explorer's "
        "\"Practise this step\" sends its walk's. Give either seed or example."))
    optimizer: OptimizerIn | None = Field(default=None, description=(
        "The options of an optimizer's update step (W1@adam: type adam) or of a chain "
        "(its updates become that optimizer's: W1@adam …). Options left out take "
        "Practice's own (Adam's eps 0.01, large enough that where ε goes shows)."))
    batch: BatchSize | None = Field(default=None, description=(
        f"The examples of a mean step (mean_dW1): {BATCH_LIMITS[0]} to {BATCH_LIMITS[1]}; "
        f"missing: {engine.practice.BATCH}."))


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"answer": _EXAMPLE_WRONG}, {"answer": _EXAMPLE_RIGHT}]})

    answer: AnswerValue = Field(description=(
        "A number, or nested lists of numbers in the step's shape (a NumPy array's "
        "tolist())."))


class HintOut(BaseModel):
    level: Literal[1, 2] = Field(description=(
        "1: the given cells a wrong cell is computed from; 2: also its formula with the "
        "numbers filled in (not the result)."))
    cell: list[int] = Field(description="The wrong cell the hint is about.")
    text: str
    feeds: dict[str, list[list[int]]] = Field(description=(
        "For each given tensor, the indices of the cells that feed the wrong cell."))


class MisconceptionOut(BaseModel):
    id: str
    title: str
    message: str = Field(description="What the right idea is.")


class ChainOut(BaseModel):
    position: int = Field(description="Index of the current step in steps.")
    steps: list[str]
    done: list[bool] = Field(description="Each step solved or revealed.")


class ExerciseOut(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    step: str
    index: int = Field(description="The step's index in the network's practice steps.")
    seed: int | None = Field(description=(
        "The seed the numbers came from: the one asked for, or, when the server drew it, "
        "null until every step is solved or revealed (another exercise on that seed would "
        "give this one's answer away); null for an example given as it is."))
    example: bool = Field(description=(
        "True when the numbers are an example given as it is, not drawn from a seed."))
    config: ConfigOut | None = Field(description=(
        "The seed-shaped network's sizes; null for another network."))
    network: NetworkOut
    shape: list[int] = Field(description="The answer's shape; [] for one number.")
    given: Givens = Field(description=(
        "Exactly the tensors the step reads, by name (the seed's dA1: A1 and dP1)."))
    ranges: dict[str, RangeOut] = Field(description="Colour ranges of the given tensors.")
    lr: float | None = Field(description="η, for the update steps; null otherwise.")
    prompt: str
    latex: str
    mathml: str
    state: Literal["open", "solved", "revealed"]
    attempts: int
    max_attempts: int
    hints: list[HintOut] = Field(description="The hints unlocked so far, in order.")
    answer: AnyTensor = Field(description=(
        "The right answer: null until the exercise is solved or revealed. " + ANSWER_DEPTHS))
    answer_range: RangeOut | None
    chain: ChainOut | None
    misconceptions: list[MisconceptionOut] = Field(description=(
        "The misconceptions this step is checked for (their messages, not their tensors)."))


class AnswerOut(BaseModel):
    model_config = SERVED_EXAMPLE
    correct: bool
    score: float = Field(description="The share of right cells, 0 to 1.")
    cells: Cells = Field(description="The answer's shape: true where the cell is right.")
    misconception: MisconceptionOut | None = Field(description=(
        "The misconception whose tensor explains the wrong cells, when one does."))
    hint: HintOut | None = Field(description="Unlocked by this wrong attempt.")
    attempts: int
    state: Literal["open", "solved", "revealed"]
    answer: AnyTensor = Field(description=(
        "The right answer, once answered right (null before). " + ANSWER_DEPTHS))


class ToleranceOut(BaseModel):
    significant: int
    slack: float
    floor: float
    text: str


class LimitsOut(BaseModel):
    max_exercises: int
    exercise_ttl: float
    max_attempts: int


class StepInfo(BaseModel):
    name: str
    phase: Literal["forward", "backward", "update"]
    kind: str = Field(description="The layer kind of the step (conv, relu, maxpool, …).")
    role: str = Field(description=(
        "What the step is to its layer: forward, backward, dW, db, dinput, loss, dA or "
        "update; a kind's misconceptions are found by it."))
    reads: list[str]
    latex: str
    mathml: str
    text: str


class LibraryEntry(MisconceptionOut):
    step: str


class MoreStepInfo(BaseModel):
    name: str = Field(description="The step's name: W1@momentum, W1@adam, mean_dW1 ….")
    group: Literal["optimizer", "mean"] = Field(description=(
        "optimizer: an update by momentum or Adam; mean: a mini-batch's mean gradient."))
    optimizer: str | None = Field(description=(
        "momentum or adam for an update; null for a mean."))
    title: str = Field(description="The optimizer's title (Momentum, Adam); Mean for a mean.")
    param: str = Field(description="The parameter updated, or whose gradient is averaged.")
    of: str = Field(description=(
        "The walk's step it stands for: the parameter's update (W1) or its gradient (dW1)."))
    misconceptions: list[MisconceptionOut]


class Catalogue(BaseModel):
    model_config = SERVED_EXAMPLE
    steps: list[StepInfo]
    more_steps: list[MoreStepInfo] = Field(description=(
        "Beyond the walk's steps: every parameter's update by momentum and by Adam, and "
        "every parameter's mini-batch mean gradient, each with its misconceptions."))
    tolerance: ToleranceOut
    limits: LimitsOut
    misconceptions: list[LibraryEntry]
