"""lrlab: learning-rate and optimizer experiments on the classic Keras MNIST network.

The public API; each name lives in the module that owns its job. Importing lrlab does not
import TensorFlow: only training does.
"""

from lrlab._version import __version__
from lrlab.backends import BackendError, LocalBackend, RayBackend, RayOptions
from lrlab.compare import Comparison, compare_runs, summarize
from lrlab.config import ExperimentConfig, load_config, parse_config
from lrlab.errors import ConfigError, DataError, LrlabError, StoreError
from lrlab.findlr import RangeTestOptions, run_find_lr
from lrlab.runner import SweepObserver, SweepReport, run_sweep
from lrlab.runs import load_runs
from lrlab.trials import Trial, expand_trials

__all__ = [
    "BackendError", "Comparison", "ConfigError", "DataError", "ExperimentConfig",
    "LocalBackend", "LrlabError", "RangeTestOptions", "RayBackend", "RayOptions", "StoreError",
    "SweepObserver", "SweepReport", "Trial", "__version__", "compare_runs", "expand_trials",
    "load_config", "load_runs", "parse_config", "run_find_lr", "run_sweep", "summarize",
]
