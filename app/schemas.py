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


def _whole(value: object) -> object:
    """A label is a whole number: 1 and 1.0 are, "1", true and 0.5 are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a whole number (0 or 1, or a class), got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number (0 or 1, or a class), got {value!r}")
        return int(value)
    return value


MAX_CLASSES = 10
Label = Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=0, le=MAX_CLASSES - 1,
                  description=("The label Y: 0 or 1 (a sigmoid_bce output), or a class "
                               "0 … C-1 (softmax_ce)."))]
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


MAX_WEIGHTED = engine.NETWORK_LIMITS["layers"] - 1  # a flatten is always one of the layers
MAX_STEPS = 8 * engine.NETWORK_LIMITS["layers"]  # more than any network's steps
PARAM_SLOTS = tuple(f"{kind}{i}" for i in range(1, MAX_WEIGHTED + 1) for kind in "Wb")
MAX_AXIS = engine.NETWORK_LIMITS["tensor"]  # the longest axis any tensor may have
OUTER_AXIS = 64  # the outer axes of a parameter: filters, channels, kernel rows, units
# A parameter in JSON: nested lists as deep as its shape, 1 (a bias) to 4 (a conv's
# (K, C, k, k) filters) levels.
ParamValue = (_list(Number, MAX_AXIS) | _list(_list(Number, MAX_AXIS), OUTER_AXIS)
              | _list(_list(_list(Number, OUTER_AXIS), OUTER_AXIS), OUTER_AXIS)
              | _list(_list(_list(_list(Number, OUTER_AXIS), OUTER_AXIS), OUTER_AXIS),
                       OUTER_AXIS))


def _param_fields() -> dict[str, Any]:
    seed_shapes = engine.Config().shapes()
    fields: dict[str, Any] = {}
    for name in PARAM_SLOTS:
        seed = f" (the seed's network: shape {seed_shapes[name]})" if name in seed_shapes else ""
        what = "weights" if name[0] == "W" else "biases"
        description = f"The {what} of weighted layer {name[1:]}, shaped as the network says{seed}."
        fields[name] = (ParamValue | None, Field(default=None, description=description,
                                                 json_schema_extra=_no_default_param))
    return fields


def _no_default_param(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


ParamsIn = create_model(
    "ParamsIn", __config__=ConfigDict(extra="forbid"), __doc__=(
        "The network's parameters W1 b1 W2 b2 ..., each shaped as the network says; every "
        "one the network has must be given (the seed's: W1, b1, W2, b2)."),
    **_param_fields())
ParamsPatch = create_model(
    "ParamsPatch", __config__=ConfigDict(extra="forbid"),
    __doc__="Any subset of the network's parameters.", **_param_fields())


# ----------------------------------------------------------------------------- networks
def _layer_model(kind: str) -> Any:
    module = engine.KINDS[kind]
    fields: dict[str, Any] = {"type": (Literal[kind], Field(description=module.__doc__.split(
        "\n")[0] if module.__doc__ else kind))}
    for option, (default, lo, hi, number) in module.OPTIONS.items():
        strict = number is int
        bound = Annotated[number, Field(strict=strict, ge=lo, le=hi, allow_inf_nan=False)] \
            if number is float else Annotated[int, Field(strict=True, ge=lo, le=hi)]
        if callable(default):
            fields[option] = (bound | None, Field(default=None, description=(
                f"{lo} to {hi}; missing: the same as size.")))
        else:
            fields[option] = (bound, Field(default=default, description=f"{lo} to {hi}."))
    return create_model(f"{''.join(p.title() for p in kind.split('_'))}Layer",
                        __config__=ConfigDict(extra="forbid"), **fields)


LayerIn = Annotated[
    functools.reduce(lambda a, b: a | b, [_layer_model(k) for k in engine.LAYER_KINDS]),
    Field(discriminator="type")]


class InputIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: Annotated[int, Field(strict=True, ge=engine.NETWORK_LIMITS["input_min"],
                               le=engine.NETWORK_LIMITS["input_max"])] = 6


class NetworkIn(BaseModel):
    """A network as a list of layers: conv blocks (conv, its activation, a pool), one
    flatten, dense blocks; the last layer a dense one, read by the output. Limits: GET
    /api/meta's network_limits. A network that does not fit is refused with one error per
    problem, each naming its layer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        engine.SEED.to_dict()]})
    input: InputIn = Field(default_factory=InputIn)
    layers: Annotated[list[LayerIn], Field(min_length=1,
                                           max_length=engine.NETWORK_LIMITS["layers"])]
    output: Literal[engine.OUTPUTS] = "sigmoid_bce"  # type: ignore[valid-type]

    def spec(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def _network_field() -> Any:
    return Field(default=None, description=(
        "The network as a list of layers (give this or config, not both); missing: the "
        "network config describes."))


def _config_field() -> Any:
    return Field(default_factory=ConfigIn)


_STROKE = [[0.0] * 6] + [[0.0, 0.0, 1.0, 0.5, 0.0, 0.0] for _ in range(4)] + [[0.0] * 6]
_EXAMPLE = {"config": {"input_size": 6, "kernel_size": 3, "filters": 1, "pool_size": 2},
            "x": _STROKE, "y": 1, "seed": 0}


class ForwardRequest(BaseModel):
    # A misspelt field (parms, learning_rate) must be an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    config: ConfigIn = _config_field()
    network: NetworkIn | None = _network_field()
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


def _optimizer_model(name: str, kind: Any) -> Any:
    fields: dict[str, Any] = {"type": (Literal[name], Field(description=kind.TITLE))}
    for option, o in kind.OPTIONS.items():
        bound = {"lt": o.hi} if o.hi_open else {"le": o.hi}
        fields[option] = (Annotated[float, Field(strict=True, ge=o.lo, allow_inf_nan=False,
                                                 **bound)],
                          Field(default=o.default, description=o.text))
    return create_model(f"{kind.TITLE.replace(' ', '')}In", __doc__=kind.DESCRIPTION,
                        __config__=ConfigDict(extra="forbid"), **fields)


OPTIMIZER_MODELS = {name: _optimizer_model(name, kind)
                    for name, kind in engine.optimizers.OPTIMIZERS.items()}
OptimizerIn = Annotated[functools.reduce(lambda a, b: a | b, OPTIMIZER_MODELS.values()),
                        Field(discriminator="type", description=(
                            "How the update uses the gradient: sgd (P ← P − η dP), momentum "
                            "(a velocity) or adam (two moments, bias-corrected)."))]
Batch = Annotated[list[Image], Field(min_length=1, max_length=engine.walk.MAX_BATCH,
                                     description=(
    f"A mini-batch: 1 to {engine.walk.MAX_BATCH} images, averaged over by the update."))]
Labels = Annotated[list[Label], Field(min_length=1, max_length=engine.walk.MAX_BATCH,
                                      description="One label per image of the batch.")]


class UpdateRequest(ExampleRequest):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{**_EXAMPLE, "lr": 0.1}]})

    lr: LearningRate
    optimizer: OptimizerIn | None = Field(default=None, description=(
        "Missing: sgd. Momentum's and Adam's first update from a zero state, unless state "
        "is given."))
    state: dict[str, Any] | None = Field(default=None, description=(
        "The optimizer's state before this update (v_W1 … for momentum, m_W1 s_W1 … for "
        "Adam), each shaped as its parameter; missing: zeros."))
    t: Annotated[int, Field(strict=True, ge=1, le=10**9, description=(
        "The update's count from 1 (Adam's bias correction)."))] = 1


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dataset": "x_vs_o", "epochs": 10, "batch_size": 16, "lr": 0.5, "seed": 0}]})

    config: ConfigIn = _config_field()
    network: NetworkIn | None = _network_field()
    params: ParamsIn | None = Field(
        default=None, description="Missing: init_params(config, seed).")
    dataset: Annotated[str, Field(min_length=1, max_length=64, description=(
        "A name from GET /api/datasets, or digits_A_B for any two digits A != B."))]
    epochs: Annotated[int, Field(strict=True, ge=1, le=TRAIN_MAX_EPOCHS)]
    batch_size: Annotated[int, Field(strict=True, ge=1, le=MAX_BATCH_SIZE)]
    lr: LearningRate
    seed: Annotated[Seed, Field(description=(
        "Seeds the order of the examples in each epoch, and init_params."))] = 0
    optimizer: OptimizerIn | None = Field(default=None, description="Missing: sgd.")


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{**_EXAMPLE, "lr": 0.1}]})

    config: ConfigIn = _config_field()
    network: NetworkIn | None = _network_field()
    x: Image | Batch | None = Field(default=None, description=(
        "One image, or a list of 1 to 16 (a mini-batch: then y is a list as long). Missing: "
        "the vertical-stroke example."))
    y: Label | Labels | None = Field(default=None, description="Missing: 1 (each 1).")
    params: ParamsIn | None = Field(
        default=None, description="Missing: init_params(config, seed).")
    seed: Seed = engine.DEFAULT_SEED
    lr: LearningRate = DEFAULT_LR
    optimizer: OptimizerIn | None = Field(default=None, description="Missing: sgd.")


