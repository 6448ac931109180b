"""What a run keeps between its sweeps: the backend session it trains in and the data it
loaded. An adaptive sweep's rounds (:mod:`lrlab.run.settle`) are sweeps of one run
directory; through one :class:`SweepSessions` their workers start once and their data
loads once, instead of once a round.

It holds one backend session at a time: asked for another experiment's (another batch
size, another model), it ends the one it holds first, so that two experiments' workers
never hold the machine at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any


class SweepSessions:
    """Use as a context manager; everything held is released on exit."""

    def __init__(self) -> None:
        self._held: contextlib.ExitStack | None = None
        self._key: object = None
        self._session: Any = None
        # What loading and checking found, by what was loaded and checked: data sets by
        # their data and objective settings, network checks by those and the model's.
        self.datasets: dict[str, Any] = {}
        self.networks: dict[tuple[str, str], dict[str, Any]] = {}
        self.opened = 0  # backend sessions started (each starts its workers)

    def __enter__(self) -> SweepSessions:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()

    def session(self, key: object, start: Callable[[], AbstractContextManager[Any]]) -> Any:
        """The session held for ``key`` (an experiment and its backend), else one started
        by ``start`` once the one held is ended."""
        if self._session is not None and key == self._key:
            return self._session
        self.release()
        held = contextlib.ExitStack()
        self._session = held.enter_context(start())
        self._held, self._key = held, key
        self.opened += 1
        return self._session

    def holds(self, key: object) -> bool:
        return self._session is not None and key == self._key

    def release(self) -> None:
        """End the session held, if any (its workers stop)."""
        held, self._held, self._session, self._key = self._held, None, None, None
        if held is not None:
            held.close()
