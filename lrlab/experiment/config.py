"""The experiment config: typed schema, YAML loading, and one-line errors that point at the line.

This is the only module that reads a config file. Everything downstream receives an
:class:`ExperimentConfig`, never a raw dict.
"""

from __future__ import annotations

import difflib
import itertools
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

from lrlab.engines import DEFAULT_ENGINE, ENGINE_NAMES, stacking_engines
from lrlab.engines import engine as engine_spec
from lrlab.errors import ConfigError
from lrlab.experiment.mup import FAMILIES
from lrlab.experiment.objective import (
    LABEL_KINDS,
    METRICS_KNOWN,
    Objective,
    ObjectiveError,
    build_objective,
    labels_for_loss,
    loss_name,
    metric_name,
)
from lrlab.experiment.optimizers import OPTIMIZERS, Hyperparameter, OptimizerSpec
from lrlab.experiment.scaling import NO_SCALING, SCALE_RATES_CHOICES, scale_rate
from lrlab.experiment.space import MODEL_BASED, SAMPLERS, SECTIONS, Axis, Range, split_axes
from lrlab.formatting import brief, first_line

# A config is a few hundred lines; YAML's parser would take minutes over megabytes.
MAX_CONFIG_BYTES = 1024 * 1024

# Keras data sets that lrlab finds by name (and `lrlab data import` accepts).
NAMED_DATASETS = ("mnist", "fashion_mnist")
DATASETS = (*NAMED_DATASETS, "npz", "synthetic")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish",
               "softplus", "softsign", "leaky_relu", "relu6", "mish", "linear")


def _as_list(value: Any) -> Any:
    # A scalar is a one-value axis, so `momentum: 0.9` and `momentum: [0.9, 0.99]` both work.
    return value if isinstance(value, list) else [value]


def _distinct(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()  # a set, not a scan: an axis may hold many thousand values
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate value {value!r}; each value of an axis must differ")
        seen.add(value)
    return values


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _not_bool(value: Any) -> Any:
    # YAML's true/false would otherwise pass for 1 and 0.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


# A rate must survive the float32 the engines train in: 1e-320 would train at 0.
FLOAT32_TINY, FLOAT32_MAX = 1.1754943508222875e-38, 3.4028234663852886e38


def check_rate(value: float) -> float:
    """A learning rate the engines can train at, else ValueError saying which are."""
    if not FLOAT32_TINY <= value <= FLOAT32_MAX:  # NaN, infinity and 0 fail too
        raise ValueError(f"expected a learning rate float32 can hold, between "
                         f"{FLOAT32_TINY:.2g} and {FLOAT32_MAX:.2g}")
    return value


def _axis(item: Any) -> Any:
    """A swept axis of ``item``: a scalar or a non-empty list of distinct values."""
    return Annotated[list[item], BeforeValidator(_as_list), Field(min_length=1),
                     AfterValidator(_distinct)]


PositiveFloat = Annotated[float, BeforeValidator(_not_bool), Field(gt=0),
                          AfterValidator(_finite)]
Rate = Annotated[float, BeforeValidator(_not_bool), Field(gt=0), AfterValidator(_finite),
                 AfterValidator(check_rate)]
Count = Annotated[int, BeforeValidator(_not_bool), Field(ge=1)]
# Far beyond any real experiment, far below what would run for years unnoticed.
MAX_EPOCHS = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# `module:function` naming a user's callable: a module importable by name, or a file (a
# relative one is taken beside the config).
REFERENCE_PATTERN = r"^[^:\s][^:]*:[A-Za-z_][A-Za-z0-9_]*$"
Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN)]
# What a user's loader or factory receives as keyword arguments.
Arguments = dict[str, Any]
Fraction = Annotated[float, BeforeValidator(_not_bool), Field(gt=0, lt=1)]


class DataConfig(_Strict):
    dataset: Literal["mnist", "fashion_mnist", "npz", "loader", "synthetic"] = "mnist"
    path: Path | None = None
    # A function of the user's that returns the arrays (dataset: loader, implied by it).
    loader: Reference | None = None
    args: Arguments = {}
    # Float inputs are taken as they are unless this asks for zero mean and unit variance
    # (per feature, or per channel of images, from the training split's statistics).
    standardize: bool = False
    # The number of classes K (labels 0..K-1); by default the largest label plus one.
    classes: Annotated[int, BeforeValidator(_not_bool), Field(ge=2)] | None = None
    # Images held out of the training set: a count, or a share of it.
    validation: Annotated[int, BeforeValidator(_not_bool), Field(ge=0)] | Fraction = 10_000
    train_limit: Annotated[int, Field(ge=1)] | None = None
    test_limit: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults_of_the_source(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("loader") is not None:
            data.setdefault("dataset", "loader")
        # A user's own set is rarely MNIST-sized: hold out a tenth, as Keras's
        # validation_split=0.1 would, unless told.
        if data.get("dataset") in ("npz", "loader"):
            data.setdefault("validation", 0.1)
        return data

    @model_validator(mode="after")
    def _source_is_complete(self) -> DataConfig:
        if self.dataset == "npz" and self.path is None:
            raise ValueError("data.path: missing; dataset npz needs the .npz file to load")
        if self.dataset == "loader" and self.loader is None:
            raise ValueError("data.loader: missing; dataset loader needs 'module:function'")
        if self.loader is not None and self.dataset != "loader":
            raise ValueError(f"data.loader: only for dataset loader, not {self.dataset}")
        if self.args and self.loader is None:
            raise ValueError("data.args: passed to data.loader, which is not set")
        return self

    def label(self) -> str:
        """What a trial's ``data`` parameter says: the source and how it is cut."""
        source = {"npz": f"npz({self.path.name if self.path else ''})",
                  "loader": f"loader({_reference_label(self.loader, self.args)})",
                  }.get(self.dataset, self.dataset)
        cuts = [f"{k}={getattr(self, k):g}" for k in ("train_limit", "test_limit", "classes")
                if getattr(self, k) is not None]
        cuts.append(f"validation={self.validation:g}")
        if self.standardize:
            cuts.append("standardized")
        return f"{source}[{','.join(cuts)}]"


def _reference_label(reference: str | None, args: dict[str, Any]) -> str:
    """``my_model:build`` (a file's stem, not its path, so that a moved project keeps its
    trial ids), then the arguments."""
    module, _, name = (reference or "").rpartition(":")
    stem = Path(module).stem if module.endswith(".py") else module
    shown = ",".join(f"{k}={args[k]}" for k in sorted(args))
    return f"{stem}:{name}" + (f";{shown}" if shown else "")


Dropout = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, lt=1)]
# The keys each kind of model reads; a key of another kind is a mistake, not a no-op.
MODEL_KEYS = {"dense": ("hidden", "activation", "dropout", "parametrization", "base_hidden",
                        "output_multiplier"),
              "conv": ("filters", "kernel_size", "pool_size", "hidden", "activation", "dropout",
                       "parametrization", "base_filters", "base_hidden", "output_multiplier"),
              "factory": ("factory", "args")}


