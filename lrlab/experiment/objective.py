"""What a trial is trained and judged on: its loss, the metrics it records every epoch, and
the one metric the verdict reads. Pure (no Keras): the one owner of what a metric means,
its direction, its range and the margin by which it must beat its baseline.

Names are Keras's own (``keras.losses`` and ``keras.metrics``, snake case), so a config
reads as the ``model.compile`` call it stands for. A user's function, ``module:function``,
may stand for either; its direction must then be given for the verdict to read it.

Columns: a metric ``m`` is recorded as ``m`` (on the training batches of each epoch, as
``model.fit`` reports it), ``val_m`` (the validation split at each epoch's end) and
``test_m`` (the test split once, at the end); the loss as ``loss``, ``val_loss`` and
``test_loss``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

# What labels are, as Keras's losses take them. The head (the model's last activation,
# taken off so that losses are computed from the logits) follows from them.
LABEL_KINDS = ("integer", "one_hot", "binary", "multi_label", "regression")
CLASSIFYING = ("integer", "one_hot", "binary", "multi_label")
HEAD_OF = {"integer": "softmax", "one_hot": "softmax", "binary": "sigmoid",
           "multi_label": "sigmoid", "regression": "linear"}
SPLIT_PREFIXES = ("val_", "test_")


@dataclass(frozen=True)
class LossSpec:
    """A Keras loss: its class, the labels it takes, and whether it takes logits
    (``from_logits=True``; otherwise it is given the model's output, its head applied)."""

    keras_class: str
    labels: tuple[str, ...]
    from_logits: bool


_CLASSES = ("integer",)
LOSSES: dict[str, LossSpec] = {
    "sparse_categorical_crossentropy": LossSpec("SparseCategoricalCrossentropy",
                                                _CLASSES, True),
    "categorical_crossentropy": LossSpec("CategoricalCrossentropy", ("one_hot",), True),
    "categorical_focal_crossentropy": LossSpec("CategoricalFocalCrossentropy",
                                               ("one_hot",), True),
    "binary_crossentropy": LossSpec("BinaryCrossentropy", ("binary", "multi_label"), True),
    "binary_focal_crossentropy": LossSpec("BinaryFocalCrossentropy",
                                          ("binary", "multi_label"), True),
    "kl_divergence": LossSpec("KLDivergence", ("one_hot",), False),
    "categorical_hinge": LossSpec("CategoricalHinge", ("one_hot",), False),
    "hinge": LossSpec("Hinge", ("binary", "multi_label"), False),
    "squared_hinge": LossSpec("SquaredHinge", ("binary", "multi_label"), False),
    "mean_squared_error": LossSpec("MeanSquaredError", ("regression",), False),
    "mean_absolute_error": LossSpec("MeanAbsoluteError", ("regression",), False),
    "mean_absolute_percentage_error": LossSpec("MeanAbsolutePercentageError",
                                               ("regression",), False),
    "mean_squared_logarithmic_error": LossSpec("MeanSquaredLogarithmicError",
                                               ("regression",), False),
    "huber": LossSpec("Huber", ("regression",), False),
    "log_cosh": LossSpec("LogCosh", ("regression",), False),
    "poisson": LossSpec("Poisson", ("regression",), False),
}
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                "mape": "mean_absolute_percentage_error",
                "msle": "mean_squared_logarithmic_error", "logcosh": "log_cosh",
                "kld": "kl_divergence", "huber_loss": "huber"}
# The loss each kind of labels gets when the config names none.
DEFAULT_LOSS = {"integer": "sparse_categorical_crossentropy",
                "one_hot": "categorical_crossentropy", "binary": "binary_crossentropy",
                "multi_label": "binary_crossentropy", "regression": "mean_squared_error"}


@dataclass(frozen=True)
class MetricSpec:
    """What a metric means: the Keras object that measures it, which way is better, the
    range its values lie in, the labels it applies to, and how it adds up over examples.

    ``whole``: it needs every example at once (an AUC, a precision, R²), so lrlab measures
    it on a whole split at each epoch's end, and its training value on the first 10,000
    training rows at that moment, not as a running mean over the epoch's batches.
    ``by_kind``: the Keras function for each kind of labels, where it differs (accuracy).
    ``reads_logits``: it depends only on the order of the outputs (argmax, top k), so it
    is computed from the logits, exactly as on the probabilities.
    """

    keras: str
    higher_is_better: bool
    low: float
    high: float
    labels: tuple[str, ...]
    whole: bool = False
    by_kind: Mapping[str, str] = field(default_factory=dict)
    reads_logits: bool = False


