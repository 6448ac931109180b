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
import errno
import fcntl
import json
import os
import socket
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from lrlab.errors import StoreError
from lrlab.rundir.files import current_umask, read_text

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
    """The details the current (or last) writer left in the lock file, if any (none when
    they cannot be read: a lock file is as untrusted as any run file)."""
    try:
        data = json.loads(read_text(root / LOCK_FILE, limit=64 * 1024))
        holder = Holder(**data)
    except (OSError, ValueError, TypeError, StoreError):
        return None
    if not (isinstance(holder.host, str) and isinstance(holder.pid, int)
            and isinstance(holder.since, str) and isinstance(holder.command, str)):
        return None
    return holder


def _open_lock(path: Path) -> int:
    """The lock file's descriptor; never through a symbolic link (which would truncate
    whatever it points to), and only a regular file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o666 & ~current_umask())
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path}: a symbolic link in place of the run directory's lock; "
                             f"lrlab never writes through one (remove it, then resume)"
                             ) from None
        raise StoreError(f"{path}: cannot open the run directory's lock "
                         f"({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreError(f"{path}: not a regular file in place of the run directory's lock "
                         f"(remove it, then resume)")
    return fd


@contextlib.contextmanager
def writer_lock(root: Path, *, command: str) -> Iterator[Holder | None]:
    """Hold the run directory's lock for the ``with`` block; yields the holder whose stale
    lock was taken over (its process died holding it), else None. A live holder makes this
    raise a StoreError naming it, at once."""
    path = root / LOCK_FILE
    fd = _open_lock(path)  # unbuffered writes below: a full disk must fail where it fails
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(root)
            who = holder.describe() if holder else "another process"
            raise StoreError(f"{root}: another lrlab is writing this run directory ({who}); "
                             f"wait for it to end, or stop it, then resume") from None
        previous = read_holder(root)
        mine = Holder(host=socket.gethostname(), pid=os.getpid(),
                      since=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      command=command)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(asdict(mine)) + "\n").encode("utf-8"), 0)
        except OSError as exc:  # a full disk, most often
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            raise StoreError(f"{path}: cannot write the run directory's lock "
                             f"({exc.strerror or exc})") from None
        try:
            yield previous  # details left behind: their process died holding the lock
        finally:
            # A clean release empties the file, so details found there later always mean
            # a holder that died (or one that still runs).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # which releases the lock