class ModelConfig(_Strict):
    """The network: the built-in ``dense`` one (the classic MNIST network), the built-in
    ``conv`` one (Keras's simple MNIST convnet), or a ``factory`` of the user's."""

    kind: Literal["dense", "conv", "factory"] = "dense"
    hidden: Annotated[list[Annotated[int, Field(ge=1)]], BeforeValidator(_as_list)] = [512]
    activation: Literal[ACTIVATIONS] = "relu"  # type: ignore[valid-type]
    # One rate for every dropout layer, or one per layer: after each hidden layer (dense);
    # after the flattening and after each hidden layer (conv). 0: no dropout layer.
    dropout: Annotated[list[Dropout], BeforeValidator(_as_list), Field(min_length=1)] = [0.0]
    filters: Annotated[list[Annotated[int, Field(ge=1)]], BeforeValidator(_as_list),
                       Field(min_length=1)] = [32, 64]
    kernel_size: Annotated[int, BeforeValidator(_not_bool), Field(ge=1)] = 3
    pool_size: Annotated[int, BeforeValidator(_not_bool), Field(ge=1)] = 2
    factory: Reference | None = None
    args: Arguments = {}
    # µP (lrlab.experiment.mup): the dense network's initialisation, readout multiplier and
    # per-layer rates set so that the best rate holds as the hidden widths grow from
    # ``base_hidden`` (default: the network's own widths); standard: Keras's defaults.
    parametrization: Literal["standard", "mup"] = "standard"
    base_hidden: Annotated[list[Annotated[int, Field(ge=1)]], BeforeValidator(_as_list)
                           ] | None = None
    base_filters: Annotated[list[Annotated[int, Field(ge=1)]], BeforeValidator(_as_list)
                            ] | None = None  # conv: the convolutions' base channels
    output_multiplier: Annotated[float, Field(gt=0), AfterValidator(_finite)] = 1.0

    @model_validator(mode="before")
    @classmethod
    def _defaults_of_the_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("factory") is not None:
            data.setdefault("kind", "factory")
        if data.get("kind") == "conv":  # Keras's simple MNIST convnet
            data.setdefault("hidden", [])
            data.setdefault("dropout", 0.5)
        return data

    @model_validator(mode="after")
    def _keys_fit_the_kind(self) -> ModelConfig:
        stray = sorted(set(self.model_fields_set) - {"kind", *MODEL_KEYS[self.kind]})
        if stray:
            kinds = [k for k, keys in MODEL_KEYS.items() if stray[0] in keys]
            raise ValueError(f"model.{stray[0]}: a key of kind {' or '.join(kinds)}, not of "
                             f"kind {self.kind}")
        if self.kind == "factory" and self.factory is None:
            raise ValueError("model.factory: missing; kind factory needs 'module:function'")
        if self.parametrization == "standard" and (
                self.base_hidden is not None or self.base_filters is not None
                or self.output_multiplier != 1.0):
            raise ValueError("model.base_hidden, base_filters and output_multiplier are µP's: "
                             "set model.parametrization: mup")
        if self.base_hidden is not None and len(self.base_hidden) != len(self.hidden):
            raise ValueError(f"model.base_hidden: {self.base_hidden} for "
                             f"{len(self.hidden)} hidden layer(s); expected one base width "
                             f"per layer")
        if self.base_filters is not None and len(self.base_filters) != len(self.filters):
            raise ValueError(f"model.base_filters: {self.base_filters} for "
                             f"{len(self.filters)} convolution(s); expected one base width "
                             f"per convolution")
        if self.parametrization == "mup" and self.kind == "dense" and not self.hidden:
            raise ValueError("model.parametrization: mup needs a hidden layer (a width to "
                             "grow)")
        positions = self.dropout_positions()
        if len(self.dropout) not in (1, positions):
            raise ValueError(f"model.dropout: {len(self.dropout)} rates for {positions} "
                             f"dropout layer(s); expected one rate, or one per layer")
        return self

    def dropout_positions(self) -> int:
        """Where dropout layers may go: after each hidden layer, and (conv) after the
        flattening."""
        return len(self.hidden) + (1 if self.kind == "conv" else 0)

    def dropout_rates(self) -> list[float]:
        """One rate per position (0: none there)."""
        positions = self.dropout_positions()
        return list(self.dropout) if len(self.dropout) == positions else (
            [self.dropout[0]] * positions)

    def applicable(self) -> dict[str, Any]:
        """The keys this kind of model reads, with their values (what sweep.yaml keeps)."""
        return {"kind": self.kind, **{k: getattr(self, k) for k in MODEL_KEYS[self.kind]}}

    def label(self) -> str:
        """What a trial's ``model`` parameter says, e.g. ``dense(512)``,
        ``dense(512,512;dropout=0.2)``, ``conv(32,64;dropout=0.5)``."""
        if self.kind == "factory":
            return f"factory({_reference_label(self.factory, self.args)})"
        sizes = [*self.filters, "|", *self.hidden] if self.kind == "conv" else self.hidden
        parts = [",".join(str(s) for s in sizes).replace(",|,", "|").strip("|,")]
        if self.kind == "conv":
            defaults = ModelConfig(kind="conv")
            parts += [f"{k}={getattr(self, k)}" for k in ("kernel_size", "pool_size")
                      if getattr(self, k) != getattr(defaults, k)]
        if self.activation != "relu":
            parts.append(f"activation={self.activation}")
        if any(self.dropout):
            parts.append(f"dropout={','.join(f'{d:g}' for d in self.dropout)}")
        if self.parametrization == "mup":  # recorded in every trial id and params.json
            base = ",".join(str(b) for b in self.base())
            if self.kind == "conv":
                base = ",".join(str(b) for b in self.base_of_filters()) + f"|{base}"
            parts.append(f"mup={base.strip('|')}" + (f"x{self.output_multiplier:g}"
                                                     if self.output_multiplier != 1 else ""))
        return f"{self.kind}({';'.join(parts)})"

    def base(self) -> list[int]:
        """µP's base widths: ``base_hidden``, else the network's own."""
        return list(self.base_hidden if self.base_hidden is not None else self.hidden)

    def base_of_filters(self) -> list[int]:
        """µP's base channels of the convolutions: ``base_filters``, else their own."""
        return list(self.base_filters if self.base_filters is not None else self.filters)


