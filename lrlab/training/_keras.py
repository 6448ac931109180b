"""The one place lrlab imports Keras and the framework under it (TensorFlow or JAX), lazily.

Commands that do not train (``--help``, ``--version``, ``compare``) never call these, so they
start in well under a second instead of the seconds a framework takes to import.

Keras picks its backend once per process, when it is first imported (from
``KERAS_BACKEND``). An engine therefore asks for its backend before anything imports Keras,
and a process that already holds Keras on another backend cannot host it: the local backend
then trains in a fresh worker process instead (see :func:`keras_backend_loaded`).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Any

from lrlab.engines import DEFAULT_ENGINE, ENGINES, engine_of_backend
from lrlab.errors import LrlabError
from lrlab.training._native_stderr import held_native_stderr


def _not_a_retracing_warning(record: logging.LogRecord) -> bool:
    # Each optimizer setting of a sweep compiles its own step on purpose, and TensorFlow's
    # heuristic counts those as retracing of one function; the warning is noise here.
    return "triggered tf.function retracing" not in record.getMessage()


@functools.cache
def import_tensorflow() -> Any:
    """TensorFlow, quietly. Its import imports Keras too, so a process that imports it
    first has Keras on TensorFlow (whatever KERAS_BACKEND it inherited)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow's C++ start-up lines (CUDA probing, oneDNN notices) are written before
    # TF_CPP_MIN_LOG_LEVEL is read, and would drown the progress display.
    with held_native_stderr(replay_on_error=True):
        import tensorflow as tf

        tf.constant(0.0)  # the first op initialises the devices, which logs again
    logging.getLogger("tensorflow").addFilter(_not_a_retracing_warning)
    return tf


def keras_backend_loaded() -> str | None:
    """The backend of the Keras this process has imported, or None if it has not."""
    keras = sys.modules.get("keras")
    return None if keras is None else keras.backend.backend()


def import_keras(backend: str | None = None) -> Any:
    """Keras on ``backend`` (``None``: on the backend already loaded, else TensorFlow).

    Raises a one-line :class:`~lrlab.errors.LrlabError` if this process imported Keras on
    another backend already.
    """
    loaded = keras_backend_loaded()
    wanted = backend or loaded or ENGINES[DEFAULT_ENGINE].keras_backend
    engine_of_backend(wanted)  # one that no engine trains on is an error
    if loaded is not None and loaded != wanted:
        raise LrlabError(
            f"the {wanted} engine needs Keras on its {wanted} backend, but this process "
            f"imported Keras on {loaded} already (Keras picks its backend once per process); "
            f"train in a fresh process")
    if loaded is None:
        # Read once, when Keras is first imported (a parent process's choice, inherited,
        # must not decide a worker's).
        os.environ["KERAS_BACKEND"] = wanted
        if wanted == "tensorflow":
            import_tensorflow()  # which imports Keras
        import keras  # noqa: F401 - imported for its side effect: the backend is chosen
    return sys.modules["keras"]
