"""The LR range test's training: from a seed's initial weights, one batch per rate, the
rates given in full. Pure; it runs on any engine's one compiled step."""

from __future__ import annotations

import numpy as np

from lrlab.experiment.trials import OptimizerSetting
from lrlab.training.engine import Engine
from lrlab.training.loop import epoch_order


def ramp_losses(engine: Engine, setting: OptimizerSetting, *, seed: int,
                rates: np.ndarray) -> np.ndarray:
    """The training loss of each step k, trained at ``rates[k]`` (NaN and infinity
    included: the caller cuts the curve where it diverges). Batches follow the seed's
    epoch orders, one epoch after another, as a sweep's trials see them."""
    n, batch = engine.plan.n_train, engine.plan.batch_size
    epochs = -(-len(rates) * batch // n)
    order = np.concatenate([epoch_order(n, seed=seed, epoch=e) for e in range(1, epochs + 1)])
    batches = order[: len(rates) * batch].reshape(len(rates), batch)
    engine.start_ramp(setting, seed=seed, rates=np.asarray(rates, dtype=np.float32))
    return np.asarray(engine.train_ramp(batches), dtype=np.float64)