MetricEntry = Annotated[str, Field(min_length=1)] | dict[str, Any]


class ObjectiveConfig(_Strict):
    """What trials are trained on and judged by (lrlab.experiment.objective): a Keras
    loss by name (or ``module:function``) with its arguments, the metrics recorded every
    epoch, the column the verdict reads (its direction inferred from the name unless
    ``direction`` says), and the kind of labels (auto: read from the loss and the data).
    Left out, it is lrlab's default: the labels' usual loss, accuracy (a mean absolute
    error for regression), the verdict on the first metric's validation value."""

    loss: Annotated[str, Field(min_length=1)] | None = None
    loss_args: Arguments = {}
    metrics: Annotated[list[MetricEntry], BeforeValidator(_as_list)] | None = None
    verdict: Annotated[str, Field(min_length=1)] | None = None
    direction: Literal["max", "min"] | None = None
    labels: Literal[("auto", *LABEL_KINDS)] = "auto"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _names_are_known(self) -> ObjectiveConfig:
        try:
            if self.loss is not None:
                loss_name(self.loss)
            for entry in self.metrics or []:
                name = entry if isinstance(entry, str) else entry.get("name")
                if not isinstance(name, str):
                    raise ObjectiveError(f"a metric given as a mapping needs a name, got "
                                         f"{brief(entry)}")
                metric_name(name)
            kinds = self._kinds()
            if kinds or self.metrics is not None or self.verdict is not None:
                self.resolve(kinds[0] if kinds else _any_fitting(self.metrics))
        except ObjectiveError as exc:
            raise ValueError(str(exc)) from None
        return self

    def _kinds(self) -> list[str]:
        """The kinds of labels the config allows, as far as it says ([]: any)."""
        if self.labels != "auto":
            return [self.labels]
        takes = labels_for_loss(loss_name(self.loss)) if self.loss is not None else None
        return list(takes or ())

    def resolve(self, labels: str) -> Objective:
        """The objective for labels of this kind (raises ObjectiveError)."""
        return build_objective(loss=self.loss, loss_args=self.loss_args, metrics=self.metrics,
                               verdict=self.verdict, direction=self.direction, labels=labels)

    @property
    def is_default(self) -> bool:
        return self == ObjectiveConfig()

    def possible_epoch_columns(self) -> tuple[str, ...]:
        """The per-epoch columns the objective may record, whatever the labels turn out
        to be (each kind's own defaults, where the config leaves metrics out)."""
        columns: dict[str, None] = {}
        for kind in self._kinds() or LABEL_KINDS:
            try:
                columns.update(dict.fromkeys(self.resolve(kind).epoch_columns()))
            except ObjectiveError:
                continue
        return tuple(columns)


def _any_fitting(metrics: list[Any] | None) -> str:
    """A kind of labels every listed metric applies to, to check the names before the
    data is read (integer classes when they all do)."""
    kinds = list(LABEL_KINDS)
    for entry in metrics or []:
        name = metric_name(entry if isinstance(entry, str) else entry["name"])
        spec = METRICS_KNOWN.get(name)
        if spec is not None:
            kinds = [k for k in kinds if k in spec.labels] or kinds
    return kinds[0]


class EarlyStoppingConfig(_Strict):
    """End a trial once ``metric`` has not improved on its best by more than ``min_delta``
    for ``patience`` epochs in a row. Only epochs are saved: a stopped trial is read at its
    best epoch, as any other, so stopping never lends a trial a value it did not reach."""

    patience: Count = 2
    min_delta: Annotated[float, BeforeValidator(_not_bool), Field(ge=0),
                         AfterValidator(_finite)] = 0.0
    # A column of the objective's (loss, val_loss, a metric or val_metric); unset, the
    # verdict's column (val_accuracy by default).
    metric: Annotated[str, Field(min_length=1)] = "val_accuracy"


class SharpnessConfig(_Strict):
    """Measure the loss surface's sharpness (the Hessian's largest eigenvalue, and the
    preconditioned one for RMSprop and Adam: lrlab.training.curvature) at each trial's
    initial weights and every ``every`` epochs (0: at the start only), on the first
    ``rows`` training rows, with at most ``max_products`` Hessian-vector products a
    measurement."""

    every: Annotated[int, BeforeValidator(_not_bool), Field(ge=0)] = 1
    rows: Count = 2048
    max_products: Annotated[int, BeforeValidator(_not_bool), Field(ge=10, le=10_000)] = 200


class NoiseConfig(_Strict):
    """Measure the gradient noise scale B_simple (lrlab.training.noise) at each trial's
    initial weights and every ``every`` epochs (0: at the start only), on ``rows``
    training rows drawn by the seed, cut into large batches of ``large`` and those into
    small batches of ``small``: ``rows / small`` gradients a measurement."""

    every: Annotated[int, BeforeValidator(_not_bool), Field(ge=0)] = 1
    rows: Count = 4096
    small: Count = 32
    large: Count = 1024

    @model_validator(mode="after")
    def _batches_nest(self) -> NoiseConfig:
        if self.large <= self.small or self.large % self.small:
            raise ValueError(f"large: {self.large} must be a multiple of small: "
                             f"{self.small}, larger than it")
        if self.rows < self.large:
            raise ValueError(f"rows: {self.rows} must be at least large: {self.large}")
        return self


