"""Learning rates as Keras sees them: the one route by which a trial's rate reaches its
optimizer, on either engine.

A trial's learning rate is the peak of a ``keras.optimizers.schedules`` object (a constant
rate is a flat schedule), so one compiled training step serves every rate of a sweep: a new
trial assigns the peak, and the shape of the schedule (Keras's own decay objects, scaled to
peak 1) stays fixed. The range test's rates live in a variable table the same way.

How the schedule's value gets into the optimizer differs only in its last step. The
TensorFlow engine gives the schedule to the optimizer as its ``learning_rate``, and the
optimizer calls it each step. The jax engine trains a stack of trials in one stateless
step, each with its own peak, which a Keras variable cannot hold: it evaluates the same
schedule per member (the peak read as the member's own) and writes the result into the
variable where the optimizer keeps its rate (:func:`rate_variable`, the one place lrlab
reaches into Keras's private state).
"""

from __future__ import annotations

from typing import Any

from lrlab.experiment.config import ScheduleConfig
from lrlab.training._keras import import_keras


def peak_schedule(config: ScheduleConfig, *, steps_per_epoch: int, epochs: int) -> Any:
    """A ``LearningRateSchedule`` (over optimizer steps) with a ``peak`` variable, to be
    assigned the trial's rate before training (it starts as NaN, so that forgetting to
    shows at once)."""
    keras = import_keras()
    schedules = keras.optimizers.schedules
    warmup = round(config.warmup_epochs * steps_per_epoch)
    decay_steps = max(1, round(config.decay_epochs * steps_per_epoch))
    if config.type == "cosine":
        shape = schedules.CosineDecay(1.0, decay_steps=max(1, epochs * steps_per_epoch - warmup),
                                      alpha=config.final_fraction)
    elif config.type in ("step", "exponential"):
        shape = schedules.ExponentialDecay(1.0, decay_steps=decay_steps,
                                           decay_rate=config.decay_rate,
                                           staircase=config.type == "step")
    else:
        shape = None

    class PeakScaled(schedules.LearningRateSchedule):  # type: ignore[misc,name-defined]
        """``peak × linear warm-up × shape(step − warm-up)``."""

        def __init__(self) -> None:
            self.peak = keras.Variable(float("nan"), trainable=False, dtype="float32",
                                       name="peak_learning_rate")

        def __call__(self, step: Any) -> Any:
            ops = keras.ops
            step = ops.cast(step, "float32")
            rate = ops.convert_to_tensor(self.peak)
            if warmup > 0:
                rate = rate * ops.minimum(1.0, step / warmup)
                step = ops.maximum(step - warmup, 0.0)
            return rate if shape is None else rate * ops.cast(shape(step), "float32")

        def get_config(self) -> dict[str, Any]:
            return {"schedule": config.label()}

    return PeakScaled()


def rate_table(steps: int) -> Any:
    """A schedule that reads step k's rate from a variable ``table`` (the LR range test's
    geometric ramp), so one compiled loop serves any start and end rate."""
    keras = import_keras()

    class RateTable(keras.optimizers.schedules.LearningRateSchedule):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.table = keras.Variable([0.0] * steps, trainable=False, dtype="float32",
                                        name="range_test_rates")

        def __call__(self, step: Any) -> Any:
            ops = keras.ops
            index = ops.minimum(ops.cast(step, "int32"), steps - 1)
            return ops.take(ops.convert_to_tensor(self.table), index)

        def get_config(self) -> dict[str, Any]:
            return {"steps": steps}

    return RateTable()


def rate_variable(optimizer: Any) -> Any:
    """The variable in which a Keras optimizer built with a float ``learning_rate`` keeps
    it, among ``optimizer.variables`` once built: where the jax engine writes each member's
    scheduled rate inside its stateless step. Keras keeps it in a private attribute
    (``_learning_rate``); tests/training/test_schedules.py fails when an installed Keras
    moves it."""
    variable = getattr(optimizer, "_learning_rate", None)
    if variable is None or not hasattr(variable, "assign"):
        raise RuntimeError("this Keras version keeps an optimizer's learning rate elsewhere "
                           "than _learning_rate; lrlab's jax engine cannot set it per trial")
    return variable
