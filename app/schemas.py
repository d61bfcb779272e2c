"""Every request and response of the API: pydantic models, bounds and examples.

Requests are pydantic models: types, bounds and list lengths are checked before any work
(strings, booleans, NaN and Infinity, lists longer than the largest tensor allows, config
values out of range). Shapes that depend on the configuration are checked by
:func:`app.convert.example_inputs` and friends, which raise
:class:`app.errors.InputError` naming the field.

Responses are built by :mod:`app.serialize` and encoded directly with orjson. The response
models below are what the OpenAPI schema documents, and what the tests check
the served JSON against; FastAPI's own encoder is not on the hot path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)

import engine

# ------------------------------------------------------------------------------ bounds
MAX_SIDE = engine.LIMITS["input_size"][1]
MAX_KERNEL = engine.LIMITS["kernel_size"][1]
MAX_FILTERS = engine.LIMITS["filters"][1]
MAX_FEATURES = MAX_FILTERS * MAX_SIDE**2  # D at k = 1, p = 1: the longest tensor, W2's row
MAX_ABS = 1e12  # inputs beyond this are absurd and would overflow the forward pass
TRAIN_MAX_EPOCHS = 1000  # of one /api/train request
SESSION_MAX_EPOCHS = 10_000  # passes one walk may go through (app.sessions keeps them)
MAX_BATCH_SIZE = 4096
MAX_SEED = 2**32 - 1
DEFAULT_LR = 0.1

# ------------------------------------------------------------------------------- inputs
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_ABS, le=MAX_ABS)]


def _list(item: Any, max_length: int, description: str | None = None) -> Any:
    return Annotated[list[item], Field(min_length=1, max_length=max_length,
                                       description=description)]


Image = _list(_list(Number, MAX_SIDE), MAX_SIDE,
              "The input X: n rows of n numbers (n = config.input_size).")


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be 0 or 1, got {str(value).lower()}")
    return value


Label = Annotated[Literal[0, 1], BeforeValidator(_no_bool),
                  Field(description="The label Y: 0 or 1.")]
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED,
                            description="Seeds init_params when params are not given.")]
LearningRate = Annotated[float, Field(strict=True, gt=0, le=engine.LR_MAX, allow_inf_nan=False,
                                      description=f"η, with 0 < lr <= {engine.LR_MAX}.")]
_DEFAULTS = engine.Config()


def _size(name: str) -> Any:
    lo, hi = engine.LIMITS[name]
    return Annotated[int, Field(strict=True, ge=lo, le=hi)]


class ConfigIn(BaseModel):
    """Sizes of the network; every field optional (defaults: the seed's network)."""

    model_config = ConfigDict(extra="forbid")
    input_size: _size("input_size") = _DEFAULTS.input_size
    kernel_size: _size("kernel_size") = _DEFAULTS.kernel_size
    filters: _size("filters") = _DEFAULTS.filters
    pool_size: _size("pool_size") = _DEFAULTS.pool_size

    @model_validator(mode="after")
    def _fits(self) -> ConfigIn:
        self.to_engine()  # kernel_size <= input_size, pool_size <= n - k + 1
        return self

    def to_engine(self) -> engine.Config:
        return _config(self.input_size, self.kernel_size, self.filters, self.pool_size)


@functools.lru_cache(maxsize=1024)
def _config(n: int, k: int, K: int, p: int) -> engine.Config:
    return engine.Config(input_size=n, kernel_size=k, filters=K, pool_size=p)


W1In = _list(_list(_list(Number, MAX_KERNEL), MAX_KERNEL), MAX_FILTERS,
             "Conv filters, shape (K, k, k).")
B1In = _list(Number, MAX_FILTERS, "Conv biases, shape (K,).")
W2In = _list(_list(Number, MAX_FEATURES), 1, "Dense weights, shape (1, D), D = K·q·q.")
B2In = _list(Number, 1, "Dense bias, shape (1,).")


class ParamsIn(BaseModel):
    """The four parameters, shaped as the configuration says."""

    model_config = ConfigDict(extra="forbid")
    W1: W1In
    b1: B1In
    W2: W2In
    b2: B2In


class ParamsPatch(BaseModel):
    """Any subset of the four parameters."""

    model_config = ConfigDict(extra="forbid")
    W1: W1In | None = None
    b1: B1In | None = None
    W2: W2In | None = None
    b2: B2In | None = None


def _config_field() -> Any:
    return Field(default_factory=ConfigIn)


_STROKE = [[0.0] * 6] + [[0.0, 0.0, 1.0, 0.5, 0.0, 0.0] for _ in range(4)] + [[0.0] * 6]
_EXAMPLE = {"config": {"input_size": 6, "kernel_size": 3, "filters": 1, "pool_size": 2},
            "x": _STROKE, "y": 1, "seed": 0}


class ForwardRequest(BaseModel):
    # A misspelt field (parms, learning_rate) must be an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    config: ConfigIn = _config_field()
    x: Image
    y: Label | None = None
    params: ParamsIn | None = Field(
        default=None, description="Missing: init_params(config, seed).")
    seed: Seed = engine.DEFAULT_SEED


class ExampleRequest(ForwardRequest):
    y: Label


class BackwardRequest(ExampleRequest):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{**_EXAMPLE, "lr": 0.1}]})

    lr: LearningRate = Field(default=DEFAULT_LR,
                             description="Fills the update steps' numbers.")