class TrainingConfig(_Strict):
    epochs: Annotated[Count, Field(le=MAX_EPOCHS)] = 3
    batch_size: Count = 32
    # A trial has diverged once its epoch loss exceeds this multiple of the initial loss.
    diverge_factor: Annotated[float, Field(gt=1), AfterValidator(_finite)] = 4.0
    # What trains: Keras on TensorFlow, or Keras on JAX (which can stack trials); the
    # engines and what each can do are lrlab.engines.ENGINES.
    engine: Literal[ENGINE_NAMES] = DEFAULT_ENGINE  # type: ignore[valid-type]
    # Matrix products in full float32, or TF32 on NVIDIA GPUs (faster, ~3e-4 relative
    # error); the jax engine only (TensorFlow's own default applies on its engine).
    precision: Literal["float32", "tf32"] = "float32"
    # The most trials of one optimizer setting and seed trained as one stack (jax engine):
    # auto stacks on accelerators (up to 256 a stack) and not on a CPU; 1 never stacks.
    stack: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    # Stop a trial whose metric no longer improves (None: every trial trains every epoch).
    early_stopping: EarlyStoppingConfig | None = None
    # The curvature of the loss surface, measured as trials train (None: not measured).
    sharpness: SharpnessConfig | None = None
    # The gradient noise scale, measured as trials train (None: not measured).
    noise: NoiseConfig | None = None

    @model_validator(mode="after")
    def _stacking_needs_jax(self) -> TrainingConfig:
        if not engine_spec(self.engine).stacks:
            if self.stack not in ("auto", 1):
                raise ValueError(f"stack: {self.stack} needs engine: {stacking_engines()} "
                                 f"(the {self.engine} engine trains one trial at a time)")
            if self.precision != "float32":
                raise ValueError(f"precision: {self.precision} needs engine: "
                                 f"{stacking_engines()} (on the {self.engine} engine "
                                 f"{engine_spec(self.engine).title}'s own "
                                 f"default applies)")
        return self

    @property
    def stacks(self) -> bool:
        """Whether trials may train in stacks (the engine still decides how many)."""
        return engine_spec(self.engine).stacks and self.stack != 1


class LogSpace(_Strict):
    """``num`` learning rates spaced evenly on a log scale from ``start`` to ``stop``."""

    start: Rate
    stop: Rate
    num: Count

    def values(self) -> list[float]:
        if self.num == 1:
            return [self.start]
        lo, hi = math.log10(self.start), math.log10(self.stop)
        return [10 ** (lo + (hi - lo) * i / (self.num - 1)) for i in range(self.num)]


class ScheduleConfig(_Strict):
    """How the learning rate moves during a trial; the trial's rate is its peak.

    ``step`` multiplies the rate by ``decay_rate`` every ``decay_epochs``; ``exponential``
    does the same smoothly; ``cosine`` falls along a half cosine to ``final_fraction`` of the
    rate at the end of the run. Any of them may start with a linear warm-up from 0 over
    ``warmup_epochs``.
    """

    type: Literal["constant", "step", "exponential", "cosine"] = "constant"
    decay_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    decay_epochs: Annotated[float, Field(gt=0), AfterValidator(_finite)] = 1.0
    final_fraction: Annotated[float, Field(ge=0, le=1)] = 0.0
    warmup_epochs: Annotated[float, Field(ge=0), AfterValidator(_finite)] = 0.0

    @property
    def is_constant(self) -> bool:
        return self.type == "constant" and self.warmup_epochs == 0

    def label(self) -> str:
        """Compact and stable, e.g. ``cosine(final_fraction=0.01,warmup_epochs=1)``."""
        defaults = ScheduleConfig(type=self.type)
        relevant = {"step": ("decay_rate", "decay_epochs"),
                    "exponential": ("decay_rate", "decay_epochs"),
                    "cosine": ("final_fraction",), "constant": ()}[self.type]
        parts = [f"{k}={getattr(self, k):g}" for k in (*relevant, "warmup_epochs")
                 if k == "warmup_epochs" and self.warmup_epochs
                 or k != "warmup_epochs" and getattr(self, k) != getattr(defaults, k)]
        return f"{self.type}({','.join(parts)})" if parts else self.type


def _schedule_shorthand(value: Any) -> Any:
    # `schedule: cosine` is {type: cosine}; a list may mix both forms.
    items = value if isinstance(value, list) else [value]
    return [{"type": v} if isinstance(v, str) else v for v in items]


ScheduleAxis = Annotated[list[ScheduleConfig], BeforeValidator(_schedule_shorthand),
                         Field(min_length=1), AfterValidator(_distinct)]


class RateRange(Range):
    """Learning rates drawn between ``low`` and ``high``, on a log scale unless told."""

    log: bool = True

    @model_validator(mode="after")
    def _rates(self) -> RateRange:
        if self.integer:
            raise ValueError("integer: learning rates are not integers")
        for value in (self.low, self.high):
            check_rate(value)
        return self


def _range_or_list(value: Any) -> str:
    """Which branch a value of an axis is: ``{low, high}`` sampled, ``{start, stop, num}``
    a log-spaced grid, anything else a list (or one value)."""
    if isinstance(value, Range) or isinstance(value, dict) and ("low" in value
                                                                 or "high" in value):
        return "sampled"
    return "range" if isinstance(value, (dict, LogSpace)) else "list"


# Keys of an optimizer entry that are not the optimizer's hyperparameters.
ENTRY_KEYS = ("name", "learning_rates", "schedule", "scale_rates", "base_batch_size")


