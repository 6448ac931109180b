"""One writer per run directory: an advisory lock on ``<run>/.lock``, held for a whole sweep
or range test, with who holds it written inside for the others to read.

The lock is the kernel's (``flock``): it is released when its process ends, however it ends
(``kill -9``, a crash), so a lock left behind by a process that is gone is simply taken
over, and the new holder says whose it was. Readers (``lrlab status``, ``lrlab compare``)
never take it: they read the holder's details and never block a writer.

Across hosts on a shared filesystem, whether one host's lock is seen by another is the
filesystem's business: NFSv4 and Lustre pass ``flock`` on, some FUSE and SMB mounts do not.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from lrlab.errors import StoreError

LOCK_FILE = ".lock"


@dataclass(frozen=True)
class Holder:
    """Who writes (or last wrote) a run directory."""

    host: str
    pid: int
    since: str  # ISO time the lock was taken
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"

    def alive(self) -> bool | None:
        """Whether the holder's process still runs; None when it is on another host."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: it exists
            return True
        return True


def read_holder(root: Path) -> Holder | None:
    """The details the current (or last) writer left in the lock file, if any."""
    try:
        return Holder(**json.loads((root / LOCK_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def writer_lock(root: Path, *, command: str) -> Iterator[Holder | None]:
    """Hold the run directory's lock for the ``with`` block; yields the holder whose stale
    lock was taken over (its process died holding it), else None. A live holder makes this
    raise a StoreError naming it, at once."""
    path = root / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the run directory's lock "
                         f"({exc.strerror or exc})") from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(root)
            who = holder.describe() if holder else "another process"
            raise StoreError(f"{root}: another lrlab is writing this run directory ({who}); "
                             f"wait for it to end, or stop it, then resume") from None
        previous = read_holder(root)
        mine = Holder(host=socket.gethostname(), pid=os.getpid(),
                      since=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      command=command)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(mine)) + "\n")
        handle.flush()
        try:
            yield previous  # details left behind: their process died holding the lock
        finally:
            # A clean release empties the file, so details found there later always mean
            # a holder that died (or one that still runs).
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
