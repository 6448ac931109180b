"""Writing files that readers can trust (atomic replacement, JSON and CSV text without NaN)
and reading files that nobody vouches for. Every file lrlab writes (run files, plots,
imported data, exports) goes through here, and every run file it reads.

A run directory is untrusted input: anyone may have planted a symbolic link, a FIFO or a
device in it. So a write never follows a link (the rename replaces the link itself, and
the folders it writes into are checked to be real folders), and a read opens only a
regular file, without following a link or blocking, and only up to a size.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from lrlab.errors import StoreError


def atomic_write(path: Path, write: Callable[[IO[Any]], None], *, binary: bool = False) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``:
    readers see the old file or the new one, never a part. Nothing is left behind on any
    failure, Ctrl-C included; an OSError becomes a one-line StoreError naming the path."""
    tmp_name = None
    try:
        mode = "wb" if binary else "w"
        text_args = {} if binary else {"encoding": "utf-8", "newline": ""}
        with tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.",
                                         suffix=f".tmp{path.suffix}", delete=False,
                                         **text_args) as tmp:
            tmp_name = tmp.name
            # tempfile makes files private (0600); a run file should follow the umask like
            # any other new file (0644 under the usual 022), so a lab can share a runs folder.
            os.chmod(tmp_name, 0o666 & ~current_umask())
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise StoreError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def real_dir(root: Path, *parts: str) -> Path:
    """``root/parts...``, each part made a folder if missing. A part that is a symbolic
    link or not a folder is refused, so that nothing written there lands outside ``root``."""
    path = root
    for part in parts:
        path = path / part
        try:
            path.mkdir(exist_ok=True)
        except FileExistsError:
            pass  # a file or a dangling link: told below
        except OSError as exc:
            raise StoreError(f"{path}: cannot create ({exc.strerror or exc})") from None
        kind = kind_of(path)
        if kind != FOLDER:
            raise StoreError(f"{path}: {kind}, not a folder; lrlab writes only into real "
                             f"folders inside a run directory (remove it, or start a new run)")
    return path


FOLDER, FILE = "a folder", "a file"  # what kind_of says of the two kinds lrlab wants


def kind_of(path: Path, *, follow: bool = False) -> str:
    """What is at ``path``, in words ("a folder", "a file", "a FIFO", "a symbolic link"...),
    not following a link unless ``follow``; "missing" when nothing can be found there."""
    try:
        mode = (os.stat if follow else os.lstat)(path).st_mode
    except OSError:
        return "missing"
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, FOLDER),
                       (stat.S_ISREG, FILE), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


# The largest run file lrlab reads: far above any it writes (a history of 10,000 epochs is
# about 1 MB), far below what would exhaust memory.
MAX_RUN_FILE_BYTES = 64 * 1024 * 1024


def read_bytes(path: Path, *, limit: int = MAX_RUN_FILE_BYTES) -> bytes:
    """A regular file's bytes, never following a symbolic link and never blocking (on a
    FIFO or a device): anything else is a StoreError naming the path and what is there.
    FileNotFoundError is raised as such: a missing file often means "not yet"."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path}: a symbolic link; lrlab reads only regular files inside "
                             f"a run directory") from None
        raise StoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path}: {kind_of(path)}, not a regular file")
        if info.st_size > limit:
            raise StoreError(f"{path}: {info.st_size:,} bytes, more than any file lrlab "
                             f"writes there (it reads at most {limit:,})")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while being read
        raise StoreError(f"{path}: more than {limit:,} bytes")
    return data


def read_text(path: Path, *, limit: int = MAX_RUN_FILE_BYTES) -> str:
    """:func:`read_bytes` decoded as UTF-8, which is all lrlab writes."""
    try:
        return read_bytes(path, limit=limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not UTF-8 text (byte {exc.start}); damaged") from None


def current_umask() -> int:
    # The only way to read it is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text))


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: a missing or diverged metric becomes null. NumPy
    scalars become Python numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_text(data: Any) -> str:
    return json.dumps(json_safe(data), indent=2) + "\n"


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """CSV with ``columns`` as header; None is an empty cell; extra keys are ignored."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()
