"""Writing files that readers can trust: atomic replacement, and JSON and CSV text without
NaN. Every file lrlab writes (run files, plots, imported data, exports) goes through here."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
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
