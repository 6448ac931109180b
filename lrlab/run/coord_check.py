"""``lrlab coord-check``: the test mup's authors ask every user to run (Yang et al. 2022,
"Tensor Programs V", and mup's coord_check): train the dense network a few steps at
several widths, under the standard parametrization and under µP, and read the mean
absolute value of every layer's output. Under µP it stays flat as the width grows; under
the standard parametrization the output layer's grows with the width (and the best rate
drifts with it). Seconds on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrlab.errors import ConfigError
from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.trials import expand_trials
from lrlab.training import build_engine
from lrlab.training.data import load_dataset
from lrlab.training.loop import epoch_order
from lrlab.training.model import mean_abs_outputs

PARAMETRIZATIONS = ("standard", "mup")
PROBE_ROWS = 512  # the rows every activation is averaged over


@dataclass
class CoordCheck:
    """Per parametrization, per layer (``hidden 1``... then ``output``), the mean |output|
    at each width after ``steps`` steps; and the slope of its log against log(width)."""

    widths: tuple[int, ...]
    steps: int
    optimizer: str
    learning_rate: float
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def slope(self, parametrization: str, layer: str) -> float:
        found = np.array(self.values[parametrization][layer])
        if not np.all(np.isfinite(found)) or np.any(found <= 0):
            return math.nan
        return float(np.polyfit(np.log(self.widths), np.log(found), 1)[0])

    def to_dict(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "steps": self.steps, "optimizer": self.optimizer,
                "learning_rate": self.learning_rate, "values": self.values,
                "slopes": {p: {layer: self.slope(p, layer) for layer in layers}
                           for p, layers in self.values.items()}}


def coord_check(config: ExperimentConfig, *, widths: Sequence[int], steps: int = 5,
                seed: int = 0) -> CoordCheck:
    """Train ``config``'s dense network (its depth, every hidden layer at each width;
    µP's base: the smallest width) for ``steps`` steps of its first optimizer at its first
    rate, under each parametrization, and read each layer's mean |output|."""
    if config.model.kind != "dense":
        raise ConfigError(f"model.kind: {config.model.kind}: the coordinate check is built "
                         f"for the dense network (µP is)")
    config = config.first_point()
    trial = expand_trials(config)[0]
    dataset = load_dataset(config.data, objective=config.objective)
    depth = len(config.model.hidden)
    found = CoordCheck(tuple(sorted(widths)), steps, trial.optimizer, trial.learning_rate)
    base = [min(widths)] * depth
    batch = config.training.batch_size
    order = epoch_order(len(dataset.y_train), seed=seed, epoch=1)
    batches = order[:steps * batch].reshape(steps, batch)
    probe_rows = order[:PROBE_ROWS]
    for parametrization in PARAMETRIZATIONS:
        per_layer: dict[str, list[float]] = {}
        for width in found.widths:
            model = config.model.model_copy(update={
                "hidden": [width] * depth, "parametrization": parametrization,
                "base_hidden": base if parametrization == "mup" else None})
            engine = build_engine(dataset, model=model, training=config.training)
            engine.start_stack(trial.setting, seed=seed, learning_rates=[trial.learning_rate])
            engine.train(batches)
            for layer, value in mean_abs_outputs(engine.network, engine.weights(0),
                                                 dataset.x_train[probe_rows]).items():
                per_layer.setdefault(layer, []).append(value)
        found.values[parametrization] = per_layer
    return found