class SessionPatch(BaseModel):
    """Any of these; the session goes back to epoch 0, before its first step."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lr": 0.2}]})

    x: Image | Batch | None = None
    y: Label | Labels | None = None
    params: ParamsPatch | None = None
    lr: LearningRate | None = None
    optimizer: OptimizerIn | None = Field(default=None, description=(
        "A new optimizer (its state starts from zero)."))
    config: ConfigIn | None = Field(default=None, description=(
        "A new configuration: x, when not given, becomes the vertical-stroke example at the "
        "new size, and params not given are drawn by init_params(config, seed)."))
    network: NetworkIn | None = Field(default=None, description=(
        "A new network (give this or config, not both): as for config, x is redrawn when the "
        "input size changes and params not given are drawn."))
    seed: Seed | None = Field(default=None, description=(
        "Redraws the parameters that are not given with init_params(config, seed)."))



# ---------------------------------------------------------------------- response models
# A tensor in JSON is nested lists of numbers as deep as its shape: a scalar is a plain
# number. These aliases name the four depths, for the models below and for anyone else.
Scalar = float
Vector = list[float]
Matrix = list[list[float]]
Tensor3 = list[list[list[float]]]
Tensor4 = list[list[list[list[float]]]]
# Only dA2 can overflow float64 (-1/A2 or 1/(1 - A2) once |Z2| > ~709): then it is null.
Overflowing = float | None
AnyTensor = Scalar | Vector | Matrix | Tensor3 | Tensor4 | None  # any depth

# Every named tensor's shape in the engine's symbols for the seed-shaped network (config):
# n = input_size, k = kernel_size, K = filters, m = n - k + 1, q = floor(m / pool_size),
# D = K*q*q. A test holds these to engine.Config.shapes() for many configurations.
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
# Every name a network may give a tensor (engine.network's rule), up to the layer limit.
_NUMBERED = ("W", "b", "Z", "A", "P")
VALUE_NAMES: tuple[str, ...] = ("X", "Y", *(f"{p}{i}" for i in range(1, MAX_WEIGHTED + 1)
                                            for p in _NUMBERED), "F", "L")
TENSOR_NAMES: tuple[str, ...] = (*VALUE_NAMES,
                                 *(f"d{n}" for n in VALUE_NAMES if n not in ("Y", "L")))
# A walk's names beside a trace's: a batch's mean gradients, an optimizer's state.
WALK_NAMES: tuple[str, ...] = (*(f"mean_d{p}" for p in PARAM_SLOTS),
                               *(f"{s}_{p}" for s in "vms" for p in PARAM_SLOTS))
_WHAT = {"W": "the weights of weighted layer {i}", "b": "the biases of weighted layer {i}",
         "Z": "what weighted layer {i} writes (conv or dense)",
         "A": "the activation after weighted layer {i} (the output's σ or softmax when it is "
              "the last)",
         "P": "the pool after conv layer {i}"}
_DEPTH_TYPES: tuple[Any, ...] = (Scalar, Vector, Matrix, Tensor3, Tensor4)


def tensor_depths(name: str) -> tuple[int, ...]:
    """How deep the tensor called ``name`` can nest, over every network: X 2, Y and L 0, F
    1; W1 2 (a dense first layer) or 3 (a conv on X), any later W 2 or 4 (K, C, k, k); a
    bias 1; a P 3; a Z or A 0 (the last dense layer of a sigmoid output), 1 or 3."""
    for prefix in ("mean_", "v_", "m_", "s_"):  # a batch's mean, an optimizer's state
        name = name.removeprefix(prefix)
    base = name[1:] if name.startswith("d") else name
    fixed = {"X": (2,), "Y": (0,), "L": (0,), "F": (1,)}
    if base in fixed:
        return fixed[base]
    kind, number = base[0], int(base[1:])
    return {"W": (2, 3) if number == 1 else (2, 4), "b": (1,), "P": (3,),
            "Z": (0, 1, 3), "A": (0, 1, 3)}[kind]


def tensor_type(name: str) -> Any:
    """The JSON type of the tensor called ``name``: the union of the depths it can have
    (:func:`tensor_depths`); an output's dA may also be null, where it overflows float64."""
    options = [_DEPTH_TYPES[d] for d in tensor_depths(name)]
    if name.startswith("dA"):
        options.append(None)
    return functools.reduce(lambda a, b: a | b, options) if len(options) > 1 else options[0]


