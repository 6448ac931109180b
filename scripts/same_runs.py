"""Do two run directories hold the same results, times aside? For refactors that must not
change what lrlab writes.

    python scripts/same_runs.py RUN_DIR_BEFORE RUN_DIR_AFTER [--ignore-key format]

Compares every file lrlab wrote, byte for byte after taking out what differs between two
runs of the same sweep: times (``seconds``, ``started_at``, ...), the command line, the
run's own path, and the order in which trials finished (rows of CSV tables are sorted).
``--ignore-key`` also drops a JSON key or CSV column (a field a change adds on purpose).
Prints each difference and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

TIMES = {"seconds", "started_at", "finished_at", "ended_at", "compile_seconds", "command",
         "executable", "updated_at", "elapsed"}


def _scrub(value: Any, ignored: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, ignored) for k, v in value.items() if k not in ignored}
    if isinstance(value, list):
        return [_scrub(v, ignored) for v in value]
    return value


def comparable(path: Path, ignored: set[str]) -> str:
    """The file's text with what may differ between runs taken out."""
    text = path.read_text(errors="replace")
    if path.suffix == ".json":
        return json.dumps(_scrub(json.loads(text), ignored), indent=1, sort_keys=False)
    if path.suffix == ".csv":
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        frame = frame.drop(columns=[c for c in frame.columns if c in ignored])
        return frame.sort_values(list(frame.columns)).to_csv(index=False)
    return text


def differences(before: Path, after: Path, ignored: set[str]) -> list[str]:
    files = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    theirs = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    found = [f"only in {before}: {f}" for f in sorted(files - theirs)]
    found += [f"only in {after}: {f}" for f in sorted(theirs - files)]
    for name in sorted(files & theirs):
        if name.name == ".lock":
            continue
        mine = comparable(before / name, ignored).replace(str(before), "RUN")
        other = comparable(after / name, ignored).replace(str(after), "RUN")
        if mine != other:
            found.append(f"differs: {name}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--ignore-key", action="append", default=[])
    args = parser.parse_args()
    found = differences(args.before, args.after, TIMES | set(args.ignore_key))
    for line in found:
        print(line)
    print(f"{'differ' if found else 'the same, times aside'}: {args.before} and {args.after}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