class OptimizerConfig(_Strict):
    """Base of the per-optimizer models generated from
    :data:`lrlab.experiment.optimizers.OPTIMIZERS`."""

    name: str
    # A list (or one rate), a log-spaced grid, or a range to sample; the tag keeps errors
    # to the branch meant.
    learning_rates: Annotated[
        Union[Annotated[_axis(Rate), Tag("list")],  # type: ignore[valid-type]
              Annotated[LogSpace, Tag("range")],
              Annotated[RateRange, Tag("sampled")]],
        Discriminator(_range_or_list),
    ]

    schedule: ScheduleAxis = [ScheduleConfig()]
    # The rates are given at base_batch_size (default: the sweep's smallest batch size)
    # and follow the batch size by this rule: linear (Goyal et al. 2017, for SGD), sqrt
    # (argued for adaptive methods), or none.
    scale_rates: Literal[SCALE_RATES_CHOICES] = NO_SCALING  # type: ignore[valid-type]
    base_batch_size: Count | None = None

    @property
    def rate_range(self) -> RateRange | None:
        lr = self.learning_rates
        return lr if isinstance(lr, RateRange) else None

    def rates(self) -> list[float]:
        """The listed rates ([] when they are sampled)."""
        lr = self.learning_rates
        if isinstance(lr, RateRange):
            return []
        return lr.values() if isinstance(lr, LogSpace) else list(lr)

    def hyperparameter_axes(self) -> dict[str, list[Any]]:
        """Every listed hyperparameter but the learning rate, as name -> values, unset and
        sampled ones left out."""
        return {key: value for key, value in self
                if key not in ENTRY_KEYS and value is not None and not isinstance(value, Range)}

    def sampled(self) -> dict[str, Range]:
        """The sampled settings of the entry, the rate first: name -> range."""
        ranges = {"learning_rate": self.rate_range} if self.rate_range else {}
        return {**ranges, **{key: value for key, value in self
                             if key not in ENTRY_KEYS and isinstance(value, Range)}}

    def scaled(self, rate: float, batch_size: int, base: int) -> float:
        """``rate`` (given at batch size ``base``) at ``batch_size``, by ``scale_rates``."""
        return scale_rate(self.scale_rates, rate, batch_size, self.base_batch_size or base)


def _hyperparameter_field(h: Hyperparameter) -> tuple[Any, Any]:
    if h.kind == "bool":
        item: Any = bool
    else:
        def check(value: float, h: Hyperparameter = h) -> float:
            if not (math.isfinite(value) and h.accepts(value)):
                raise ValueError(f"expected {h.describe()}")
            return value

        item = Annotated[float, BeforeValidator(_not_bool), AfterValidator(check)]
    default = None if h.default is None else [h.default]
    if h.kind == "bool":
        return (_axis(item) | None, default)  # type: ignore[operator]

    def check_range(value: Range, h: Hyperparameter = h) -> Range:
        if not (h.accepts(value.low) and h.accepts(value.high)):
            raise ValueError(f"a range within {h.describe()}")
        return value

    sampled = Annotated[Range, AfterValidator(check_range)]
    return (Annotated[Union[Annotated[_axis(item), Tag("list")],  # type: ignore[valid-type]
                            Annotated[sampled, Tag("sampled")]],
                      Discriminator(lambda v: "sampled" if _range_or_list(v) == "sampled"
                                    else "list")] | None, default)


def _optimizer_model(spec: OptimizerSpec) -> type[OptimizerConfig]:
    fields = {h.name: _hyperparameter_field(h) for h in spec.all_hyperparameters}
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{spec.keras_class}Config",
        __base__=OptimizerConfig,
        name=(Literal[spec.name], ...),
        **fields,
    )


OPTIMIZER_MODELS: dict[str, type[OptimizerConfig]] = {
    name: _optimizer_model(spec) for name, spec in OPTIMIZERS.items()
}
AnyOptimizer = Annotated[Union[tuple(OPTIMIZER_MODELS.values())], Field(discriminator="name")]


class HalvingConfig(_Strict):
    """Successive halving across trials (lrlab.analysis.halving): every rate trains to
    ``min_epochs``, then each rung ``reduction`` times longer, and a rung drops the rates
    another beats there, paired by seed, at level ``alpha`` (with one seed: all but the
    best 1/reduction, by rank)."""

    min_epochs: Count = 1
    reduction: Annotated[int, BeforeValidator(_not_bool), Field(ge=2)] = 3
    alpha: Annotated[float, BeforeValidator(_not_bool), Field(gt=0, lt=1)] = 0.05
    # ASHA: judge a rate at a rung as soon as all its seeds are there, against the rates
    # judged there before it, instead of waiting for the whole rung.
    asynchronous: bool = False


class SweepConfig(_Strict):
    # Seeds seed NumPy and Keras, which take 32-bit ones.
    seeds: _axis(Annotated[int, BeforeValidator(_not_bool), Field(ge=0, lt=2**32)]  # type: ignore[valid-type]
                 ) = [0]
    optimizers: Annotated[list[AnyOptimizer], Field(min_length=1)]  # type: ignore[valid-type]
    # How settings given as ranges ({low, high}) are drawn: grid (no ranges: every
    # combination of the listed values), random, scrambled sobol / halton sequences, or
    # tpe (Optuna's, each point chosen from the results before it); `points` points (a
    # power of two keeps Sobol's balance), the same for every seed.
    sampler: Literal[SAMPLERS] = "grid"  # type: ignore[valid-type]
    points: Count | None = None
    sampler_seed: Annotated[int, BeforeValidator(_not_bool), Field(ge=0, lt=2**32)] = 0
    # Stop hopeless rates early, across trials (None: every trial trains every epoch).
    halving: HalvingConfig | None = None

    @property
    def sampled(self) -> bool:
        return self.sampler != "grid"

    @property
    def model_based(self) -> bool:
        """Whether each point is chosen from the results before it (lrlab.run.sampled)."""
        return self.sampler in MODEL_BASED


# Sampled points when a config has ranges and does not say how many.
DEFAULT_POINTS = 16