_PROBABILITIES = ("one_hot", "binary", "multi_label")
_ALL_CLASSES = CLASSIFYING
_UNIT = (0.0, 1.0)
_POSITIVE = (0.0, math.inf)
METRICS_KNOWN: dict[str, MetricSpec] = {
    "accuracy": MetricSpec("", True, *_UNIT, _ALL_CLASSES, by_kind={
        "integer": "sparse_categorical_accuracy", "one_hot": "categorical_accuracy",
        "binary": "binary_accuracy", "multi_label": "binary_accuracy"}),
    "sparse_categorical_accuracy": MetricSpec("sparse_categorical_accuracy", True, *_UNIT,
                                              _CLASSES, reads_logits=True),
    "categorical_accuracy": MetricSpec("categorical_accuracy", True, *_UNIT, ("one_hot",),
                                       reads_logits=True),
    "binary_accuracy": MetricSpec("binary_accuracy", True, *_UNIT, ("binary", "multi_label")),
    "top_k_categorical_accuracy": MetricSpec("top_k_categorical_accuracy", True, *_UNIT,
                                             ("one_hot",), reads_logits=True),
    "sparse_top_k_categorical_accuracy": MetricSpec("sparse_top_k_categorical_accuracy", True,
                                                    *_UNIT, _CLASSES, reads_logits=True),
    "auc": MetricSpec("AUC", True, *_UNIT, _PROBABILITIES, whole=True),
    "precision": MetricSpec("Precision", True, *_UNIT, _PROBABILITIES, whole=True),
    "recall": MetricSpec("Recall", True, *_UNIT, _PROBABILITIES, whole=True),
    "f1_score": MetricSpec("F1Score", True, *_UNIT, _PROBABILITIES, whole=True),
    "mean_absolute_error": MetricSpec("mean_absolute_error", False, *_POSITIVE,
                                      ("regression",)),
    "mean_squared_error": MetricSpec("mean_squared_error", False, *_POSITIVE,
                                     ("regression",)),
    "root_mean_squared_error": MetricSpec("RootMeanSquaredError", False, *_POSITIVE,
                                          ("regression",), whole=True),
    "mean_absolute_percentage_error": MetricSpec("mean_absolute_percentage_error", False,
                                                 *_POSITIVE, ("regression",)),
    "log_cosh": MetricSpec("log_cosh", False, *_POSITIVE, ("regression",)),
    "r2_score": MetricSpec("R2Score", True, -math.inf, 1.0, ("regression",), whole=True),
    "binary_crossentropy": MetricSpec("binary_crossentropy", False, *_POSITIVE,
                                      ("binary", "multi_label")),
    "categorical_crossentropy": MetricSpec("categorical_crossentropy", False, *_POSITIVE,
                                           ("one_hot",)),
    "sparse_categorical_crossentropy": MetricSpec("sparse_categorical_crossentropy", False,
                                                  *_POSITIVE, _CLASSES),
}
METRIC_ALIASES = {"acc": "accuracy", "mae": "mean_absolute_error",
                  "mse": "mean_squared_error", "rmse": "root_mean_squared_error",
                  "mape": "mean_absolute_percentage_error", "r2": "r2_score",
                  "f1": "f1_score", "logcosh": "log_cosh",
                  "top_k_accuracy": "sparse_top_k_categorical_accuracy"}
# The loss's own range and direction (every Keras loss is lower-is-better and >= 0, but
# for a user's, which may be negative).
LOSS_RANGE = _POSITIVE
# "Stalled" means not beyond the baseline by a tenth of the metric's range where it is
# bounded both ways (0.1 of accuracy, as lrlab has always said), else by a tenth of the
# way from the baseline to the metric's ideal (an error of 0, an R² of 1).
MARGIN_SHARE = 0.1
# The adaptive sweep's default tolerance: rivals within this share of the metric's range
# (or of its baseline, where unbounded) of the best are equivalent.
TOLERANCE_SHARE = 0.005


class ObjectiveError(ValueError):
    """A loss or metric that lrlab cannot take, said in one line."""


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def is_reference(name: str) -> bool:
    """``module:function``: a user's function, not a Keras name."""
    return ":" in name


def loss_name(name: str) -> str:
    """The canonical Keras name of a loss (``mse`` is mean_squared_error), checked."""
    if is_reference(name):
        return name
    canonical = LOSS_ALIASES.get(name, name)
    if canonical not in LOSSES:
        raise ObjectiveError(f"unknown loss {name!r}{_did_you_mean(name, [*LOSSES, *LOSS_ALIASES])}"
                             f" (expected a keras.losses name such as "
                             f"sparse_categorical_crossentropy, binary_crossentropy, "
                             f"mean_squared_error, huber, or module:function)")
    return canonical