class UpdateRequest(ExampleRequest):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{**_EXAMPLE, "lr": 0.1}]})

    lr: LearningRate


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dataset": "x_vs_o", "epochs": 10, "batch_size": 16, "lr": 0.5, "seed": 0}]})

    config: ConfigIn = _config_field()
    params: ParamsIn | None = Field(
        default=None, description="Missing: init_params(config, seed).")
    dataset: Annotated[str, Field(min_length=1, max_length=64, description=(
        "A name from GET /api/datasets, or digits_A_B for any two digits A != B."))]
    epochs: Annotated[int, Field(strict=True, ge=1, le=TRAIN_MAX_EPOCHS)]
    batch_size: Annotated[int, Field(strict=True, ge=1, le=MAX_BATCH_SIZE)]
    lr: LearningRate
    seed: Annotated[Seed, Field(description=(
        "Seeds the order of the examples in each epoch, and init_params."))] = 0


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{**_EXAMPLE, "lr": 0.1}]})

    config: ConfigIn = _config_field()
    x: Image | None = Field(default=None, description="Missing: the vertical-stroke example.")
    y: Label | None = Field(default=None, description="Missing: 1.")
    params: ParamsIn | None = Field(
        default=None, description="Missing: init_params(config, seed).")
    seed: Seed = engine.DEFAULT_SEED
    lr: LearningRate = DEFAULT_LR