class ExperimentConfig(_Strict):
    name: Annotated[str, Field(min_length=1)]
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    sweep: SweepConfig
    # The settings of data, model and training that take several values (see
    # lrlab.experiment.space); the sections above hold each one's first value.
    axes: Annotated[tuple[Axis, ...], Field(exclude=True)] = ()

    @model_validator(mode="before")
    @classmethod
    def _split_axes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "axes" in data and not isinstance(data["axes"], tuple):
            raise ValueError("axes: unknown key; a setting becomes an axis where it is set: "
                             "a list, {values: [...]} or {low, high}")
        data, axes = split_axes(data)
        sweep = data.get("sweep")
        if isinstance(sweep, dict) and "sampler" not in sweep and (
                any(a.sampled for a in axes) or _has_ranges(sweep)):
            data["sweep"] = {**sweep, "sampler": "sobol"}  # ranges, and no word on how
        return {**data, "axes": axes}

    @model_validator(mode="before")
    @classmethod
    def _stopping_follows_verdict(cls, data: Any) -> Any:
        """Early stopping watches the verdict's column unless told otherwise."""
        objective, training = (data.get(k) if isinstance(data, dict) else None
                               for k in ("objective", "training"))
        stopping = training.get("early_stopping") if isinstance(training, dict) else None
        if (isinstance(objective, dict) and isinstance(objective.get("verdict"), str)
                and isinstance(stopping, dict) and "metric" not in stopping):
            training = {**training, "early_stopping": {**stopping,
                                                        "metric": objective["verdict"]}}
            return {**data, "training": training}
        return data

    @model_validator(mode="after")
    def _stopping_is_per_epoch(self) -> ExperimentConfig:
        stopping = self.training.early_stopping
        if stopping is None:
            return self
        if stopping.metric.startswith("test_"):
            raise ValueError(f"training.early_stopping.metric: {stopping.metric} is measured "
                             f"once, at the end; expected a per-epoch column (loss, val_loss, "
                             f"a metric or val_ and a metric)")
        columns = self.objective.possible_epoch_columns()
        if stopping.metric not in columns:
            raise ValueError(f"training.early_stopping.metric: {stopping.metric} is not "
                             f"recorded every epoch; expected one of {', '.join(columns)}")
        return self

    @model_validator(mode="after")
    def _mup_knows_the_optimizers(self) -> ExperimentConfig:
        if self.model.parametrization == "mup":
            unknown = [e.name for e in self.sweep.optimizers if e.name.lower() not in FAMILIES]
            if unknown:
                raise ValueError(f"sweep.optimizers: {unknown[0]} has no µP rule "
                                 f"(model.parametrization: mup); expected one of "
                                 f"{', '.join(FAMILIES)}")
        return self

    @model_validator(mode="after")
    def _halving_has_a_rung(self) -> ExperimentConfig:
        halving = self.sweep.halving
        epochs = [self.training.epochs, *next(
            (a.values for a in self.axes if a.path == ("training", "epochs")), [])]
        if halving is not None and halving.min_epochs >= min(int(e) for e in epochs):
            raise ValueError(f"sweep.halving.min_epochs: {halving.min_epochs} leaves no rung "
                             f"before the last epoch ({min(int(e) for e in epochs)}); "
                             f"expected fewer epochs than training.epochs")
        return self

    @model_validator(mode="after")
    def _axes_fit(self) -> ExperimentConfig:
        for axis in self.axes:
            ends = (axis.range.at(0.0), axis.range.at(1.0)) if axis.range else axis.values
            for value in ends:
                self._check_point({axis.path: axis.setting(value)}, axis.name, value)
        grids = [a for a in self.axes if not a.sampled]
        if math.prod(len(a.values) for a in grids) <= MAX_CHECKED_POINTS:
            for values in itertools.product(*(a.values for a in grids)):
                point = {a.path: a.setting(v) for a, v in zip(grids, values, strict=True)}
                self._check_point(point, " and ".join(a.name for a in grids), values)
        ranges = [a.name for a in self.axes if a.sampled] + [
            f"sweep.optimizers[{i}].{'learning_rates' if key == 'learning_rate' else key}"
            for i, entry in enumerate(self.sweep.optimizers) for key in entry.sampled()]
        if ranges and not self.sweep.sampled:
            raise ValueError(f"sweep.sampler: grid cannot draw {ranges[0]}'s range; expected "
                             f"random, sobol, halton or tpe, or a list of values instead")
        if self.sweep.sampled and not ranges:
            raise ValueError(f"sweep.sampler: {self.sweep.sampler} draws from ranges "
                             f"({{low, high}}), and no setting is one; expected grid")
        if self.sweep.points is not None and not self.sweep.sampled:
            raise ValueError("sweep.points: the number of sampled points; the sampler is "
                             "grid (expected a range, {low, high}, to sample)")
        if self.sweep.model_based:
            # One study per optimizer entry, in one experiment: its points are the entry's.
            if self.axes:
                raise ValueError(f"sweep.sampler: {self.sweep.sampler} samples the "
                                 f"optimizers' settings in one experiment; {self.axes[0].name} "
                                 f"takes several values: expected sobol, random or halton "
                                 f"for it, or one value")
            if self.sweep.halving is not None:
                raise ValueError(f"sweep.halving: not with sampler {self.sweep.sampler} (each "
                                 f"point is a setting of its own: a rung has one rate to "
                                 f"compare); expected a grid of rates")
        return self

    def _check_point(self, point: dict[tuple[str, ...], Any], name: str, value: Any) -> None:
        try:
            self.at(point)
        except ValidationError as exc:
            error = exc.errors()[0]
            message = str(error["msg"]).removeprefix("Value error, ")
            raise ValueError(f"{name.split(' and ')[0]}: {message} (got {brief(value)}"
                             f"{' for ' + name if ' and ' in name else ''})") from None

    @property
    def points(self) -> int:
        """How many points the sampler draws (1 for a grid)."""
        return (self.sweep.points or DEFAULT_POINTS) if self.sweep.sampled else 1

    def first_point(self) -> ExperimentConfig:
        """The config at each axis's first value (a range's low end), without axes."""
        sweep = self.sweep
        if sweep.sampled and not any(entry.sampled() for entry in sweep.optimizers):
            sweep = sweep.model_copy(update={"sampler": "grid", "points": None})
        return self.model_copy(update={"axes": (), "sweep": sweep})

    def at(self, settings: dict[tuple[str, ...], Any]) -> ExperimentConfig:
        """The config with each setting at ``path`` set to its value, validated, without
        axes: one point of the experiment's space."""
        sections: dict[str, dict[str, Any]] = {}
        for path, value in settings.items():
            section = sections.setdefault(path[0], getattr(self, path[0]).model_dump(
                exclude_unset=True))
            if len(path) == 3:  # an argument of the user's function
                section[path[1]] = {**section.get(path[1], {}), path[2]: value}
            else:
                section[path[1]] = value
        updated = {name: type(getattr(self, name)).model_validate(values)
                   for name, values in sections.items()}
        return self.model_copy(update={**updated, "axes": ()})

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in, as plain YAML-able data.

        Optimizer options that are off (Keras default ``None``) and a constant schedule are
        left out, to keep it short (and equal to what earlier versions wrote, for --resume).
        """
        data = self.model_dump(mode="json")
        data["model"] = self.model.applicable()
        for key, unset in (("loader", None), ("args", {}), ("classes", None),
                           ("standardize", False)):
            if data["data"][key] == unset:  # as sweeps written before these keys existed
                del data["data"][key]
        if self.objective.is_default:
            del data["objective"]
        else:
            data["objective"] = {k: v for k, v in data["objective"].items()
                                 if v not in (None, {}, "auto")}
        constant = [ScheduleConfig().model_dump(mode="json")]
        data["sweep"]["optimizers"] = [
            {k: v for k, v in entry.items()
             if v is not None and not (k == "schedule" and v == constant)
             and not (k == "scale_rates" and v == "none")}
            for entry in data["sweep"]["optimizers"]
        ]
        if self.sweep.sampled:
            data["sweep"]["points"] = self.points
        else:
            for key in ("sampler", "points", "sampler_seed"):
                del data["sweep"][key]
        for axis in self.axes:
            *parents, key = axis.path
            section = data
            for part in parents:
                section = section.setdefault(part, {})
            section[key] = axis.spec()
        return data


def _has_ranges(sweep: dict[str, Any]) -> bool:
    """Whether an optimizer entry of a raw ``sweep`` section gives a setting as a range."""
    entries = sweep.get("optimizers")
    return isinstance(entries, list) and any(
        isinstance(entry, dict) and any(_range_or_list(v) == "sampled" for v in entry.values())
        for entry in entries)


# Combinations of grid axes checked when a config is read (beyond: each value alone).
MAX_CHECKED_POINTS = 256


# --- loading -------------------------------------------------------------------------------

Loc = tuple[Union[str, int], ...]


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a YAML experiment config.

    ``name`` defaults to the file's stem; a relative ``data.path`` is taken relative to the
    config file. Raises :class:`ConfigError` with ``file:line: key: problem``.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:  # a bounded read: the file may be a pipe
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; expected a YAML config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return parse_config(text, source=str(path), base_dir=path.parent, default_name=path.stem)


def parse_config(
    text: str, *, source: str = "<config>", base_dir: Path | None = None,
    default_name: str = "sweep",
) -> ExperimentConfig:
    """Validate config text; the building block of :func:`load_config`, handy in tests."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: more than {MAX_CONFIG_BYTES // 1024} KB; a config is "
                          f"a few hundred lines (give many rates as a range: start, stop, num)")
    raw, lines = _read_yaml(text, source)
    if raw is None:
        raise ConfigError(f"{source}: config is empty; expected a mapping with a 'sweep' key")
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}:1: expected a mapping of keys (name, data, model, "
                          f"training, sweep), got {type(raw).__name__}")
    raw.setdefault("name", default_name)
    if base_dir is not None:
        _resolve_beside(raw, base_dir, lines, source)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe_all(exc.errors(), raw, lines, source))) from None


