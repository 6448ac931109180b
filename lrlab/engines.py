"""The engine registry: everything lrlab knows about each engine, in one entry.

An engine is Keras on one backend, driven by a compiled step of lrlab's
(:class:`~lrlab.training.engine.Engine`). The config schema's ``training.engine``, the
command line's ``--engine``, the Keras import, the backends' thread pinning and
``environment.json`` all read :data:`ENGINES`; none of them names an engine itself.

Adding an engine (Keras on PyTorch, say) is one module under ``lrlab/training/`` that
implements the Engine protocol, plus one :class:`EngineSpec` here (docs/development.md).

Pure: the classes and probes are named as ``module:attribute`` and imported only when a
trial trains, so that reading the registry never imports a framework.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lrlab.errors import LrlabError


@dataclass(frozen=True)
class EngineSpec:
    """One engine.

    Args:
        name: ``training.engine``'s value and ``--engine``'s choice.
        title: its framework's name in prose (``TensorFlow``).
        keras_backend: the ``KERAS_BACKEND`` it trains on.
        framework: the module whose import starts the framework (and reads the thread
            variables, once).
        engine_class: ``module:Class`` of its :class:`~lrlab.training.engine.Engine`.
        thread_variables: environment variables that cap the framework's threads for one
            operation, read when it starts; a worker sets them to its share of the CPUs.
        workers: worker processes by default: ``"per_cpu"`` (one a ``threads_per_trial``
            CPUs) or ``"one"`` (the framework spreads a trial over the cores itself, and
            needs an accelerator to itself).
        device_probe: ``module:function`` returning this process's accelerators by name,
            recorded as ``gpus`` in environment.json where the trials train here; None where
            the engine's own ``describe()`` records its device.
        packages: distributions whose versions environment.json records.
        share_accelerator: environment variables that make the framework share a GPU with
            other workers instead of claiming it all.
        stacks: whether it trains several trials of a seed as one stack (``training.stack``)
            and takes ``training.precision``; the others train one trial at a time, at
            their framework's own precision.
    """

    name: str
    title: str
    keras_backend: str
    framework: str
    engine_class: str
    thread_variables: tuple[str, ...] = ()
    workers: Literal["per_cpu", "one"] = "per_cpu"
    device_probe: str | None = None
    packages: tuple[str, ...] = ()
    share_accelerator: Mapping[str, str] | None = None
    stacks: bool = False

    def load_engine_class(self) -> type:
        """The engine's class (imports its framework)."""
        return _attribute(self.engine_class)

    def probe_devices(self) -> list[str] | None:
        """This process's accelerators, or None where this engine records its own."""
        return None if self.device_probe is None else _attribute(self.device_probe)()

    def pin_threads(self, threads: int) -> bool:
        """Cap the framework's threads in this process at ``threads``; True when it has not
        started yet (it reads the cap once), so that the cap holds."""
        for variable in self.thread_variables:
            os.environ[variable] = str(threads)
        return bool(self.thread_variables) and self.framework not in sys.modules

    def default_workers(self, *, cpus: int, threads_per_trial: int) -> int:
        if self.workers == "one":
            return 1
        return max(1, cpus // threads_per_trial)


ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec(
        name="tensorflow", title="TensorFlow", keras_backend="tensorflow", framework="tensorflow",
        engine_class="lrlab.training.tf_engine:TensorFlowEngine",
        thread_variables=("TF_NUM_INTRAOP_THREADS",),
        device_probe="lrlab.training.tf_engine:gpu_names",
        packages=("tensorflow", "keras"),
        share_accelerator={"TF_FORCE_GPU_ALLOW_GROWTH": "true"}),
    EngineSpec(
        # XLA spreads one trial over the cores itself: one worker trains them all (faster
        # than two on two cores: docs/speed.md) and holds the GPU where there is one.
        name="jax", title="JAX", keras_backend="jax", framework="jax",
        engine_class="lrlab.training.jax_engine:JaxEngine",
        workers="one", packages=("jax", "keras"), stacks=True,
        share_accelerator={"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}),
)}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)
DEFAULT_ENGINE = "tensorflow"
# The distributions environment.json records whatever the engine (the keys stay stable).
RECORDED_PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(
    package for spec in ENGINES.values() for package in spec.packages)) + ("numpy",)


def engine(name: str) -> EngineSpec:
    """The registry's entry for ``name``; one clear error for any other."""
    try:
        return ENGINES[name]
    except KeyError:
        raise LrlabError(f"expected one of {', '.join(ENGINE_NAMES)}",
                         about={"engine": repr(name)}) from None


def stacking_engines() -> str:
    """The engines that stack trials, as a config error names them (``jax``)."""
    return " or ".join(name for name, spec in ENGINES.items() if spec.stacks)


def engine_of_backend(keras_backend: str) -> EngineSpec:
    """The engine that trains on ``keras_backend``."""
    for spec in ENGINES.values():
        if spec.keras_backend == keras_backend:
            return spec
    backends = " or ".join(spec.keras_backend for spec in ENGINES.values())
    raise LrlabError(f"Keras backend {keras_backend!r}: lrlab trains on {backends}")


def share_accelerators() -> dict[str, str]:
    """Every engine's variables for sharing a GPU between workers: a worker sets them all
    before its framework starts, whichever engine it then builds."""
    shared: dict[str, str] = {}
    for spec in ENGINES.values():
        shared.update(spec.share_accelerator or {})
    return shared


def _attribute(reference: str) -> Callable[..., Any] | Any:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