class SessionPatch(BaseModel):
    """Any of these; the session goes back to epoch 0, before its first step."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lr": 0.2}]})

    x: Image | None = None
    y: Label | None = None
    params: ParamsPatch | None = None
    lr: LearningRate | None = None
    config: ConfigIn | None = Field(default=None, description=(
        "A new configuration: x, when not given, becomes the vertical-stroke example at the "
        "new size, and params not given are drawn by init_params(config, seed)."))
    seed: Seed | None = Field(default=None, description=(
        "Redraws the parameters that are not given with init_params(config, seed)."))



# ---------------------------------------------------------------------- response models
# A tensor in JSON is nested lists of numbers as deep as its shape: a scalar is a plain
# number. These aliases name the four depths, for the models below and for anyone else.
Scalar = float
Vector = list[float]
Matrix = list[list[float]]
Tensor3 = list[list[list[float]]]
# Only dA2 can overflow float64 (-1/A2 or 1/(1 - A2) once |Z2| > ~709): then it is null.
Overflowing = float | None
AnyTensor = Scalar | Vector | Matrix | Tensor3 | None  # a value whose name is not fixed

# Every named tensor's shape in the engine's symbols: n = input_size, k = kernel_size,
# K = filters, m = n - k + 1, q = floor(m / pool_size), D = K*q*q. A test holds these to
# engine.Config.shapes() for many configurations.
_VALUES: dict[str, tuple[tuple[str, ...], str]] = {
    "X": (("n", "n"), "the input image"),
    "Y": ((), "the label, 0 or 1"),
    "W1": (("K", "k", "k"), "the convolution's filters"),
    "b1": (("K",), "the filters' biases"),
    "Z1": (("K", "m", "m"), "Conv(X, W1) + b1, the filters' responses"),
    "A1": (("K", "m", "m"), "ReLU(Z1)"),
    "P1": (("K", "q", "q"), "MaxPool(A1): the largest A1 of each window"),
    "F": (("D",), "Flatten(P1), in (filter, row, column) order"),
    "W2": (("1", "D"), "the dense layer's weights"),
    "b2": (("1",), "the dense layer's bias"),
    "Z2": ((), "F W2^T + b2, the logit"),
    "A2": ((), "sigmoid(Z2), the predicted probability that Y = 1"),
    "L": ((), "the cross-entropy loss -Y log A2 - (1 - Y) log(1 - A2), in nats"),
}
TENSOR_SHAPES: dict[str, tuple[str, ...]] = {
    **{name: shape for name, (shape, _) in _VALUES.items()},
    **{f"d{name}": shape for name, (shape, _) in _VALUES.items() if name not in ("Y", "L")},
}
_DEPTHS: tuple[Any, ...] = (Scalar, Vector, Matrix, Tensor3)


def tensor_type(name: str) -> Any:
    """The JSON type of the tensor called ``name``: as deep as its shape."""
    return Overflowing if name == "dA2" else _DEPTHS[len(TENSOR_SHAPES[name])]


def tensor_description(name: str) -> str:
    """``name``: what it is, and its shape (a scalar is a plain number)."""
    shape = TENSOR_SHAPES[name]
    what = (_VALUES[name][1] if name in _VALUES else
            "the saliency map dL/dX" if name == "dX" else f"dL/d{name[1:]}")
    where = f"shape ({', '.join(shape)}{',' if len(shape) == 1 else ''})" if shape else "a number"
    note = "; null once |Z2| > ~709, where it overflows float64" if name == "dA2" else ""
    return f"{name}: {what}; {where}{note}."


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def tensors_model(model: str, doc: str, names: Iterable[str], required: Iterable[str]) -> Any:
    """A model with one field per tensor name, each typed as deep as its shape; the names
    not in ``required`` may be absent (never null)."""
    must = set(required)
    fields: dict[str, Any] = {}
    for name in names:
        description = tensor_description(name)
        fields[name] = (tensor_type(name), Field(description=description) if name in must
                        else Field(default=None, description=description,
                                   json_schema_extra=_no_default))
    return create_model(model, __doc__=doc, **fields)


_TRACE = engine.known(len(engine.STEPS) - 1)  # X Y W1 b1 W2 b2 Z1 ... dX db1
_PARAMS = engine.PARAM_NAMES
_FORWARD = ("X", "Z1", "A1", "P1", "F", "Z2", "A2", "L")
ForwardTensors = tensors_model("ForwardTensors", "The forward pass; L only when y was given.",
                          _FORWARD, _FORWARD[:-1])
BackwardTensors = tensors_model("BackwardTensors", "Every tensor and gradient of one example.",
                           _TRACE, _TRACE)
SessionTensors = tensors_model("SessionTensors", (
    "What the session's steps have computed: X Y W1 b1 W2 b2 always, every other tensor "
    "once its step is reached."), _TRACE, engine.GIVEN)
RevealedTensors = tensors_model("RevealedTensors", "The tensors one step makes known, each "
                           "present only if this step reveals it.", _TRACE, ())
UpdatedParams = tensors_model("UpdatedParams", "New parameter values, each once its update step "
                         "is reached.", _PARAMS, ())


# Where the served examples come from: the app factory sets it (to
# app.openapi_examples.responses, which runs the routes), so that this module, which every
# route imports, imports none of them. Called only when the schema is generated.
served_examples: Callable[[], dict[str, Any]] | None = None


def _served_example(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A response model's example: what the server answers to its request's example."""
    if served_examples is not None:
        schema["examples"] = [served_examples()[model.__name__]]


SERVED_EXAMPLE = ConfigDict(json_schema_extra=_served_example)


class ConfigOut(BaseModel):
    input_size: int
    kernel_size: int
    filters: int
    pool_size: int
    n_params: int
    shapes: dict[str, list[int]] = Field(description="Every tensor's shape by name.")


ParamsOut = tensors_model("ParamsOut", "The four parameters.", _PARAMS, _PARAMS)


class AlsoOut(BaseModel):
    """A tensor a step computes beside the one it writes (dX beside dW1), with its formula."""

    writes: str
    latex: str
    mathml: str
    latex_numbers: str | None = Field(description=(
        "The formula with the live numbers; null for a step a session has not reached."))
    mathml_numbers: str | None