def metric_name(name: str) -> str:
    """The canonical name of a metric (``mae`` is mean_absolute_error), checked."""
    if is_reference(name):
        return name
    canonical = METRIC_ALIASES.get(name, name)
    if canonical not in METRICS_KNOWN:
        raise ObjectiveError(
            f"unknown metric {name!r}"
            f"{_did_you_mean(name, [*METRICS_KNOWN, *METRIC_ALIASES])} (expected a "
            f"keras.metrics name such as accuracy, auc, precision, recall, f1_score, "
            f"mean_absolute_error, r2_score, or module:function)")
    return canonical


def column_key(reference: str) -> str:
    """The column a metric is recorded under: its name, or a user's function's name."""
    return reference.rpartition(":")[2] if is_reference(reference) else reference


def base_of(column: str) -> str:
    """``val_auc`` -> ``auc``: the metric a column measures, on whichever split."""
    for prefix in SPLIT_PREFIXES:
        if column.startswith(prefix):
            return column.removeprefix(prefix)
    return column


def split_of(column: str) -> str:
    """Which split a column is measured on, as data.baseline names them."""
    if column.startswith("val_"):
        return "validation"
    return "test" if column.startswith("test_") else "train"


@dataclass(frozen=True)
class Metric:
    """One metric an objective records: its column name, the Keras name or user function
    it stands for, its arguments, and what it means."""

    key: str
    reference: str
    args: Mapping[str, Any]
    higher_is_better: bool
    low: float
    high: float
    whole: bool = False
    labels: tuple[str, ...] = LABEL_KINDS

    def keras_name(self, labels: str) -> str:
        spec = METRICS_KNOWN.get(self.reference)
        if spec is None:
            return self.reference
        return spec.by_kind.get(labels, spec.keras) if spec.by_kind else spec.keras

    def reads_logits(self, labels: str) -> bool:
        spec = METRICS_KNOWN.get(self.keras_name(labels))
        return bool(spec and spec.reads_logits)


