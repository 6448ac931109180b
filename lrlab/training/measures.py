"""An objective in Keras's terms, for both engines: the loss object, the network's head
(the activation its logits are read through), and the metrics, each measured by Keras's
own function or class (lrlab.experiment.objective says what each means).

Metrics come in two sorts. A *summed* metric is a mean over examples (an accuracy, an
absolute error): each batch gives its examples' values, summed inside the compiled epoch
like the loss, and divided by the examples at the end: the running value ``model.fit``
reports. A *whole* metric (an AUC, a precision, R²) needs every example at once: it is
measured by its Keras class on a whole split's outputs, on the host, at each epoch's end.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lrlab.errors import UserCodeError
from lrlab.experiment.objective import (
    LOSSES,
    METRICS_KNOWN,
    Metric,
    Objective,
    column_key,
    is_reference,
)
from lrlab.formatting import first_line
from lrlab.training.user_code import load_function


class Measures:
    """The loss and metrics of ``objective`` for a network whose head is ``head``
    (softmax, sigmoid or linear), on Keras's current backend."""

    def __init__(self, keras: Any, objective: Objective, *, head: str) -> None:
        self._keras, self.objective = keras, objective
        ops = keras.ops
        self.head = {"softmax": lambda z: ops.softmax(z, axis=-1),
                     "sigmoid": ops.sigmoid, "linear": lambda z: z}[head]
        self.loss, self.from_logits = _loss(keras, objective)
        self.summed: tuple[Metric, ...] = tuple(m for m in objective.metrics if not m.whole)
        self.whole: tuple[Metric, ...] = tuple(m for m in objective.metrics if m.whole)
        self._functions = [_summed_function(keras, m, objective.labels) for m in self.summed]
        self._reads_logits = [m.reads_logits(objective.labels) for m in self.summed]
        for metric in self.whole:  # built once now, so that a bad argument fails here
            _whole_metric(keras, metric, objective.labels)

    def loss_input(self, logits: Any) -> Any:
        """What the loss is given: the logits where it takes them, else the outputs."""
        return logits if self.from_logits else self.head(logits)

    def mean_loss(self, y: Any, logits: Any) -> Any:
        """The batch's mean loss, as Keras's Loss object reduces it."""
        return self.loss(y, self.loss_input(logits))

    def example_losses(self, y: Any, logits: Any) -> Any:
        """Each example's loss."""
        return self.loss.call(y, self.loss_input(logits))

    def example_values(self, y: Any, logits: Any) -> list[Any]:
        """Each summed metric's per-example values (float32, one per example)."""
        if not self._functions:
            return []
        outputs = self.head(logits) if not all(self._reads_logits) else None
        return [self._keras.ops.cast(function(y, logits if logits_only else outputs),
                                     "float32")
                for function, logits_only in zip(self._functions, self._reads_logits,
                                                 strict=True)]

    def summed_of(self, y: Any, logits: Any) -> Any:
        """The summed metrics' sums over the examples, as one float32 vector."""
        ops = self._keras.ops
        values = self.example_values(y, logits)
        if not values:
            return ops.zeros((0,), "float32")
        return ops.stack([ops.sum(v) for v in values])

    def whole_values(self, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        """Each whole metric on a split's labels and outputs (eagerly, on the host)."""
        found = {}
        for metric in self.whole:
            measure = _whole_metric(self._keras, metric, self.objective.labels)
            measure.update_state(y, outputs)
            value = np.asarray(measure.result())
            if value.size != 1:
                raise UserCodeError(f"objective.metrics: {metric.reference} gives "
                                    f"{value.size} values, one per class; expected one "
                                    f"(give it average: macro, micro or weighted)")
            found[metric.key] = float(value.reshape(()))
        return found

    def values_at(self, y: np.ndarray, logits: np.ndarray) -> dict[str, float]:
        """Loss and every metric of constant or given ``logits`` on labels ``y`` (eager):
        how a baseline is measured, by the same functions as a trial."""
        keras = self._keras
        logits = keras.ops.convert_to_tensor(logits.astype(np.float32))
        y_tensor = keras.ops.convert_to_tensor(y)
        n = len(y)
        found = {"loss": float(np.sum(np.asarray(self.example_losses(y_tensor, logits),
                                                  dtype=np.float64)) / n)}
        for metric, values in zip(self.summed, self.example_values(y_tensor, logits),
                                  strict=True):
            found[metric.key] = float(np.sum(np.asarray(values, dtype=np.float64)) / n)
        found.update(self.whole_values(y, np.asarray(self.head(logits))))
        return {key: found[key] for key in ("loss", *(m.key for m in self.objective.metrics))}

    def baseline(self, splits: Sequence[tuple[str, np.ndarray]],
                 constant: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
        """Every column's baseline: the loss and metrics, on each split (``val_``,
        ``test_`` and training columns), of the best constant prediction for that split's
        labels (``constant``: its logits)."""
        prefix = {"train": "", "validation": "val_", "test": "test_"}
        found: dict[str, float] = {}
        for split, y in splits:
            if len(y) == 0:
                continue
            logits = constant(y)
            logits = np.broadcast_to(logits, (len(y), *logits.shape))
            values = self.values_at(y, logits)
            found.update({prefix[split] + key: value for key, value in values.items()})
        return {key: value if math.isfinite(value) else math.nan
                for key, value in found.items()}


def baseline_of(measures: Measures, dataset: Any) -> dict[str, float]:
    """Every column's baseline on ``dataset`` (a lrlab.training.data.Dataset)."""
    return measures.baseline([("train", dataset.y_train), ("validation", dataset.y_val),
                              ("test", dataset.y_test)], dataset.baseline_logits)


def _loss(keras: Any, objective: Objective) -> tuple[Any, bool]:
    """The Keras Loss object of the objective, and whether it takes logits."""
    args = dict(objective.loss_args)
    if is_reference(objective.loss):
        function = load_function(objective.loss, key="objective.loss").function
        try:
            inspect.signature(function).bind(None, None, **args)
        except TypeError as exc:
            raise UserCodeError(f"objective.loss_args: {objective.loss} does not take "
                                f"{sorted(args)} ({first_line(exc)})") from None

        class UserLoss(keras.losses.Loss):
            """The user's per-example function, reduced as Keras reduces its own."""

            def call(self, y_true: Any, y_pred: Any) -> Any:
                return function(y_true, y_pred, **args)

        return UserLoss(name=column_key(objective.loss)), False
    spec = LOSSES[objective.loss]
    if spec.from_logits:
        args["from_logits"] = True
    try:
        return getattr(keras.losses, spec.keras_class)(**args), spec.from_logits
    except (TypeError, ValueError) as exc:
        raise UserCodeError(f"objective.loss_args: {objective.loss} does not take "
                            f"{sorted(objective.loss_args)} ({first_line(exc)})") from None


def _summed_function(keras: Any, metric: Metric, labels: str) -> Any:
    """A per-example function of (labels, predictions) for a summed metric."""
    name = metric.keras_name(labels)
    if is_reference(name):
        function = load_function(name, key="objective.metrics").function
    else:
        function = getattr(keras.metrics, name)
    args = dict(metric.args)
    if not args:
        return function
    try:  # checked now, so that a bad argument is one line, not a failure mid-training
        inspect.signature(function).bind(None, None, **args)
    except TypeError as exc:
        raise UserCodeError(f"objective.metrics: {metric.reference} does not take "
                            f"{sorted(args)} ({first_line(exc)})") from None
    return lambda y, predictions: function(y, predictions, **args)


def _whole_metric(keras: Any, metric: Metric, labels: str) -> Any:
    """A fresh Keras metric object for a whole metric."""
    spec = METRICS_KNOWN[metric.reference]
    args = dict(metric.args)
    if spec.keras == "AUC" and labels == "multi_label":
        args.setdefault("multi_label", True)
    if spec.keras == "F1Score":
        args.setdefault("average", "macro")  # one number, not one per class
        if labels in ("binary", "multi_label"):
            args.setdefault("threshold", 0.5)
    try:
        return getattr(keras.metrics, spec.keras)(**args)
    except (TypeError, ValueError) as exc:
        raise UserCodeError(f"objective.metrics: {metric.reference} does not take "
                            f"{sorted(metric.args)} ({first_line(exc)})") from None