class StepOutline(BaseModel):
    index: int
    phase: Literal["forward", "backward", "update"]
    writes: str
    reads: list[str]
    latex: str
    mathml: str
    text: str
    reveals: list[str] = Field(description=(
        "The tensors of the pass this step makes known (an update step: none)."))
    also: list[AlsoOut] = Field(default_factory=list, description=(
        "The formulas of what the step computes beside what it writes (dX at dW1)."))


class StepOut(StepOutline):
    latex_numbers: str | None = Field(description=(
        "The formula with the live numbers; null where they do not fit on a line, or for a "
        "step a session has not reached."))
    mathml_numbers: str | None


class RangeOut(BaseModel):
    min: float
    max: float
    scale: Literal["sequential", "diverging"]


class ForwardResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut
    params: ParamsOut
    tensors: ForwardTensors


class BackwardResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut
    params: ParamsOut
    tensors: BackwardTensors
    steps: list[StepOut]
    ranges: dict[str, RangeOut]
    winners: list[list[int]] = Field(description=(
        "For each P1 cell in (f, i, j) order, the A1 cell [f, r, c] that won its window."))


Grads = tensors_model("Grads", "The parameters' gradients.", [f"d{n}" for n in _PARAMS],
                 [f"d{n}" for n in _PARAMS])


class UpdateResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut
    params_before: ParamsOut
    params: ParamsOut
    grads: Grads
    loss_before: float = Field(description="L on the example before the step, in nats.")
    loss_after: float = Field(description="L on the example with the new parameters.")
    lr: float = Field(description="η, the step size.")


class GradcheckResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    numeric: ParamsOut
    analytic: ParamsOut
    rel_error: dict[str, float | None]
    max_rel_error: float | None


class EpochOut(BaseModel):
    epoch: int = Field(description="1 for the first epoch.")
    loss: float = Field(description="Mean L over the epoch's batches, in nats.")
    accuracy: float = Field(description="Share of the examples classified right during the "
                                        "epoch, from 0 to 1.")


class HeldOutExample(BaseModel):
    x: Matrix = Field(description="The image, shape (n, n).")
    y: int = Field(description="Its label, 0 or 1.")
    a2: float = Field(description="The trained network's A2 on the example.")
    right: bool


class TrainResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut
    dataset: str
    params: ParamsOut
    history: list[EpochOut]
    W1_history: list[Tensor3] = Field(description="W1 before training and after each "
                                                      "epoch: epochs + 1 entries.")
    accuracy: float = Field(description=(
        "Share of the training part classified right at the end."))
    test_accuracy: float = Field(description="Share of the held-out part (one example in five) "
                                             "classified right at the end.")
    test_size: int = Field(description="Examples held out of training.")
    examples: list[HeldOutExample] = Field(description=(
        "Up to 8 held-out examples, the misclassified first (most confidently wrong "
        "first), then the least confident right ones."))


class Sample(BaseModel):
    x: Matrix = Field(description="The image, shape (n, n).")
    y: int


class DatasetOut(BaseModel):
    model_config = SERVED_EXAMPLE
    name: str
    title: str
    description: str
    classes: list[str]
    size: int
    samples: list[Sample]


class PresetOut(BaseModel):
    model_config = SERVED_EXAMPLE
    name: str
    title: str
    x: Matrix = Field(description="The image, shape (n, n).")
    y: int


class Health(BaseModel):
    model_config = SERVED_EXAMPLE
    status: Literal["ok"]
    version: str


class TensorMeta(BaseModel):
    name: str
    title: str
    scale: Literal["sequential", "diverging"]


class Meta(BaseModel):
    model_config = SERVED_EXAMPLE
    defaults: ConfigOut
    limits: dict[str, list[int]]
    train_limits: dict[str, list[int]]
    lr_max: float
    default_lr: float
    train_max_work: float
    max_body_bytes: int
    max_sessions: int
    session_ttl: float
    session_max_epochs: int
    default_seed: int
    given: list[str] = Field(description="The tensors known before a pass's first step.")
    params: list[str] = Field(description="The trainable parameters, in the engine's order.")
    tensors: list[TensorMeta]
    provenance: list[str] = Field(description="The tensors whose cells have sources.")
    steps: list[StepOutline]


