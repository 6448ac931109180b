"""Holding back what native code (TensorFlow's and Ray's C++) writes straight to fd 2,
where Python's own redirection of ``sys.stderr`` cannot reach it."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO


class HeldOutput:
    """What was written to fd 2 inside a :func:`held_native_stderr` block."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def held_native_stderr(*, replay_on_error: bool) -> Iterator[HeldOutput]:
    """Hold back fd 2 for the block; its text is in the yielded object afterwards.

    If the block raises and ``replay_on_error``, the held text is written out first, so
    that a failure still shows what led to it.
    """
    held = HeldOutput()
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (some embedded interpreters): nothing to hold
        yield held
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield held
        except BaseException:
            os.dup2(saved, 2)
            held.text = _read(sink)
            if replay_on_error:
                os.write(2, held.text.encode())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        held.text = _read(sink)


def _read(sink: IO[bytes]) -> str:
    sink.seek(0)
    return sink.read().decode("utf-8", errors="replace")
