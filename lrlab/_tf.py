"""The one place lrlab imports TensorFlow and Keras, lazily.

Commands that do not train (``--help``, ``--version``, ``compare``) never call these, so they
start in well under a second instead of the several seconds TensorFlow takes to import.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from lrlab._native_stderr import held_native_stderr
from lrlab.errors import LrlabError


def _not_a_retracing_warning(record: logging.LogRecord) -> bool:
    # Each optimizer setting of a sweep compiles its own step on purpose, and TensorFlow's
    # heuristic counts those as retracing of one function; the warning is noise here.
    return "triggered tf.function retracing" not in record.getMessage()


@functools.cache
def import_tensorflow() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # TensorFlow's C++ start-up lines (CUDA probing, oneDNN notices) are written before
    # TF_CPP_MIN_LOG_LEVEL is read, and would drown the progress display.
    with held_native_stderr(replay_on_error=True):
        import tensorflow as tf

        tf.constant(0.0)  # the first op initialises the devices, which logs again
    logging.getLogger("tensorflow").addFilter(_not_a_retracing_warning)
    return tf


def import_keras() -> Any:
    import_tensorflow()
    import keras

    if keras.backend.backend() != "tensorflow":
        raise LrlabError(
            f"lrlab trains with Keras's TensorFlow backend, but KERAS_BACKEND is "
            f"{keras.backend.backend()!r}; unset it or set KERAS_BACKEND=tensorflow"
        )
    return keras