class SessionOut(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    config: ConfigOut
    lr: float
    seed: int
    epoch: int
    cursor: int = Field(description="Index of the last step computed; -1 before the first.")
    known: list[str] = Field(description="Every tensor of the pass known at this cursor.")
    step: StepOut | None
    steps: list[StepOut]
    tensors: SessionTensors = Field(description=(
        "X Y W1 b1 W2 b2, and every tensor written by the steps up to the cursor."))
    updated: UpdatedParams = Field(description="New parameter values written by update steps "
                                               "up to the cursor.")
    params: ParamsOut
    ranges: dict[str, RangeOut]
    winners: list[list[int]] | None
    loss_history: list[float] = Field(description="L of each completed epoch, in nats.")
    update: UpdateOut | None = Field(description="At an update step, that update.")


class UpdateOut(BaseModel):
    """One parameter's update: before, the change -lr dP and after, each in the
    parameter's shape."""

    name: Literal["W1", "b1", "W2", "b2"]
    before: AnyTensor
    change: AnyTensor = Field(description="-lr times the gradient.")
    after: AnyTensor
    range: RangeOut = Field(description="One colour range for before, change and after.")
    loss_before: float | None = Field(default=None, description="At the last update step.")
    loss_after: float | None = Field(default=None, description=(
        "The loss on the example with all four parameters updated (last update step)."))


class SessionMove(BaseModel):
    model_config = SERVED_EXAMPLE
    cursor: int
    epoch: int
    step: StepOut | None
    tensor: AnyTensor = Field(description="The value the step wrote (for an update step, "
                                            "the new parameter).")
    known: list[str] = Field(description="Every tensor of the pass known at this cursor.")
    reveals: RevealedTensors = Field(description=(
        "The tensors of the pass this step makes known (an update step: none)."))
    ranges: dict[str, RangeOut] = Field(description="Colour ranges of those tensors.")
    update: UpdateOut | None = Field(description="At an update step, that update.")


class SessionGoto(BaseModel):
    """Where to go: a step of a pass, reached by stepping (so exactly as next/prev would)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"epoch": 0, "cursor": 2}]})

    epoch: Annotated[int, Field(strict=True, ge=0, le=SESSION_MAX_EPOCHS)] = 0
    cursor: Annotated[int, Field(strict=True, ge=-1, le=len(engine.STEPS) - 1)]


class ProvenanceOut(BaseModel):
    model_config = SERVED_EXAMPLE
    tensor: str
    index: list[int]
    value: float | None
    sources: dict[str, list[list[int]]] = Field(description=(
        "Source tensor -> the cells of it that made this number."))
    window: list[list[int]] | None = Field(description="A P1 cell's pooling window in A1.")
    terms: list[float] | None = Field(description="The products summed, cell by cell.")
    factors: list[list[float]] | None = Field(description="Each product's two factors.")
    bias: float | None
    note: str


class ProvenanceCells(BaseModel):
    model_config = SERVED_EXAMPLE
    tensor: str
    cells: list[ProvenanceOut] = Field(description="Row-major, from the first cell.")
    complete: bool = Field(description="False: the answer's bound cut the list short.")


def _gradcheck_param(name: str) -> Any:
    kind = tensor_type(name)
    return create_model(
        f"Gradcheck{name}", __doc__=f"{name}'s gradient both ways, each in {name}'s shape.",
        analytic=(kind, Field(description=f"dL/d{name} by backpropagation.")),
        numeric=(kind, Field(description=f"dL/d{name} by central differences.")),
        rel_error=(float | None, Field(description="Null where it is not finite.")),
        range=(RangeOut, Field(description="One colour range for both.")))


GradcheckParams = create_model(
    "GradcheckParams", __doc__="Only the parameters whose gradient the walk has reached.",
    **{name: (_gradcheck_param(name),
              Field(default=None, json_schema_extra=_no_default)) for name in _PARAMS})


class SessionGradcheck(BaseModel):
    model_config = SERVED_EXAMPLE
    epoch: int
    cursor: int
    params: GradcheckParams = Field(description=(
        "Only the parameters whose gradient the walk has reached, by parameter name."))
    max_rel_error: float | None


class Message(BaseModel):
    model_config = SERVED_EXAMPLE
    detail: str
