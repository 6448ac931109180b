"""What a run directory is doing or did, in words: the lines ``lrlab status`` prints, from
the :class:`~lrlab.analysis.status.RunStatus` its files give."""

from __future__ import annotations

from datetime import datetime, timezone

from lrlab.analysis.status import RunStatus
from lrlab.rundir.store import SWEEP


def status_lines(status: RunStatus, *, now: datetime | None = None) -> list[str]:
    """The status in plain lines, short enough for 80 columns where they can be."""
    lines = [f"{status.run_dir} ({'sweep' if status.kind == SWEEP else 'range test'})"]
    holder = status.holder
    if holder is None:
        lines.append("writer: none (no lrlab is writing it)")
    elif status.holder_alive is False:
        lines.append(f"writer: none; {holder.describe()} stopped without a word (killed?); "
                     f"resume it to finish")
    elif status.holder_alive is None:
        ago = (f"; the last write here was {_duration(_seconds_since(status.last_written, now))}"
               f" ago" if status.last_written else "")
        lines.append(f"writer: {holder.describe()}, on another host: this host cannot tell "
                     f"whether it still runs{ago}")
    else:
        lines.append(f"writer: {holder.describe()}")
    if status.kind == SWEEP:
        total = f" of {status.planned}" if status.planned is not None else ""
        parts = [f"{n} {what}" for what, n in sorted(status.counts.items())]
        if status.in_progress:
            label = ("left unfinished" if not status.writing else "running" if
                     status.holder_alive else "running or left unfinished")
            parts.append(f"{len(status.in_progress)} {label}")
        if status.damaged:
            parts.append(f"{len(status.damaged)} damaged")
        if status.pending:
            parts.append(f"{status.pending} pending")
        lines.append(f"trials: {status.finished}{total} finished ({', '.join(parts) or 'none'})")
        for trial in status.in_progress if status.writing else []:
            of = f"/{status.epochs}" if status.epochs else ""
            lines.append(f"  running: {trial.trial_id}, epoch {trial.epochs_done}{of} done")
        for bad in status.damaged:
            lines.append(f"  damaged: {bad.reason} (resume trains it again)")
        elapsed, eta = status.elapsed_seconds(now), status.eta_seconds()
        if elapsed is not None:
            lines.append(f"elapsed: {_duration(elapsed)} this session"
                         + (f"; ETA about {_duration(eta)}" if eta is not None else ""))
    lines += [f"unreadable: {reason}" for reason in status.unreadable]
    lines.append(f"sessions: {len(status.sessions)}")
    for number, session in enumerate(status.sessions, start=1):
        ended = session.get("ended") or (
            "running" if status.writing and number == len(status.sessions)
            else "no end recorded (killed, or its last write failed)")
        command = " ".join(session.get("command") or [])
        lines.append(f"  {number}. {session.get('started_at', '?')} to "
                     f"{session.get('ended_at') or '...'}: {ended} ({command})")
    return lines


def _seconds_since(moment: datetime, now: datetime | None) -> float:
    return max(0.0, ((now or datetime.now(timezone.utc)) - moment).total_seconds())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
