"""convlens engine: small CNNs in NumPy, every tensor and gradient named as in the math.

The seed's network, the default:
X (n,n) -> Z1 = Conv(X, W1) + b1 -> A1 = ReLU(Z1) -> P1 = MaxPool(A1) -> F = Flatten(P1)
-> Z2 = F W2^T + b2 -> A2 = sigma(Z2) -> L = -Y log A2 - (1 - Y) log(1 - A2).
Any other is a list of layers (engine.network); each layer kind has one home in
engine.kinds. Every function below that takes a ``config`` takes a network too.

Public API::

    network({"input": {"size": n}, "layers": [...], "output": ...}) -> Network
    Config(input_size=6, kernel_size=3, filters=1, pool_size=2)   the seed-shaped shorthand
    init_params(config, seed) -> {"W1", "b1", "W2", "b2"}
    trace(x, y, params, config) -> {name: array} for every tensor and gradient, dX included
    sgd_step(params, grads, lr) -> new params
    train(xs, ys, params, config, *, lr, epochs, batch_size, seed) -> TrainResult
    gradcheck(x, y, params, config) -> GradCheck
    STEPS, known(cursor), step_records(trace, lr), step_value(trace, index, lr)
    provenance(trace, name, index)
    variant(seed, config), exercise(step, variant), grade(step, answer, truth, given),
    hint(step, level, cell, given, config=...), MISCONCEPTIONS, tolerance(truth)
    DATASETS, load_dataset(name, *, input_size, n, seed), sample_images(...)

Imports only NumPy and the standard library.
"""

from . import compare, optimizers, walk
from .config import LIMITS, PARAM_NAMES, Config
from .datasets import DATASETS, load_dataset, sample_images, split_dataset
from .kinds import KINDS, LAYER_KINDS, OUTPUT_KINDS
from .misconceptions import MISCONCEPTIONS, Misconception, Sizes
from .misconceptions import for_step as misconceptions_for
from .model import (
    LR_MAX,
    TRAIN_LIMITS,
    GradCheck,
    Trace,
    TrainResult,
    check_lr,
    check_params,
    check_x,
    check_y,
    gradcheck,
    init_params,
    loss,
    predict,
    sgd_step,
    trace,
    train,
)
from .network import (
    NETWORK_LIMITS,
    OUTPUTS,
    SEED,
    Network,
    NetworkError,
    Problem,
    as_network,
    network,
)
from .practice import (
    STEP_NAMES,
    Exercise,
    Grade,
    Hint,
    Variant,
    exercise,
    given_variant,
    grade,
    hint,
    tolerance,
    variant,
)
from .presets import DEFAULT_SEED, PRESETS, preset, seed_example
from .provenance import DETAILS as PROVENANCE_DETAILS
from .provenance import SOURCES as PROVENANCE_SOURCES
from .provenance import provenance, provenance_sources, winners
from .steps import (
    GIVEN,
    PHASES,
    STEPS,
    TITLES,
    Step,
    given,
    known,
    step_records,
    step_value,
    steps_for,
    titles,
)

__all__ = [
    "DATASETS",
    "DEFAULT_SEED",
    "GIVEN",
    "KINDS",
    "LAYER_KINDS",
    "LIMITS",
    "LR_MAX",
    "MISCONCEPTIONS",
    "NETWORK_LIMITS",
    "OUTPUTS",
    "OUTPUT_KINDS",
    "PARAM_NAMES",
    "PHASES",
    "PRESETS",
    "PROVENANCE_DETAILS",
    "PROVENANCE_SOURCES",
    "SEED",
    "STEPS",
    "STEP_NAMES",
    "TITLES",
    "TRAIN_LIMITS",
    "Config",
    "Exercise",
    "GradCheck",
    "Grade",
    "Hint",
    "Misconception",
    "Network",
    "NetworkError",
    "Problem",
    "Sizes",
    "Step",
    "Trace",
    "TrainResult",
    "Variant",
    "as_network",
    "check_lr",
    "check_params",
    "check_x",
    "check_y",
    "compare",
    "exercise",
    "given",
    "given_variant",
    "gradcheck",
    "grade",
    "hint",
    "init_params",
    "known",
    "load_dataset",
    "loss",
    "misconceptions_for",
    "network",
    "optimizers",
    "predict",
    "preset",
    "provenance",
    "provenance_sources",
    "sample_images",
    "seed_example",
    "sgd_step",
    "split_dataset",
    "step_records",
    "step_value",
    "steps_for",
    "titles",
    "tolerance",
    "trace",
    "train",
    "variant",
    "walk",
    "winners",
]
