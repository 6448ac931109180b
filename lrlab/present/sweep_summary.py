"""The end of a sweep in words: the table of its trials, and which engine trained them.
The verdicts that follow are :func:`lrlab.present.render.verdict_lines`, as ``lrlab
compare`` gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table

from lrlab.formatting import number
from lrlab.rundir.records import RESULT_COLUMNS, results_columns


def trials_table(rows: Sequence[dict[str, Any]], *, width: int) -> Table:
    """The trials of a sweep (its results.csv rows), a row each, fitted to ``width``
    columns: the trial id, any parameter the sweep varies besides the optimizer, rate and
    seed, the status (with the epoch where training ended early) and the numbers."""
    # The trial id names the optimizer, rate and seed; any other parameter the sweep
    # varies (the batch size, a width) gets a column, or rows would differ only by a hash.
    # (Within one optimizer: RMSprop's rho is no column because SGD has none.)
    varied = [k for k in results_columns(rows)[1:] if k in _params(rows) - set(RESULT_COLUMNS)
              and k not in ("optimizer", "learning_rate", "seed")
              and any(len({str(row.get(k)) for row in rows if row["optimizer"] == name}) > 1
                      for name in {row["optimizer"] for row in rows})]
    # Too narrow for every column: no final loss, short headers, no vertical rules, so that
    # a trial id and its numbers fit in 80.
    narrow = width < 100 + sum(len(k) + 3 for k in varied)
    table = Table(title="Trials", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD)
    keys = list(rows[0]) if rows else list(RESULT_COLUMNS)
    # The verdict's best value and the first metric's test value (accuracy by default).
    best = next((k for k in keys if k.startswith("best_") and k != "best_epoch"),
                "best_val_accuracy")
    tested = next((k for k in keys if k.startswith("test_") and k != "test_loss"),
                  "test_loss")
    columns = {"trial": "trial", "status": "status", "loss": "final loss",
               best: short(best), tested: short(tested), "seconds": "seconds"}
    if narrow:
        columns = {"trial": "trial", "status": "status", best: short(
            best.removeprefix("best_")), tested: short(tested), "seconds": "s"}
    columns = {"trial": columns.pop("trial"), **{k: k for k in varied}, **columns}
    for key, header in columns.items():
        table.add_column(header, justify="left" if key in ("trial", "status") else "right",
                         no_wrap=True)
    for row in rows:
        table.add_row(*(row["trial_id"] if key == "trial" else _status(row)
                        if key == "status" else _shown(row.get(key)) if key in varied
                        else number(row.get(key), 1 if key == "seconds" else 4)
                        for key in columns))
    return table


def _params(rows: list[dict[str, Any]]) -> set[str]:
    """The trials' parameters: the keys before each row's ``status``."""
    found: set[str] = set()
    for row in rows:
        keys = list(row)
        found.update(keys[1:keys.index("status")] if "status" in keys else keys[1:])
    return found


def short(column: str) -> str:
    """A column's header: ``best val_acc`` for best_val_accuracy, ``test_auc``."""
    return column.replace("accuracy", "acc").replace("best_", "best ", 1)


def engine_line(report: Any) -> str:
    """Which engine and device trained, how many trials at once, and the time spent
    compiling, in one line."""
    # Each experiment's workers describe their engine; one line says each kind once.
    described = list(dict.fromkeys(f"{e['name']} on {e['device']} ({e['precision']})"
                                   for e in report.engines))
    line = f"trained by {'; '.join(described) or 'no engine (nothing to train)'}"
    if report.largest_stack > 1:
        line += f", in stacks of up to {report.largest_stack} trials"
    if report.compile_seconds is not None:
        line += f"; compiling took {report.compile_seconds:.1f} s"
    return line


def _status(row: dict[str, Any]) -> str:
    """A trial's status, with the epoch where training ended early."""
    for status, key in (("stopped", "stopped_epoch"), ("diverged", "diverged_epoch")):
        epoch = row.get(key)
        if row["status"] == status and isinstance(epoch, int):
            return f"{status} at {epoch}"
    return str(row["status"])


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