def _resolve_beside(raw: dict[str, Any], base_dir: Path, lines: dict[Loc, int],
                    source: str) -> None:
    """Relative paths in a config are taken beside it: ``data.path``, and the files that
    ``data.loader``, ``model.factory`` and an objective's own functions name
    (``my_data:load`` is ``my_data.py`` beside the config if there is one, else an
    importable module)."""
    data, model = raw.get("data"), raw.get("model")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        try:
            data["path"] = str((base_dir / Path(data["path"]).expanduser()).resolve())
        except (OSError, RuntimeError):  # a symbolic link loop
            line = _line_of(("data", "path"), lines)
            raise ConfigError(f"{source}:{line}: data.path: {data['path']}: a symbolic link "
                              f"loop; expected a .npz file or a folder holding one") from None
    for section, key in ((data, "loader"), (model, "factory"), (raw.get("objective"), "loss")):
        if isinstance(section, dict) and isinstance(section.get(key), str):
            section[key] = resolve_reference(section[key], base_dir)
    objective = raw.get("objective")
    if isinstance(objective, dict) and isinstance(objective.get("metrics"), list):
        objective["metrics"] = [  # a metric of the user's, module:function, beside it too
            resolve_reference(m, base_dir) if isinstance(m, str) and ":" in m else m
            for m in objective["metrics"]]


def resolve_reference(reference: str, base_dir: Path) -> str:
    """``module:function`` with a file module made absolute (see :func:`_resolve_beside`);
    anything else as given (the schema judges it)."""
    module, colon, name = reference.rpartition(":")
    if not colon or not module:
        return reference
    if module.endswith(".py") or "/" in module:
        file = base_dir / Path(module).expanduser()
    elif (base_dir / f"{module}.py").is_file():
        file = base_dir / f"{module}.py"
    else:
        return reference  # a module to import by name
    return f"{file.resolve()}:{name}"


def _describe_all(errors: list[Any], raw: Any, lines: dict[Loc, int], source: str) -> list[str]:
    """Every mistake of a config, one line each, in the file's order. A misspelt key also
    shows up as a missing one: the typo, with its suggestion, is the useful report."""
    suggested = {(*e["loc"][:-1], _suggestion(e)) for e in errors
                 if e["type"] == "extra_forbidden"}
    kept = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in suggested)]
    # A value that fits none of a union's branches (`stack: []`) fails each branch: one
    # line for the key, the branches' problems joined.
    problems: dict[str, list[str]] = {}
    line_of: dict[str, int | None] = {}
    for error in kept:
        head, problem = _describe(error, raw, lines, source)
        problems.setdefault(head, [])
        if problem not in problems[head]:
            problems[head].append(problem)
        line_of[head] = _line_of(_data_loc(error["loc"], raw), lines)
    ordered = sorted(problems, key=lambda head: (line_of[head] is None, line_of[head] or 0))
    return [f"{head}: {'; or '.join(problems[head])}" for head in ordered]