@dataclass(frozen=True)
class Objective:
    """A trial's loss, its recorded metrics and the metric its verdict reads.

    The default is lrlab's from the start: the cross-entropy of integer labels from the
    logits, accuracy, and the verdict on validation accuracy.
    """

    loss: str = "sparse_categorical_crossentropy"
    loss_args: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    verdict: str = "val_accuracy"
    labels: str = "auto"  # or one of LABEL_KINDS
    verdict_higher_is_better: bool = True

    # -- columns -----------------------------------------------------------------------

    def epoch_columns(self) -> tuple[str, ...]:
        """history.csv's metric columns, in Keras's order: the loss and metrics on the
        training batches, then on the validation split."""
        train = ("loss", *(m.key for m in self.metrics))
        return (*train, *(f"val_{c}" for c in train))

    def test_columns(self) -> tuple[str, ...]:
        return ("test_loss", *(f"test_{m.key}" for m in self.metrics))

    def columns(self) -> tuple[str, ...]:
        return (*self.epoch_columns(), *self.test_columns())

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)

    def knows(self, column: str) -> bool:
        return column in self.columns()

    def higher_is_better(self, column: str) -> bool:
        """Which way is better for any recorded column (a loss is lower)."""
        found = self.metric(base_of(column))
        return found.higher_is_better if found is not None else False

    def value_range(self, column: str) -> tuple[float, float]:
        """Where a column's values, and so their means, lie: [0, 1] for an accuracy or AUC,
        [0, inf) for a loss or error, (-inf, 1] for R²."""
        found = self.metric(base_of(column))
        if found is not None:
            return found.low, found.high
        return LOSS_RANGE if not is_reference(self.loss) else (-math.inf, math.inf)

    def margin(self, column: str, baseline: float) -> float:
        """How far beyond its baseline a value must be to show learning (see MARGIN_SHARE)."""
        low, high = self.value_range(column)
        if math.isfinite(low) and math.isfinite(high):
            return MARGIN_SHARE * (high - low)
        ideal = high if self.higher_is_better(column) else low
        if not math.isfinite(ideal) or not math.isfinite(baseline):
            return math.nan
        return MARGIN_SHARE * abs(ideal - baseline)

    def tolerance(self, column: str, baseline: float) -> float:
        """The adaptive sweep's default tolerance, in the column's units: half a percent
        of its range where bounded (0.005 of an accuracy), else of its baseline's size (a
        mean absolute error's tolerance is 0.5% of the targets' spread); 0.005 where
        neither is known."""
        low, high = self.value_range(column)
        if math.isfinite(low) and math.isfinite(high):
            return TOLERANCE_SHARE * (high - low)
        if math.isfinite(baseline) and baseline != 0:
            return float(f"{TOLERANCE_SHARE * abs(baseline):.2g}")
        return TOLERANCE_SHARE

    def beats(self, column: str, value: float, baseline: float) -> bool:
        """Whether ``value`` is beyond ``baseline`` by the margin, the right way."""
        if not (math.isfinite(value) and math.isfinite(baseline)):
            return False
        margin = self.margin(column, baseline)
        if not math.isfinite(margin):
            return False
        return (value > baseline + margin if self.higher_is_better(column)
                else value < baseline - margin)

    def best_of(self, column: str, values: Sequence[float]) -> int | None:
        """The index of the best finite value (the earliest on ties), or None: the one
        definition of a trial's best epoch."""
        better = self.higher_is_better(column)
        best: int | None = None
        for index, value in enumerate(values):
            if math.isfinite(value) and (best is None or (
                    value > values[best] if better else value < values[best])):
                best = index
        return best

    def to_dict(self) -> dict[str, Any]:
        """What result.json and environment.json record of it."""
        return {"loss": self.loss, **({"loss_args": dict(self.loss_args)}
                                      if self.loss_args else {}),
                "metrics": [{"name": m.reference, "key": m.key,
                             "direction": "max" if m.higher_is_better else "min",
                             "range": [_json_bound(m.low), _json_bound(m.high)],
                             **({"args": dict(m.args)} if m.args else {})}
                            for m in self.metrics],
                "verdict": self.verdict, "labels": self.labels}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Objective:
        """Read back what :meth:`to_dict` wrote; raises ``ValueError``."""
        metrics = []
        for entry in data.get("metrics") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise ValueError(f"metrics: expected objects with a key, got {entry!r:.60}")
            low, high = entry.get("range") or [None, None]
            reference = str(entry.get("name", entry["key"]))
            spec = METRICS_KNOWN.get(reference)
            metrics.append(Metric(entry["key"], reference, dict(entry.get("args") or {}),
                                  entry.get("direction") == "max",
                                  _bound(low, -math.inf), _bound(high, math.inf),
                                  *((spec.whole, spec.labels) if spec else ())))
        verdict = data.get("verdict", "val_loss")
        if not isinstance(verdict, str):
            raise ValueError(f"verdict: expected a column name, got {verdict!r:.60}")
        objective = cls(loss=str(data.get("loss", "")), loss_args=dict(data.get(
            "loss_args") or {}), metrics=tuple(metrics), verdict=verdict,
            labels=str(data.get("labels", "auto")))
        return _with_verdict_direction(objective)


def _json_bound(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _bound(value: Any, missing: float) -> float:
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"range: expected numbers or null, got {value!r:.60}")
    return float(value)


def _with_verdict_direction(objective: Objective) -> Objective:
    return replace(objective,
                   verdict_higher_is_better=objective.higher_is_better(objective.verdict))


# Keras Tuner's way: a name that says it is an error or a loss is lower-is-better, one
# that says accuracy, AUC, precision, recall or a score higher-is-better; else ask.
_LOWER = ("loss", "error", "mae", "mse", "rmse", "mape", "msle", "crossentropy", "hinge",
          "divergence", "poisson", "cosh")
_HIGHER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "score", "iou", "r2",
           "correlation", "true_positive", "true_negative")


def infer_direction(name: str) -> bool | None:
    """Higher is better (True), lower (False), or cannot tell (None), from a name."""
    lowered = base_of(name).lower()
    if any(word in lowered for word in _LOWER):
        return False
    if any(word in lowered for word in _HIGHER):
        return True
    return None