_STATE_WHAT = {"v": "momentum's velocity of {p}", "m": "Adam's first moment of {p}",
               "s": "Adam's second moment of {p}"}


def tensor_description(name: str) -> str:
    """``name``: what it is, and its shape in the seed's network (a scalar is a number)."""
    if name.startswith("mean_d"):
        return (f"{name}: the batch's mean of d{name[6:]} over its examples, what the update "
                f"uses; shaped as {name[6:]}.")
    if name[:2] in ("v_", "m_", "s_"):
        return (f"{name}: {_STATE_WHAT[name[0]].format(p=name[2:])} before this pass's update; "
                f"shaped as {name[2:]}.")
    base = name[1:] if name.startswith("d") and name != "dX" else name
    if base in _VALUES and base == name:
        what = _VALUES[name][1]
    elif name == "dX":
        what = "the saliency map dL/dX"
    elif name != base:
        what = f"dL/d{base}"
    else:
        what = _WHAT[name[0]].format(i=name[1:])
    shape = TENSOR_SHAPES.get(name)
    if shape is None:
        where = "shaped as the network says"
    else:
        seed = f"shape ({', '.join(shape)}{',' if len(shape) == 1 else ''})" if shape else \
            "a number"
        where = f"in the seed-shaped network (config): {seed}"
    note = ("; null where it overflows float64 (the output's, once |Z| > ~709)"
            if name.startswith("dA") else "")
    return f"{name}: {what}; {where}{note}."


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def tensors_model(model: str, doc: str, names: Iterable[str], required: Iterable[str]) -> Any:
    """A model with one field per tensor name, each typed by :func:`tensor_type`; the names
    not in ``required`` may be absent (never null)."""
    must = set(required)
    fields: dict[str, Any] = {}
    for name in names:
        description = tensor_description(name)
        fields[name] = (tensor_type(name), Field(description=description) if name in must
                        else Field(default=None, description=description,
                                   json_schema_extra=_no_default))
    return create_model(model, __doc__=doc, **fields)