def _suggestion(error: Any) -> str | None:
    """The accepted key closest to a misspelt one (``learning_rate`` -> ``learning_rates``)."""
    key = error["loc"][-1]
    close = difflib.get_close_matches(str(key), _allowed_keys(error["loc"][:-1]), n=1,
                                      cutoff=0.6)
    return close[0] if close else None


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    return next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """Parse YAML, returning the data and the 1-based line of every key and list item."""
    try:
        loader = yaml.SafeLoader(text)  # which reads the text: a control character fails here
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not YAML text ({first_line(exc)})") from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML syntax error: {exc}") from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines, source, set())
    return data, lines


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], source: str,
                 seen: set[int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if id(node) in seen:
        # An alias: its content was indexed where its anchor is. Walking it again would
        # walk every expansion, and nested aliases expand exponentially (a "YAML bomb").
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if (*loc, key) in lines:
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}: "
                                  f"{_dotted((*loc, key))}: duplicate key")
            _index_lines(value_node, (*loc, key), lines, source, seen)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*loc, i), lines, source, seen)


def _describe(error: Any, raw: Any, lines: dict[Loc, int], source: str) -> tuple[str, str]:
    """A pydantic error as ``file:line: dotted.key`` and the problem."""
    kind, ctx = error["type"], error.get("ctx", {})
    loc = _data_loc(error["loc"], raw)
    if kind == "union_tag_invalid":
        loc = (*loc, "name")
        problem = (f"unknown optimizer {ctx['tag']!r}; expected one of: "
                   f"{', '.join(OPTIMIZERS)}")
    elif kind == "union_tag_not_found":
        problem = f"missing key 'name'; expected one of: {', '.join(OPTIMIZERS)}"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        close = _suggestion(error)
        problem = (f"unknown key; did you mean {close}? Expected one of: " if close else
                   "unknown key; expected one of: ") + ", ".join(allowed)
    elif kind == "missing":
        problem = "missing required key"
    elif kind == "string_pattern_mismatch":
        problem = (f"expected 'module:function' (a .py file, taken beside the config, or an "
                   f"importable module) (got {brief(error['input'])})")
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        key, colon, rest = message.partition(": ")
        if colon and loc and key.startswith(f"{loc[-1]}.") and " " not in key:
            # A check across a section's keys names the key it is about: point there.
            loc, problem = (*loc[:-1], *key.split(".")), rest
        elif colon and not loc and key.split(".")[0] in (*SECTIONS, "sweep", "axes") and (
                " " not in key):
            # A check across the config (its axes) names the key it is about.
            loc, problem = _key_loc(key), rest
        else:
            problem = f"{message} (got {brief(error['input'])})"
    line = _line_of(loc, lines)
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {_dotted(loc) or 'config'}", problem


_UNION_TAGS = {*OPTIMIZERS, "list", "range", "sampled"}


def _key_loc(dotted: str) -> Loc:
    """``sweep.optimizers[1].momentum`` as a location."""
    loc: list[str | int] = []
    for part in dotted.split("."):
        name, _, index = part.partition("[")
        loc.append(name)
        if index:
            loc.append(int(index.rstrip("]")))
    return tuple(loc)


def _data_loc(loc: Loc, raw: Any) -> Loc:
    """Drop the parts of a pydantic location that name a union branch, not a key."""
    out: list[str | int] = []
    node = raw
    for part in loc:
        in_data = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node))
        if in_data:
            node = node[part]
        elif part in _UNION_TAGS or (isinstance(part, int) and not isinstance(node, list)):
            continue  # a union branch, or the index given to a scalar read as a one-item axis
        elif node is not _ABSENT and not isinstance(node, dict):
            continue  # a branch of a union of plain types ("constrained-int") of a value
        else:
            node = _ABSENT  # a key the file does not have (a missing one)
        out.append(part)
    return tuple(out)


_ABSENT = object()


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model at a pydantic location accepts, for 'unknown key' messages."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        if isinstance(part, str) and part in OPTIMIZER_MODELS:
            model = OPTIMIZER_MODELS[part]
        elif part == "sampled":  # the {low, high} branch of a union
            model = Range
        elif isinstance(part, str) and part in model.model_fields:
            found = _model_in(model.model_fields[part].annotation)
            if found is not None:
                model = found
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# Fewer training batches than this per epoch, or validation images, make numbers to distrust.
FEW_BATCHES, FEW_VALIDATION_IMAGES = 3, 100


def surprising_settings(config: ExperimentConfig, *, n_train: int,
                        n_validation: int) -> list[str]:
    """Legal settings that probably do not do what was meant, one line each (warnings,
    not errors), given the sizes of the training and validation sets."""
    found = []
    batch = config.training.batch_size
    if batch > n_train:
        found.append(f"training.batch_size: {batch} is more than the {n_train} training "
                     f"images; every step uses all of them (full-batch gradient descent)")
    elif n_train < FEW_BATCHES * batch:
        found.append(f"data: {n_train} training images make only {-(-n_train // batch)} "
                     f"batch(es) of {batch} an epoch")
    if 0 < n_validation < FEW_VALIDATION_IMAGES:
        found.append(f"data.validation: {n_validation} images; validation accuracy moves in "
                     f"steps of {100 / n_validation:.1f}%, too coarse to rank rates")
    return found


def with_training(config: ExperimentConfig, *, engine: str | None = None,
                  stack: str | int | None = None) -> ExperimentConfig:
    """``config`` with another ``engine`` and ``stack`` (None: as the config says), validated
    as the config's own keys are; a bad value is a one-line error naming the parameter."""
    changes: dict[str, Any] = {}
    if engine is not None:
        changes["engine"] = engine
    if stack is not None:
        changes["stack"] = int(stack) if str(stack).isdigit() else stack
    if not changes:
        return config
    try:
        training = TrainingConfig.model_validate({**config.training.model_dump(), **changes})
    except ValidationError as exc:
        # --engine's choices are checked by the command line; what fails here is --stack's
        # value, or the two together.
        option, given = ("stack", stack) if stack is not None else ("engine", engine)
        error = exc.errors()[0]
        message = (error["msg"].removeprefix("Value error, ") if error["type"] == "value_error"
                   else "expected auto or an integer >= 1")
        raise ConfigError(message, about={option: str(given)}) from None
    return config.model_copy(update={"training": training})
