"""lrlab: which learning rate, which optimizer, and why, for Keras models.

The public API; each name lives in the module that owns its job. Names are imported on
first use (PEP 562), so that ``import lrlab`` and every command start fast: TensorFlow only
for training, SciPy only for statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lrlab._version import __version__

_WHERE = {
    "BackendError": "lrlab.run.backends", "LocalBackend": "lrlab.run.backends",
    "RayBackend": "lrlab.run.backends", "RayOptions": "lrlab.run.backends",
    "Comparison": "lrlab.analysis.compare", "compare_runs": "lrlab.analysis.compare",
    "summarize": "lrlab.analysis.compare",
    "ExperimentConfig": "lrlab.experiment.config", "load_config": "lrlab.experiment.config",
    "parse_config": "lrlab.experiment.config",
    "ConfigError": "lrlab.errors", "DataError": "lrlab.errors", "LrlabError": "lrlab.errors",
    "StoreError": "lrlab.errors",
    "RangeTestOptions": "lrlab.run.find_lr", "run_find_lr": "lrlab.run.find_lr",
    "SweepObserver": "lrlab.run.sweep", "SweepReport": "lrlab.run.sweep",
    "run_sweep": "lrlab.run.sweep",
    "SettleOptions": "lrlab.run.settle", "SettleReport": "lrlab.run.settle",
    "run_settle": "lrlab.run.settle",
    "load_runs": "lrlab.rundir.loading",
    "Trial": "lrlab.experiment.trials", "expand_trials": "lrlab.experiment.trials",
}

__all__ = [  # _WHERE's names and the version, spelled out for tools that read __all__
    "BackendError", "Comparison", "ConfigError", "DataError", "ExperimentConfig",
    "LocalBackend", "LrlabError", "RangeTestOptions", "RayBackend", "RayOptions",
    "SettleOptions", "SettleReport", "StoreError", "SweepObserver", "SweepReport", "Trial",
    "__version__", "compare_runs", "expand_trials", "load_config", "load_runs", "parse_config",
    "run_find_lr", "run_settle", "run_sweep", "summarize",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'lrlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and IDEs see
    from lrlab.analysis.compare import Comparison, compare_runs, summarize
    from lrlab.errors import ConfigError, DataError, LrlabError, StoreError
    from lrlab.experiment.config import ExperimentConfig, load_config, parse_config
    from lrlab.experiment.trials import Trial, expand_trials
    from lrlab.run.backends import BackendError, LocalBackend, RayBackend, RayOptions
    from lrlab.run.find_lr import RangeTestOptions, run_find_lr
    from lrlab.run.settle import SettleOptions, SettleReport, run_settle
    from lrlab.run.sweep import SweepObserver, SweepReport, run_sweep
    from lrlab.rundir.loading import load_runs
