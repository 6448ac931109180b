"""lrlab: learning-rate and optimizer experiments on the classic Keras MNIST network.

The public API; each name lives in the module that owns its job. Names are imported on
first use (PEP 562), so that ``import lrlab`` and every command start fast: TensorFlow only
for training, SciPy only for statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lrlab._version import __version__

_WHERE = {
    "BackendError": "lrlab.backends", "LocalBackend": "lrlab.backends",
    "RayBackend": "lrlab.backends", "RayOptions": "lrlab.backends",
    "Comparison": "lrlab.compare", "compare_runs": "lrlab.compare",
    "summarize": "lrlab.compare",
    "ExperimentConfig": "lrlab.config", "load_config": "lrlab.config",
    "parse_config": "lrlab.config",
    "ConfigError": "lrlab.errors", "DataError": "lrlab.errors", "LrlabError": "lrlab.errors",
    "StoreError": "lrlab.errors",
    "RangeTestOptions": "lrlab.findlr", "run_find_lr": "lrlab.findlr",
    "SweepObserver": "lrlab.runner", "SweepReport": "lrlab.runner", "run_sweep": "lrlab.runner",
    "load_runs": "lrlab.runs",
    "Trial": "lrlab.trials", "expand_trials": "lrlab.trials",
}

__all__ = [  # _WHERE's names and the version, spelled out for tools that read __all__
    "BackendError", "Comparison", "ConfigError", "DataError", "ExperimentConfig",
    "LocalBackend", "LrlabError", "RangeTestOptions", "RayBackend", "RayOptions", "StoreError",
    "SweepObserver", "SweepReport", "Trial", "__version__", "compare_runs", "expand_trials",
    "load_config", "load_runs", "parse_config", "run_find_lr", "run_sweep", "summarize",
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
    from lrlab.backends import BackendError, LocalBackend, RayBackend, RayOptions
    from lrlab.compare import Comparison, compare_runs, summarize
    from lrlab.config import ExperimentConfig, load_config, parse_config
    from lrlab.errors import ConfigError, DataError, LrlabError, StoreError
    from lrlab.findlr import RangeTestOptions, run_find_lr
    from lrlab.runner import SweepObserver, SweepReport, run_sweep
    from lrlab.runs import load_runs
    from lrlab.trials import Trial, expand_trials