_PARAMS = PARAM_SLOTS
_FORWARD = ("X", *(n for n in VALUE_NAMES if n[0] in "ZAP"), "F", "L")
ForwardTensors = tensors_model("ForwardTensors", (
    "The forward pass: X and every tensor the layers write; L only when y was given."),
    _FORWARD, ("X",))
BackwardTensors = tensors_model("BackwardTensors", "Every tensor and gradient of one example.",
                                TENSOR_NAMES, ("X", "Y", "W1", "b1", "L", "dX", "dW1", "db1"))
SessionTensors = tensors_model("SessionTensors", (
    "What the session's steps have computed: X, Y and the parameters (W1 b1 W2 b2 in the "
    "seed's network) and the optimizer's state always, every other tensor once its step is "
    "reached (for a batch, the selected example's)."),
    (*TENSOR_NAMES, *WALK_NAMES), ("X", "Y", "W1", "b1"))
RevealedTensors = tensors_model("RevealedTensors", "The tensors one step makes known, each "
                                "present only if this step reveals it.",
                                (*TENSOR_NAMES, *WALK_NAMES), ())
UpdatedParams = tensors_model("UpdatedParams", "New parameter values, each once its update "
                              "step is reached.", _PARAMS, ())


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


ParamsOut = tensors_model("ParamsOut", "The network's parameters (W1 b1 W2 b2 in the seed's).",
                          _PARAMS, ("W1", "b1"))


class LayerOut(BaseModel):
    """One layer as the network holds it: its type and every option, defaults filled."""

    model_config = ConfigDict(extra="allow")
    type: str


class NodeOut(BaseModel):
    """A layer placed in the network: what it reads and writes, its shapes, its label."""

    position: int = Field(description="Index in layers; the output is len(layers).")
    type: str
    label: str = Field(description="A short text for the pipeline: conv 3×3 ×1, ReLU, …")
    reads: str
    writes: str
    params: list[str]
    in_shape: list[int]
    out_shape: list[int]


class NetworkOut(BaseModel):
    input: dict[str, int]
    layers: list[LayerOut]
    output: str
    text: str = Field(description="The network in one line.")
    n_params: int
    nodes: list[NodeOut]
    params: list[str] = Field(description="The trainable parameters, in layer order.")
    shapes: dict[str, list[int]] = Field(description="Every tensor's shape by name.")


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
    config: ConfigOut | None = Field(description=(
        "The four sizes, for a seed-shaped network; null for any other."))
    network: NetworkOut
    params: ParamsOut
    tensors: ForwardTensors


class BackwardResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut | None = Field(description=(
        "The four sizes, for a seed-shaped network; null for any other."))
    network: NetworkOut
    params: ParamsOut
    tensors: BackwardTensors
    steps: list[StepOut]
    ranges: dict[str, RangeOut]
    winners: list[list[int]] | None = Field(description=(
        "For each P1 cell in (f, i, j) order, the A1 cell [f, r, c] that won its window; "
        "null where P1 is not a max-pool's."))
    marks: dict[str, dict[str, Any]] = Field(description=(
        "What each layer kind draws over a tensor: a pool's windows (and a max-pool's "
        "winners), the ReLU mask, a conv's padded border and stride."))


Grads = tensors_model("Grads", "The parameters' gradients.", [f"d{n}" for n in _PARAMS],
                      ["dW1", "db1"])


class UpdateResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut | None = Field(description=(
        "The four sizes, for a seed-shaped network; null for any other."))
    network: NetworkOut
    params_before: ParamsOut
    params: ParamsOut
    grads: Grads
    loss_before: float = Field(description="L on the example before the step, in nats.")
    loss_after: float = Field(description="L on the example with the new parameters.")
    lr: float = Field(description="η, the step size.")
    optimizer: dict[str, Any] | None = Field(default=None, description="Null for sgd.")
    state: dict[str, AnyTensor] | None = Field(default=None, description=(
        "The optimizer's state after the update, to pass to the next one (with t + 1)."))


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
    y: int = Field(description="Its label: 0 or 1, or a class.")
    a2: float = Field(description=(
        "The trained network's A2 on the example (softmax: the probability it gives the "
        "class it predicts)."))
    right: bool


