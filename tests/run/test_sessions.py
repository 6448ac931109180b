"""The session and data a run keeps between its sweeps: one session at a time, reused for
the same experiment, ended before another's starts and on exit."""

from __future__ import annotations

import contextlib

from lrlab.run.sessions import SweepSessions


def test_a_session_is_kept_for_its_experiment_and_ended_before_another_starts() -> None:
    events: list[str] = []

    def start(name: str):
        @contextlib.contextmanager
        def session():
            events.append(f"start {name}")
            yield name
            events.append(f"end {name}")
        return session

    with SweepSessions() as sessions:
        assert sessions.session("a", start("a")) == "a"
        assert sessions.session("a", start("a again")) == "a" and sessions.holds("a")
        assert sessions.session("b", start("b")) == "b"
        assert events == ["start a", "end a", "start b"] and sessions.opened == 2
    assert events[-1] == "end b" and not sessions.holds("b")