def build_objective(*, loss: str | None = None, loss_args: Mapping[str, Any] | None = None,
                    metrics: Sequence[str | Mapping[str, Any]] | None = None,
                    verdict: str | None = None, direction: str | None = None,
                    labels: str = "integer") -> Objective:
    """The objective of a config's words for ``labels`` (a kind of LABEL_KINDS), each
    name checked against them; raises ObjectiveError in one line.

    ``loss`` None: the usual loss of the labels (DEFAULT_LOSS). ``metrics`` None: accuracy
    for classes, mean_absolute_error for regression. ``verdict`` None: the validation
    value of the first metric (of the loss when there is none).
    """
    chosen = loss_name(loss) if loss is not None else DEFAULT_LOSS[labels]
    takes = labels_for_loss(chosen)
    if takes is not None and labels not in takes:
        raise ObjectiveError(_misfit(chosen, labels, takes))
    if metrics is None:
        metrics = ["mean_absolute_error"] if labels == "regression" else ["accuracy"]
    built: list[Metric] = []
    for entry in metrics:
        name, args, given = _metric_entry(entry)
        canonical = metric_name(name)
        spec = METRICS_KNOWN.get(canonical)
        key = column_key(name)  # as Keras names the column: as written (mae, not its name)
        if key == "loss" or any(m.key == key for m in built):
            raise ObjectiveError(f"metric {name!r} is listed twice (or is the loss); "
                                 f"expected each metric once")
        if spec is not None:
            higher = spec.higher_is_better if given is None else given
            built.append(Metric(key, canonical, dict(args), higher, spec.low, spec.high,
                                spec.whole, spec.labels))
        else:
            higher = given if given is not None else infer_direction(key)
            if higher is None:
                raise ObjectiveError(f"metric {name}: cannot tell whether higher or lower "
                                     f"is better from its name; expected {{name: {name}, "
                                     f"direction: max}} or direction: min")
            built.append(Metric(key, canonical, dict(args), higher, -math.inf, math.inf))
    objective = Objective(loss=chosen, loss_args=dict(loss_args or {}), metrics=tuple(built),
                          verdict="", labels=labels)
    check_fits(objective, labels)
    column = verdict or (f"val_{built[0].key}" if built else "val_loss")
    if not objective.knows(column):
        known = ", ".join(objective.columns())
        raise ObjectiveError(f"verdict {column!r} is not recorded; expected one of {known} "
                             f"(add its metric to objective.metrics)")
    objective = _with_verdict_direction(replace(objective, verdict=column))
    if direction is not None and (direction == "max") != objective.verdict_higher_is_better:
        raise ObjectiveError(f"direction {direction} contradicts {column}, for which "
                             f"{'higher' if objective.verdict_higher_is_better else 'lower'} "
                             f"is better; leave direction out, or give it on the metric")
    return objective


def _misfit(loss: str, labels: str, takes: Sequence[str]) -> str:
    """Labels that do not fit the loss, with the fix."""
    fix = {"one_hot": "categorical_crossentropy", "integer": "sparse_categorical_crossentropy",
           "binary": "binary_crossentropy", "multi_label": "binary_crossentropy",
           "regression": "mean_squared_error"}[labels]
    return (f"loss {loss} takes {' or '.join(k.replace('_', '-') for k in takes)} labels, "
            f"and these are {_labels_text(labels)}; use {fix} (or leave loss out: lrlab "
            f"picks it from the labels)")


def _labels_text(labels: str) -> str:
    return {"integer": "integer classes", "one_hot": "one-hot classes",
            "binary": "binary 0/1 labels", "multi_label": "multi-label 0/1 rows",
            "regression": "real-valued targets"}[labels]


def _metric_entry(entry: str | Mapping[str, Any]) -> tuple[str, dict[str, Any], bool | None]:
    """A metric as a name, or ``{name: ..., direction: max|min, <Keras arguments>}``."""
    if isinstance(entry, str):
        return entry, {}, None
    args = dict(entry)
    name = args.pop("name", None)
    if not isinstance(name, str):
        raise ObjectiveError(f"a metric given as a mapping needs a name, got {entry!r:.60}")
    direction = args.pop("direction", None)
    if direction not in (None, "max", "min"):
        raise ObjectiveError(f"metric {name}: direction {direction!r}; expected max or min")
    return name, args, None if direction is None else direction == "max"




def labels_for_loss(loss: str) -> tuple[str, ...] | None:
    """The kinds of labels a Keras loss takes (None: a user's function takes any)."""
    spec = LOSSES.get(loss)
    return spec.labels if spec else None


def check_fits(objective: Objective, labels: str) -> None:
    """Every metric applies to these labels (raises ObjectiveError naming the misfit)."""
    for metric in objective.metrics:
        if labels not in metric.labels:
            hint = ("a classification metric on regression targets; for regression: "
                    "mean_absolute_error, mean_squared_error, root_mean_squared_error, "
                    "r2_score" if labels == "regression" else
                    f"it takes {' or '.join(k.replace('_', '-') for k in metric.labels)} "
                    f"labels")
            raise ObjectiveError(f"metric {metric.reference} does not apply to "
                                 f"{_labels_text(labels)}: {hint}")


DEFAULT_OBJECTIVE = build_objective()
