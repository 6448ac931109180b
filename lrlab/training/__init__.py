"""Training trials: an engine-independent trial loop and range test over an engine's
compiled step (TensorFlow or JAX).

- :mod:`~lrlab.training.engine`: the compiled-step interface (pure);
- :mod:`~lrlab.training.loop`: epochs, divergence and records (pure);
- :mod:`~lrlab.training.range_test`: the LR range test's ramp (pure);
- :mod:`~lrlab.training.factory`: the engine a config names (from :mod:`lrlab.engines`),
  its network and objective checked, and a trainer on it;
- :mod:`~lrlab.training.measures`: an objective's loss and metrics in Keras's terms;
- :mod:`~lrlab.training.tf_engine`: the interface on Keras's TensorFlow backend;
- :mod:`~lrlab.training.jax_engine`: the interface on Keras's JAX backend, trials stacked.
"""

from __future__ import annotations

from lrlab.training.engine import Engine, EpochPlan, Split
from lrlab.training.factory import build_engine, check_network, check_objective, make_trainer
from lrlab.training.loop import Trainer, TrialEvent, epoch_order
from lrlab.training.range_test import ramp_losses
from lrlab.training.stacks import Group, Work, plan_groups

__all__ = ["Engine", "EpochPlan", "Group", "Split", "Trainer", "TrialEvent", "build_engine",
           "check_network", "check_objective",
           "epoch_order", "make_trainer", "plan_groups", "ramp_losses", "Work"]