class TrainResponse(BaseModel):
    model_config = SERVED_EXAMPLE
    config: ConfigOut | None = Field(description=(
        "The four sizes, for a seed-shaped network; null for any other."))
    network: NetworkOut
    dataset: str
    params: ParamsOut
    history: list[EpochOut]
    W1_history: list[AnyTensor] = Field(description="W1 before training and after each "
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


class OptionOut(BaseModel):
    default: float | None = Field(description="Null: it follows another option (a pool's "
                                              "stride is its size).")
    min: float
    max: float
    type: Literal["int", "float"]


class KindOut(BaseModel):
    type: str
    role: Literal["conv", "act", "pool", "flatten", "dense", "output"]
    title: str
    options: dict[str, OptionOut]


class Meta(BaseModel):
    model_config = SERVED_EXAMPLE
    defaults: ConfigOut
    default_network: NetworkOut = Field(description="The seed's network as a list of layers.")
    network_limits: dict[str, int] = Field(description=(
        "At most this many layers, the input's side from input_min to input_max, at most "
        "params parameters and tensor cells in the largest tensor of one example."))
    kinds: list[KindOut] = Field(description="Every layer kind and output, with its options.")
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
    optimizers: dict[str, dict[str, Any]] = Field(description=(
        "Every optimizer a walk, /api/update and /api/train take: title, description, "
        "options (default, min, max, max_excluded, text) and the state it keeps (v; m, s)."))
    max_batch: int = Field(description="The most examples one walk's pass averages over.")
    batch_cells: int = Field(description=(
        "The most cells a batch walk's traces may hold together (every tensor and gradient "
        "of every example): a larger network takes fewer examples."))
    switches: list[SwitchOut] = Field(description="The switches POST /api/compare takes.")


class SwitchOut(BaseModel):
    name: str
    title: str
    description: str


class SessionOut(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    config: ConfigOut | None = Field(description=(
        "The four sizes, for a seed-shaped network; null for any other."))
    network: NetworkOut
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
    marks: dict[str, dict[str, Any]] = Field(description=(
        "What each layer kind draws over the tensors shown: pool windows and winners, the "
        "ReLU mask, a conv's padded border and stride."))
    loss_history: list[float] = Field(description="L of each completed epoch, in nats.")
    update: UpdateOut | None = Field(description="At an update step, that update.")
    average: AverageOut | None = Field(default=None, description=(
        "At a batch's averaging step, every example's gradient and their mean."))
    batch: int = Field(default=1, description="The examples a pass averages over.")
    example: int = Field(default=0, description="The example whose tensors are shown.")
    optimizer: dict[str, Any] | None = Field(default=None, description=(
        "The optimizer and its options; null for sgd."))


class AverageOut(BaseModel):
    """A batch's averaging step: each example's gradient of a parameter and their mean."""

    name: str = Field(description="The per-example gradient averaged: dW1, db1 …")
    per_example: list[AnyTensor]
    mean: AnyTensor
    range: RangeOut = Field(description="One colour range for all of them.")


class UpdateOut(BaseModel):
    """One parameter's update: before, the change -lr dP and after, each in the
    parameter's shape."""

    name: str = Field(description="The parameter: W1, b1, W2, b2 … in layer order.")
    before: AnyTensor
    change: AnyTensor = Field(description="-lr times the gradient.")
    after: AnyTensor
    range: RangeOut = Field(description="One colour range for before, change and after.")
    loss_before: float | None = Field(default=None, description="At the last update step.")
    loss_after: float | None = Field(default=None, description=(
        "The loss on the example (a batch's mean loss) with every parameter updated (last "
        "update step)."))
    state: dict[str, AnyTensor] | None = Field(default=None, description=(
        "Momentum's or Adam's state of this parameter before and after the update "
        "(v_W1, v_W1_after; m_, s_ and the bias-corrected m_hat_, s_hat_ for Adam)."))
    t: int | None = Field(default=None, description="The update's count, from 1 (Adam's t).")


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
    marks: dict[str, dict[str, Any]] = Field(description=(
        "What each layer kind draws over the tensors known at this cursor."))
    update: UpdateOut | None = Field(description="At an update step, that update.")
    average: AverageOut | None = Field(default=None, description=(
        "At a batch's averaging step, every example's gradient and their mean."))
    batch: int = 1
    example: int = 0
    optimizer: dict[str, Any] | None = None


class CompareCreate(BaseModel):
    """Two walks to step in lockstep: ``a`` and ``b`` (each what POST /api/sessions takes;
    b's parameters, where not given, are a's wherever the two networks have a parameter of
    the same name and shape), or a ``base`` walk and the ``switch`` that makes the other."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"base": {"seed": 0, "lr": 0.1}, "switch": "pool"}]})

    a: SessionCreate | None = None
    b: SessionCreate | None = None
    base: SessionCreate | None = None
    switch: Literal[tuple(engine.compare.SWITCHES)] | None = Field(  # type: ignore[valid-type]
        default=None, description="A name from GET /api/meta's switches.")


class CompareOut(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    switch: str | None = Field(description="The switch that made b from a; null for two "
                                           "walks given by hand.")
    position: int = Field(description="The lockstep position: -1 before the first step.")
    positions: list[list[int | None]] = Field(description=(
        "Each position's pair of step indices (a's, b's); null where that walk has no such "
        "step (it waits on what it showed last)."))
    epoch: int
    a: SessionOut
    b: SessionOut
    differs: dict[str, list[list[int]] | Literal["shape"]] = Field(description=(
        "Per tensor known to both walks, the cells where they differ ([] where they agree; "
        "\"shape\" where the two are not alike); \"new W1\" … for updated parameters."))
    explain: str = Field(description="What the switch changed at this step, and why.")


class CompareMove(BaseModel):
    model_config = SERVED_EXAMPLE
    id: str
    switch: str | None
    position: int
    epoch: int
    moved: list[bool] = Field(description=(
        "Whether a, b took a step at this position (one waits where only the other has one)."))
    a: SessionMove
    b: SessionMove
    differs: dict[str, list[list[int]] | Literal["shape"]] = Field(description=(
        "The cells where what this position reveals differs between the walks; \"new W1\" "
        "… at an update."))
    explain: str


class CompareGoto(BaseModel):
    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"epoch": 0, "position": 3}]})

    epoch: Annotated[int, Field(strict=True, ge=0, le=SESSION_MAX_EPOCHS)] = 0
    position: Annotated[int, Field(strict=True, ge=-1, le=2 * MAX_STEPS)]


class SessionGoto(BaseModel):
    """Where to go: a step of a pass, reached by stepping (so exactly as next/prev would)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"epoch": 0, "cursor": 2}]})

    epoch: Annotated[int, Field(strict=True, ge=0, le=SESSION_MAX_EPOCHS)] = 0
    cursor: Annotated[int, Field(strict=True, ge=-1, le=MAX_STEPS - 1, description=(
        "-1 to the walk's last step index (len(steps) - 1)."))]


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
