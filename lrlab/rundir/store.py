"""The run directory: the only code that writes run files and the only code that reads
them back (for resuming, and for every reader: loading, status, the report, the export).

Layout (documented in docs/run-directory.md)::

    <runs>/<name>-<YYYYmmdd-HHMMSS>/
        sweep.yaml            resolved config
        environment.json      what kind of run; every session: start, end, how it ended,
                              command, versions, host, backend, data (path, hash, sizes)
        .lock                 who writes it now (see lrlab.rundir.lock)
        results.csv           one row per trial, rewritten as trials finish
        trials/<trial-id>/
            params.json       the trial's parameters
            history.csv       one row per epoch (HISTORY_COLUMNS)
            result.json       status, final/best/test metrics, wall time

Every file is written to a temporary file in the same folder and renamed over the target
(:func:`lrlab.rundir.files.atomic_write`), so a crash or a kill leaves either the old file
or the new one, never half of one. Column names come from :mod:`lrlab.rundir.records`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lrlab.errors import StoreError, stop_reason
from lrlab.experiment.config import MAX_CONFIG_BYTES
from lrlab.experiment.trials import Addition
from lrlab.formatting import plural
from lrlab.rundir.files import (
    FOLDER,
    atomic_write,
    atomic_write_text,
    csv_text,
    json_text,
    kind_of,
    read_bytes,
    read_text,
    real_dir,
)
from lrlab.rundir.formats import (
    CONFIG_FILE,
    CONTEXT_RECORDED,
    ENVIRONMENT_FILE,
    FORMAT,
    FORMAT_KEY,
    HISTORY_FILE,
    KINDS,
    PARAMS_FILE,
    RANGE_TEST,  # noqa: F401 - a name the store's callers import from here
    RESULT_FILE,
    RESULTS_FILE,
    SWEEP,
    TRIALS_DIR,
    checked,
    format_of,
    stamped,
)
from lrlab.rundir.lock import writer_lock
from lrlab.rundir.records import (
    CURVATURE_COLUMNS,
    HISTORY_COLUMNS,
    SHARPNESS_COLUMNS,
    EpochRecord,
    TrialResult,
    check_history_header,
    parse_curvature_row,
    parse_halving,
    parse_history_row,
    parse_params,
    parse_path,
    parse_plan,
    parse_range_test,
    parse_session,
    parse_settle,
    timestamp,
)

RANGE_TEST_PLOT = "findlr.png"  # beside a range test's result.json
# A sampled sweep's points (see lrlab.experiment.trials.Design): resumed, never redrawn.
DESIGN_FILE = "design.json"
# The paths of a too-small, the best and a too-large rate on their loss surface (lrlab path).
PATH_FILE = "path.json"
# An adaptive sweep's rounds: what each added, why, and the numbers that decided it.
SETTLE_FILE = "settle.json"
# A halving sweep's rule and each rung's decisions: which rates it dropped, and why.
HALVING_FILE = "halving.json"
# Every trial the sweep plans, in its order, as the plan grows (rounds, sampled points):
# what readers count the missing against.
PLAN_FILE = "plan.json"
# A trial's sharpness measurements (training.sharpness), one row per measurement.
CURVATURE_FILE = "curvature.csv"
# A trial paused at a halving rung: its state (the engine's arrays) and epoch, removed once
# the trial is pruned or finished.
CHECKPOINT_FILE = "checkpoint.npz"
MAX_CHECKPOINT_BYTES = 1 << 34  # 16 GB: a network of a few billion weights
# Space held while a session runs, given back to record its end on a full disk.
RESERVE_FILE, RESERVE_BYTES = ".reserve", 1024 * 1024
# Where --resume keeps the files of a trial it found damaged, before training it again.
DAMAGED_DIR = "damaged"


def _finite_or_empty(row: dict[str, float]) -> dict[str, float | None]:
    """A row as CSV holds it: NaN (not measured) as an empty cell."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def safe_name(name: str) -> str:
    """A sweep name reduced to one harmless path component (no '/', '..', or spaces)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:80]
    return cleaned or "sweep"


class RunStore:
    """One sweep's run directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._trials_format: int | None = None  # see trials_format()

    @classmethod
    def create(cls, runs_dir: Path, name: str, *, now: datetime) -> RunStore:
        """Make a new, empty run directory under ``runs_dir``; never reuses one.

        ``mkdir`` fails if the folder exists, so two sweeps started in the same second
        get ``-2``, ``-3``... instead of sharing a directory.
        """
        stem = f"{safe_name(name)}-{now:%Y%m%d-%H%M%S}"
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
            for attempt in range(1, 1000):
                root = runs_dir / (stem if attempt == 1 else f"{stem}-{attempt}")
                try:
                    root.mkdir()
                except FileExistsError:
                    continue
                (root / TRIALS_DIR).mkdir()
                return cls(root)
        except OSError as exc:
            raise StoreError(f"{runs_dir}: cannot create a run directory "
                             f"({exc.strerror or exc}); choose another `runs_dir`",
                             mentions=["runs_dir"]) from None
        raise StoreError(f"{runs_dir}: too many run directories named {stem}-*")

    @classmethod
    def start(cls, held: contextlib.ExitStack, runs_dir: Path, name: str, *,
              config: dict[str, Any], command: str, now: datetime) -> RunStore:
        """What every sweep and range test does first: a new run directory, locked for
        the rest of ``held`` (one writer), holding its resolved config."""
        store = cls.create(runs_dir, name, now=now)
        try:
            held.enter_context(writer_lock(store.root, command=command))
            store.write_config(config)
        except StoreError:
            # A full disk, most often: leave no empty run directory behind to mislead.
            shutil.rmtree(store.root, ignore_errors=True)
            raise
        return store

    @classmethod
    def open(cls, root: Path, *, kind: str = SWEEP) -> RunStore:
        """An existing run directory of ``kind``, for ``--resume``."""
        if not (root / CONFIG_FILE).is_file():
            raise StoreError(f"{root}: not a run directory (no {CONFIG_FILE}); expected a "
                             f"folder written by 'lrlab sweep'")
        store = cls(root)
        try:
            found = store.kind()
        except StoreError as exc:  # environment.json, which a session appends to
            raise StoreError(f"{exc}; a resume appends its session there: repair it, or move "
                             f"it aside (its sessions are then forgotten)") from None
        if found != kind:
            raise StoreError(f"{root}: a {found} run directory; only a {kind} can be resumed "
                             f"(start a new one instead)")
        return store

    def kind(self) -> str:
        """sweep or range-test, as recorded (or, in an older directory, as its files say:
        see :func:`lrlab.rundir.formats.upgrade`)."""
        return self.read_environment()["kind"]

    # -- sweep-level files --------------------------------------------------------------

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.root / CONFIG_FILE, yaml.safe_dump(config, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        path = self.root / CONFIG_FILE
        try:
            data = yaml.safe_load(self.read_config_text())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise StoreError(f"{where}: unreadable run config (YAML: "
                             f"{exc.problem or exc.context})") from None
        except yaml.YAMLError as exc:
            raise StoreError(f"{path}: unreadable run config (YAML: "
                             f"{str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise StoreError(f"{path}: corrupted run config; expected a mapping")
        return data

    def write_design(self, design: dict[str, Any]) -> None:
        self.write_json(DESIGN_FILE, design)

    def read_design(self) -> dict[str, Any] | None:
        """design.json (None: a sweep without sampled settings, or one from before
        lrlab recorded its points)."""
        path = self.root / DESIGN_FILE
        return self._read_json(path) if os.path.lexists(path) else None

    def write_settle(self, record: dict[str, Any]) -> None:
        self.write_json(SETTLE_FILE, record)

    def read_settle(self) -> dict[str, Any] | None:
        """settle.json (None: not an adaptive sweep)."""
        return self._read_checked(SETTLE_FILE, parse_settle)

    def write_halving(self, record: dict[str, Any]) -> None:
        self.write_json(HALVING_FILE, record)

    def read_halving(self) -> dict[str, Any] | None:
        """halving.json (None: not a halving sweep, or no rung decided yet)."""
        return self._read_checked(HALVING_FILE, parse_halving)

    def write_path(self, record: dict[str, Any]) -> None:
        self.write_json(PATH_FILE, record)

    def read_path(self) -> dict[str, Any] | None:
        """path.json (None: lrlab path has not traced this run)."""
        return self._read_checked(PATH_FILE, parse_path)

    def write_plan(self, plan: dict[str, Any]) -> None:
        self.write_json(PLAN_FILE, plan)

    def read_plan(self) -> dict[str, Any] | None:
        """plan.json (None: a run from before lrlab recorded its plan)."""
        return self._read_checked(PLAN_FILE, parse_plan)

    def _read_checked(self, name: str, parse: Callable[[Any], dict[str, Any]]
                      ) -> dict[str, Any] | None:
        """A JSON file of the run directory as ``parse`` checks it (None: absent)."""
        path = self.root / name
        if not os.path.lexists(path):
            return None
        try:
            return parse(self._read_json(path))
        except ValueError as exc:
            raise StoreError(f"{path}: {exc}") from None

    def read_additions(self) -> list[Addition]:
        """The trials an adaptive sweep added, round after round, in order ([] if none)."""
        record = self.read_settle()
        if record is None:
            return []
        path = self.root / SETTLE_FILE
        rounds = record.get("rounds")
        if not isinstance(rounds, list):
            raise StoreError(f"{path}: malformed; 'rounds' should be a list")
        additions = []
        for number, found in enumerate(rounds, start=1):
            added = found.get("added", []) if isinstance(found, dict) else None
            if not isinstance(added, list):
                raise StoreError(f"{path}: round {number}: 'added' should be a list")
            try:
                additions += [Addition.from_dict(a) for a in added]
            except ValueError as exc:
                raise StoreError(f"{path}: round {number}: {exc}") from None
        return additions

    def read_environment(self) -> dict[str, Any]:
        """environment.json as ``{"kind": ..., "sessions": [...]}``, in today's form
        whatever its format; none reads as no sessions (and the kind its files show)."""
        path = self.root / ENVIRONMENT_FILE
        data = self._read_json(path) if os.path.lexists(path) else checked(
            ENVIRONMENT_FILE, {FORMAT_KEY: FORMAT, "sessions": []}, path=path,
            run_dir=self.root)
        if not isinstance(data.get("sessions"), list):
            raise StoreError(f"{path}: malformed; 'sessions' should be a list")
        if data.get("kind") is not None and data["kind"] not in KINDS:
            raise StoreError(f"{path}: unknown kind {data['kind']!r}; expected "
                             f"{' or '.join(KINDS)}")
        for number, session in enumerate(data["sessions"], start=1):
            try:
                parse_session(session)
            except ValueError as exc:
                raise StoreError(f"{path}: session {number}: {exc}") from None
        return data

    def start_session(self, session: dict[str, Any], *, kind: str) -> None:
        """Append a session to environment.json (never overwriting the earlier ones)."""
        new = not os.path.lexists(self.root / ENVIRONMENT_FILE)
        environment = self.read_environment()
        if new:  # a run directory's first session says what it holds; later ones keep it
            environment["kind"] = kind
        environment["sessions"].append({**session, "ended_at": None, "ended": None})
        atomic_write_text(self.root / ENVIRONMENT_FILE, json_text(stamped(
            {"kind": environment["kind"], "sessions": environment["sessions"]})))

    def end_session(self, *, ended: str) -> None:
        """Record when and how the current (last) session ended."""
        self.update_session(ended_at=timestamp(), ended=ended)

    def update_session(self, **fields: Any) -> None:
        """Add ``fields`` to the current (last) session: what is learnt while it runs."""
        environment = self.read_environment()
        if environment["sessions"]:
            environment["sessions"][-1].update(fields)
            atomic_write_text(self.root / ENVIRONMENT_FILE, json_text(stamped(environment)))

    @contextlib.contextmanager
    def session(self, session: dict[str, Any], *, kind: str,
                ended: Callable[[], str | None] = lambda: None) -> Iterator[None]:
        """A session of ``kind`` in environment.json for the ``with`` block, its end
        recorded however the block ends: ``ended()`` (default "completed") when it returns,
        ``interrupted (SIGTERM)`` and the like on a stop, ``failed (...)`` on an error."""
        self.start_session(session, kind=kind)
        reserve = self._reserve()
        try:
            yield
        except BaseException as exc:
            how = (stop_reason(exc) if isinstance(exc, KeyboardInterrupt)
                   else f"failed ({type(exc).__name__}: {exc})")
            _unlink(reserve)  # room to record the end, if the disk is what failed
            with contextlib.suppress(StoreError):  # the original error matters more
                self.end_session(ended=how)
            raise
        _unlink(reserve)
        self.end_session(ended=ended() or "completed")

    def _reserve(self) -> Path:
        """Set disk space aside for the session's last words: on a full disk, the space is
        given back before recording how the session ended (the results table and
        environment.json), so that the run directory says what happened."""
        path = self.root / RESERVE_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write ({exc.strerror or exc})") from None
        try:
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.write(fd, os.urandom(RESERVE_BYTES))  # no fallocate there: real bytes
        except OSError as exc:
            os.close(fd)
            _unlink(path)
            raise StoreError(f"{self.root}: cannot set {RESERVE_BYTES // 1024} KB aside for "
                             f"the session's records ({exc.strerror or exc})") from None
        os.close(fd)
        return path

    def write_results_table(self, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
        atomic_write_text(self.root / RESULTS_FILE, csv_text(columns, rows))

    def write_table(self, name: str, columns: Sequence[str],
                    rows: Iterable[dict[str, Any]]) -> Path:
        """A CSV file at the top of the run directory (range-test curves)."""
        path = self.root / name
        atomic_write_text(path, csv_text(columns, rows))
        return path

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        path = self.root / name
        atomic_write_text(path, json_text(stamped(data)))
        return path

    def _read_json(self, path: Path) -> dict[str, Any]:
        """A JSON file at the top of the run directory, in today's form."""
        return checked(path.name, _read_json_object(path), path=path, run_dir=self.root)

    # -- per-trial files ----------------------------------------------------------------

    def trial_dir(self, trial_id: str) -> Path:
        """The trial's folder, made if missing; a symbolic link there is refused."""
        return real_dir(self.root, TRIALS_DIR, trial_id)

    def write_params(self, trial_id: str, params: dict[str, Any]) -> None:
        atomic_write_text(self.trial_dir(trial_id) / PARAMS_FILE,
                          json_text(stamped(params, self.trials_format())))

    def write_history(self, trial_id: str, history: Sequence[EpochRecord],
                      columns: Sequence[str] | None = None) -> None:
        """history.csv, its columns the records' (``columns`` where there are none yet)."""
        columns = history[0].columns() if history else (columns or HISTORY_COLUMNS)
        atomic_write_text(self.trial_dir(trial_id) / HISTORY_FILE, csv_text(
            columns, (record.row() for record in history)))

    def write_curvature(self, trial_id: str, rows: Sequence[dict[str, float]]) -> None:
        """curvature.csv: the trial's measurements of its loss surface (sharpness and
        gradient noise: CURVATURE_COLUMNS)."""
        atomic_write_text(self.trial_dir(trial_id) / CURVATURE_FILE,
                          csv_text(CURVATURE_COLUMNS, (_finite_or_empty(r) for r in rows)))

    def read_curvature(self, trial_id: str) -> list[dict[str, float]]:
        """:func:`read_curvature` of one of this run's trials."""
        return read_curvature(self.root / TRIALS_DIR / trial_id)

    def write_result(self, result: TrialResult) -> None:
        atomic_write_text(self.trial_dir(result.trial_id) / RESULT_FILE,
                          json_text(stamped(result.to_json())))

    def write_checkpoint(self, trial_id: str, *, epoch: int,
                         state: Sequence[np.ndarray]) -> None:
        def write(handle: Any) -> None:
            np.savez(handle, np.asarray(epoch), *state)

        atomic_write(self.trial_dir(trial_id) / CHECKPOINT_FILE, write, binary=True)

    def read_checkpoint(self, trial_id: str, *, epoch: int) -> tuple[np.ndarray, ...] | None:
        """A paused trial's state after ``epoch`` (None: missing, damaged, or of another
        epoch; the trial then trains again from its first epoch, to the same numbers)."""
        path = self.root / TRIALS_DIR / trial_id / CHECKPOINT_FILE
        try:
            data = read_bytes(path, limit=MAX_CHECKPOINT_BYTES)
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                found = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        except (OSError, StoreError, ValueError, KeyError, EOFError):
            return None
        if not found or found[0].shape != () or int(found[0]) != epoch:
            return None
        return tuple(found[1:])

    def remove_checkpoint(self, trial_id: str) -> None:
        _unlink(self.root / TRIALS_DIR / trial_id / CHECKPOINT_FILE)

    def clear_result(self, trial_id: str) -> None:
        """Remove a trial's result.json as it trains again (a paused trial promoted to
        the next rung, an interrupted one retried): a kill meanwhile leaves a trial with
        no result, which --resume trains, rather than a result its history outgrew."""
        _unlink(self.root / TRIALS_DIR / trial_id / RESULT_FILE)

    def trial_ids(self) -> list[str]:
        """Every trial folder (started trials have params.json), sorted; a symbolic link
        in place of trials/ is refused, links among its entries left out."""
        trials = self.root / TRIALS_DIR
        if not os.path.lexists(trials):
            return []
        if (kind := kind_of(trials)) != FOLDER:
            raise StoreError(f"{trials}: {kind}, not a folder; a run directory's trials are "
                             f"in a real folder")
        return sorted(t.name for t in trials.iterdir() if t.is_dir() and not t.is_symlink())

    def trials_format(self) -> int:
        """The format its trials were written in, which their ids follow (one from before
        :data:`~lrlab.rundir.formats.CONTEXT_RECORDED` leaves the experiment's context
        out); a resumed directory keeps it. Today's for a directory with no trials yet."""
        if self._trials_format is None:
            self._trials_format = FORMAT
            for trial_id in self.trial_ids():
                path = self.root / TRIALS_DIR / trial_id / PARAMS_FILE
                try:
                    self._trials_format = format_of(PARAMS_FILE, _read_json_object(path))
                    break
                except (StoreError, ValueError):
                    continue
        return self._trials_format

    def has_legacy_ids(self) -> bool:
        """Whether its trial ids leave the experiment's context out (see
        :meth:`trials_format`)."""
        return self.trials_format() < CONTEXT_RECORDED

    def epochs_done(self, trial_id: str) -> int:
        """Epochs a trial in progress has finished (history.csv is rewritten whole after
        each epoch); 0 when it cannot tell."""
        try:
            return len(_read_history(self.root / TRIALS_DIR / trial_id / HISTORY_FILE))
        except StoreError:
            return 0

    def read_trial(self, trial_id: str) -> tuple[dict[str, Any], TrialResult | None,
                                                  list[dict[str, float]]]:
        """:func:`read_trial` of one of this run's trials."""
        return read_trial(self.root / TRIALS_DIR / trial_id)

    def set_aside(self, trial_id: str) -> Path:
        """Move a damaged trial's folder to ``damaged/<trial-id>-<time>`` (nothing is
        deleted), so that it trains again from scratch; return where it went."""
        source = self.root / TRIALS_DIR / trial_id
        stamp = re.sub(r"[^0-9T]", "", timestamp())
        target = real_dir(self.root, DAMAGED_DIR) / f"{trial_id}-{stamp}"
        for attempt in range(2, 1000):
            if not os.path.lexists(target):
                break
            target = target.with_name(f"{trial_id}-{stamp}-{attempt}")
        try:
            os.rename(source, target)
        except OSError as exc:
            raise StoreError(f"{source}: cannot move the damaged trial aside to {target} "
                             f"({exc.strerror or exc})") from None
        return target

    def read_config_text(self) -> str:
        """sweep.yaml as written (for showing it)."""
        path = self.root / CONFIG_FILE
        try:
            return read_text(path, limit=MAX_CONFIG_BYTES)
        except FileNotFoundError:
            raise StoreError(f"{path}: missing") from None

    def read_range_test(self) -> dict[str, Any]:
        """A range test's result.json, checked."""
        path = self.root / RESULT_FILE
        try:
            return parse_range_test(self._read_json(path))
        except StoreError as exc:
            raise StoreError(f"unreadable range-test result: {exc}") from None
        except ValueError as exc:
            raise StoreError(f"{path}: {exc}") from None

    def read_range_test_plot(self) -> bytes | None:
        """A range test's findlr.png, or None when it has none (or not a readable one)."""
        try:
            return read_bytes(self.root / RANGE_TEST_PLOT)
        except (OSError, StoreError):
            return None


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def read_result(trial_dir: Path) -> TrialResult:
    """A trial's ``result.json``; :class:`StoreError` naming the file if it is damaged."""
    path = trial_dir / RESULT_FILE
    try:
        return TrialResult.from_json(checked(RESULT_FILE, _read_json_object(path), path=path,
                                             run_dir=trial_dir.parent.parent))
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from None


def read_curvature(trial_dir: Path) -> list[dict[str, float]]:
    """A trial's curvature.csv rows ([]: not measured); StoreError if damaged."""
    path = trial_dir / CURVATURE_FILE
    if not os.path.lexists(path):
        return []
    reader = csv.reader(read_text(path).splitlines())
    header = next(reader, None)
    if header is None or tuple(header) not in (CURVATURE_COLUMNS, SHARPNESS_COLUMNS):
        raise StoreError(f"{path}: expected the header {','.join(CURVATURE_COLUMNS)}")
    rows = []
    for number, cells in enumerate(reader, start=2):
        try:
            if len(cells) != len(header):
                raise ValueError(f"expected {len(header)} fields, got {len(cells)}")
            rows.append(parse_curvature_row(cells))
        except ValueError as exc:
            raise StoreError(f"{path}: line {number}: {exc}") from None
    return rows


def read_trial(
        trial_dir: Path) -> tuple[dict[str, Any], TrialResult | None, list[dict[str, float]]]:
    """A trial's params, result and history rows, each checked. The result is None for a
    trial still training (params.json, no result.json yet), whose history may be absent
    too; a trial with a result has a history of exactly its epochs.

    Raises :class:`StoreError` naming the file and what is wrong with it, so that one damaged
    trial can be reported and skipped (or, by ``--resume``, trained again).
    """
    path = trial_dir / PARAMS_FILE
    try:
        params = parse_params(checked(PARAMS_FILE, _read_json_object(path), path=path,
                                      run_dir=trial_dir.parent.parent))
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from None
    if not os.path.lexists(trial_dir / RESULT_FILE):
        if not os.path.lexists(trial_dir / HISTORY_FILE):
            return params, None, []
        return params, None, _read_history(trial_dir / HISTORY_FILE)
    result = read_result(trial_dir)
    history = _read_history(trial_dir / HISTORY_FILE)
    if len(history) != result.epochs:
        raise StoreError(f"{trial_dir / HISTORY_FILE}: holds {plural(len(history), 'epoch')}, but "
                         f"{RESULT_FILE} says {result.epochs}; the history is partial or "
                         f"damaged")
    return params, result, history


def _read_history(path: Path) -> list[dict[str, float]]:
    """history.csv's rows; epochs numbered 1, 2, 3... in order (it is rewritten whole)."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: missing") from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        try:
            if header is None:
                raise ValueError(f"expected {','.join(HISTORY_COLUMNS)}")
            columns = check_history_header(header)
        except ValueError as exc:
            shown = "none" if header is None else ",".join(header)[:80]
            raise StoreError(f"{path}: unexpected header {shown!r}; {exc}") from None
        rows = []
        for number, line in enumerate(reader, start=2):
            try:
                row = parse_history_row(line, columns)
            except ValueError as exc:
                raise StoreError(f"{path}:{number}: {exc}") from None
            if row["epoch"] != len(rows) + 1:
                raise StoreError(f"{path}:{number}: epoch {row['epoch']:g}; expected "
                                 f"{len(rows) + 1} (epochs are numbered 1, 2, 3... in order)")
            rows.append(row)
    except csv.Error as exc:
        raise StoreError(f"{path}: unreadable CSV ({exc})") from None
    return rows


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path))
    except FileNotFoundError:
        raise StoreError(f"{path}: missing") from None
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{path}: malformed JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: malformed; expected a JSON object")
    return data
