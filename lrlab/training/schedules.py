"""Learning rates as Keras sees them: every optimizer lrlab builds gets one of these
``keras.optimizers.schedules`` objects as its ``learning_rate``, the only way a rate
reaches it.

A trial's learning rate is the schedule's peak and lives in a variable (a constant rate is
a flat schedule), so one compiled training step serves every rate of a sweep: a new trial
assigns the peak, and the shape of the schedule (Keras's own decay objects, scaled to peak
1) stays fixed. The range test's rates live in a variable table the same way.
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
