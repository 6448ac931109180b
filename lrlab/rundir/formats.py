"""The run directory's format: which version each file was written in, and the one function
that reads a file of any older version into today's form.

Versions (docs/run-directory.md has the same table):

1. environment.json is one flat record of its one session, without ``kind``; params.json
   lacks the experiment's context (data, model, batch size, epochs, divergence factor),
   and trial ids leave it out too.
2. environment.json is ``{"kind", "sessions"}``; params.json and the trial ids hold the
   context. The files do not say their version.
3. Every JSON file lrlab writes starts with ``"format": N``: 3, except that the params.json
   of a trial resumed in an older run directory says that directory's format (its id
   follows the older scheme). The CSV tables and sweep.yaml are of their run directory's
   format; their readers check their header and schema.
4. result.json records the objective the trial was judged with (``objective``) and each
   column's baseline (``baseline``); history.csv's metric columns are the objective's
   (``epoch, lr, loss, <metrics>, val_loss, val_<metrics>, seconds``). A format-3 file
   reads as judged with lrlab's default objective (accuracy), without baselines.
5. A trial's status may be ``paused`` (trained to a halving rung's epoch, awaiting its
   decision) or ``pruned`` (dropped at that rung; its epochs are its history), and
   halving.json records each rung's decisions. Older files read as they are.

Writers add :data:`FORMAT_KEY` through :func:`stamped`; readers pass every JSON file
through :func:`upgrade`, which is the only code that knows what older versions lack. A file
newer than this lrlab is refused in one line, naming the file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lrlab.errors import LrlabError, StoreError
from lrlab.experiment.config import MAX_CONFIG_BYTES, parse_config
from lrlab.experiment.trials import CONTEXT_KEYS, experiment_context
from lrlab.formatting import brief
from lrlab.rundir.files import read_text

FORMAT = 5
FORMAT_KEY = "format"
# The first format whose params.json and trial ids hold the experiment's context.
CONTEXT_RECORDED = 2

# The run directory's files and folders (docs/run-directory.md; lrlab.rundir.store reads
# and writes them).
CONFIG_FILE, ENVIRONMENT_FILE, RESULTS_FILE = "sweep.yaml", "environment.json", "results.csv"
PARAMS_FILE, HISTORY_FILE, RESULT_FILE = "params.json", "history.csv", "result.json"
TRIALS_DIR = "trials"
# What a run directory holds, recorded in environment.json: --resume takes only a sweep.
SWEEP, RANGE_TEST = "sweep", "range-test"
KINDS = (SWEEP, RANGE_TEST)


def stamped(data: Mapping[str, Any], version: int = FORMAT) -> dict[str, Any]:
    """``data`` as a run file of format ``version`` holds it: the format first."""
    return {FORMAT_KEY: version, **{k: v for k, v in data.items() if k != FORMAT_KEY}}


def format_of(name: str, data: Mapping[str, Any]) -> int:
    """The format a JSON run file ``name`` was written in: as it says (format 3 on), else
    as its content shows (the only place that tells older files apart by their keys).
    Raises ``ValueError`` for a format that is not a version, or newer than this lrlab."""
    if FORMAT_KEY in data:
        version = data[FORMAT_KEY]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{FORMAT_KEY}: expected a whole number from 1 to {FORMAT}, got "
                             f"{brief(version)}")
        if version > FORMAT:
            raise ValueError(f"written in run format {version} by a newer lrlab; this one "
                             f"reads formats 1 to {FORMAT}: upgrade lrlab to read it")
        return version
    if name == ENVIRONMENT_FILE:
        return 2 if "sessions" in data else 1
    if name == PARAMS_FILE:
        return CONTEXT_RECORDED if "batch_size" in data else 1
    return 2


def upgrade(name: str, data: Mapping[str, Any], *, run_dir: Path) -> dict[str, Any]:
    """The content of the JSON run file ``name`` of ``run_dir``, in today's form and
    without its format key. Raises ``ValueError`` for a format it cannot read."""
    version = format_of(name, data)
    today = {k: v for k, v in data.items() if k != FORMAT_KEY}
    if name == ENVIRONMENT_FILE:
        if version == 1:
            today = {"sessions": [today]}
        if today.get("kind") is None:  # before kinds were recorded: a range test has
            today["kind"] = RANGE_TEST if (run_dir / RESULT_FILE).is_file() else SWEEP
    if name == PARAMS_FILE and version < FORMAT and any(key not in today for key in CONTEXT_KEYS):
        # What the params of its time left out, from the sweep's config (kept as recorded
        # where that is unreadable, or where the trial recorded it).
        context = _context(run_dir)
        today.update({k: v for k, v in context.items() if k not in today})
    return today


def as_planned(params: Mapping[str, Any], *, trials_format: int) -> dict[str, Any]:
    """A trial's params as read (today's form) in the form its plan has them in a run
    directory of ``trials_format``: one from before the context was recorded plans its
    trials without it (their ids leave it out), and the upgrade filled it in from the
    same config."""
    if trials_format >= CONTEXT_RECORDED:
        return dict(params)
    return {k: v for k, v in params.items() if k not in CONTEXT_KEYS}


def _context(run_dir: Path) -> dict[str, Any]:
    try:
        text = read_text(run_dir / CONFIG_FILE, limit=MAX_CONFIG_BYTES)
    except (OSError, LrlabError):
        return {}
    return dict(_context_of(text, str(run_dir / CONFIG_FILE)))


@functools.lru_cache(maxsize=16)
def _context_of(text: str, source: str) -> tuple[tuple[str, Any], ...]:
    """The experiment context of a config's text: a pure function, remembered because
    every trial of an old run directory asks for the same one."""
    try:
        return experiment_context(parse_config(text, source=source))
    except (LrlabError, ValueError):
        return ()


def checked(name: str, data: Mapping[str, Any], *, path: Path,
            run_dir: Path) -> dict[str, Any]:
    """:func:`upgrade`, for the store's readers: a file it cannot read is a
    :class:`~lrlab.errors.StoreError` naming ``path``."""
    try:
        return upgrade(name, data, run_dir=run_dir)
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from None
