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
    MAX_FEATURES,
    MAX_FILTERS,
    MAX_SIDE,
    SERVED_EXAMPLE,
    TENSOR_SHAPES,
    AnyTensor,
    ConfigIn,
    ConfigOut,
    Image,
    Label,
    LearningRate,
    Number,
    ParamsIn,
    RangeOut,
    Seed,
    tensors_model,
)

StepName = Literal["Z1", "A1", "P1", "F", "Z2", "A2", "L", "dA2", "dZ2", "dW2", "db2", "dF",
                   "dP1", "dA1", "dZ1", "dW1", "db1", "W1", "b1", "W2", "b2"]
assert set(StepName.__args__) == set(engine.STEP_NAMES)  # one list, served by the engine

Row = Annotated[list[Number], Field(min_length=1, max_length=MAX_FEATURES)]
Grid = Annotated[list[Row], Field(min_length=1, max_length=MAX_SIDE)]
Stack = Annotated[list[Grid], Field(min_length=1, max_length=MAX_FILTERS)]


def _numbers(value: object, depth: int = 0, where: str = "") -> object:
    """One clear error for anything but a number or nested lists of numbers (instead of one
    error per cell and per possible nesting)."""
    if isinstance(value, list):
        if depth == 3:
            raise ValueError("answer nests lists more than 3 deep: no step's result does")
        if not value:
            raise ValueError(f"answer has an empty list{' at ' + where if where else ''}")
        limit = MAX_FEATURES if depth == 0 else MAX_SIDE
        if len(value) > max(limit, MAX_SIDE):
            raise ValueError(f"answer has a list longer than any step's result ({limit})")
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


AnswerValue = Annotated[Number | Row | Grid | Stack, BeforeValidator(_numbers)]

Cells = bool | list[bool] | list[list[bool]] | list[list[list[bool]]]

# What each step reads is what its exercise gives: one field per tensor any step reads,
# typed as deep as its shape, present only when the step reads it.
_READ = [name for name in TENSOR_SHAPES
         if any(name in step.reads for step in engine.STEPS)]
Givens = tensors_model("Givens", "The tensors the step reads, and only those: " + "; ".join(
    f"{step.writes} reads {', '.join(step.reads)}" for step in engine.STEPS) + ".", _READ, ())


def _by_depth() -> str:
    depths: dict[int, list[str]] = {}
    for step in engine.STEP_NAMES:
        depths.setdefault(len(TENSOR_SHAPES[step]), []).append(step)
    kinds = ("a number", "a list", "a list of rows", "a list of grids")
    return "; ".join(f"{kinds[d]} for {' '.join(names)}" for d, names in sorted(depths.items()))


ANSWER_DEPTHS = (f"In the step's shape (`shape`), as deep as the tensor it writes: "
                 f"{_by_depth()}.")

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

    step: StepName | None = Field(default=None, description=(
        "The tensor the step writes: Z1 … db1, or W1 b1 W2 b2 for the updates."))
    chain: Annotated[bool, Field(strict=True)] = Field(default=False, description=(
        "The whole pass, Z1 → … → db1 → the four updates; each step is given the true "
        "results of the ones before. Give either step or chain."))
    seed: Seed | None = Field(default=None, description=(
        "Picks the numbers (the same seed and config give the same numbers); missing: a "
        "random one."))
    config: ConfigIn = Field(default_factory=ConfigIn, description=(
        "The network's sizes; default the seed's 6×6 input, 3×3 kernel, 2×2 pooling."))
    example: ExampleIn | None = Field(default=None, description=(
        "These numbers instead of drawn ones (shaped as config says): the explorer's "
        "\"Practise this step\" sends its walk's. Give either seed or example."))


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
    steps: list[StepName]
    done: list[bool] = Field(description="Each step solved or revealed.")


class ExerciseOut(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    step: StepName
    index: int = Field(description="The step's index in the engine's step sequence.")
    seed: int | None = Field(description=(
        "The seed the numbers came from: the one asked for, or, when the server drew it, "
        "null until every step is solved or revealed (another exercise on that seed would "
        "give this one's answer away); null for an example given as it is."))
    example: bool = Field(description=(
        "True when the numbers are an example given as it is, not drawn from a seed."))
    config: ConfigOut
    shape: list[int] = Field(description="The answer's shape; [] for one number.")
    given: Givens = Field(description=(
        "Exactly the tensors the step reads, by name (for dA1: A1 and dP1)."))
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
    name: StepName
    phase: Literal["forward", "backward", "update"]
    reads: list[str]
    latex: str
    mathml: str
    text: str


class LibraryEntry(MisconceptionOut):
    step: StepName


class Catalogue(BaseModel):
    model_config = SERVED_EXAMPLE
    steps: list[StepInfo]
    tolerance: ToleranceOut
    limits: LimitsOut
    misconceptions: list[LibraryEntry]
