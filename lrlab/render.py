"""A comparison as text: the terminal table with its verdict lines, CSV, Markdown, JSON and
LaTeX. Pure (rich renders into a string); the CLI only prints what this returns."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from lrlab.compare import CompareError, Verdict, varied_columns
from lrlab.files import json_safe
from lrlab.formatting import number, rate

FORMATS = ("table", "csv", "markdown", "json", "latex")
# Left-aligned (text) columns; every other column is a number.
_TEXT_COLUMNS = ("sweep", "optimizer")


def render(summary: pd.DataFrame, verdicts: Sequence[Verdict], output_format: str, *,
           tolerance: float, unreadable: Sequence[dict[str, str]] = ()) -> str:
    """The comparison in ``output_format`` (one of FORMATS)."""
    if output_format == "table":
        return to_table(summary, verdicts, tolerance=tolerance)
    if output_format == "csv":
        return to_csv(summary)
    if output_format == "markdown":
        return to_markdown(summary)
    if output_format == "latex":
        return to_latex(summary)
    if output_format == "json":
        return to_json(summary, verdicts, unreadable)
    raise CompareError(f"--format {output_format!r}: expected one of: {', '.join(FORMATS)}")


def display_columns(summary: pd.DataFrame) -> list[str]:
    """What a reader needs: the sweep only when there are several, the parameters that
    vary, then the statistics. Exports to CSV and JSON keep every column."""
    columns = ["sweep"] if summary["sweep"].nunique() > 1 else []
    columns += ["optimizer", "learning_rate", *varied_columns(summary)]
    return columns + ["mean", "std", "n", "epoch", "final_loss", "diverged", "seconds"]


def _cell(column: str, value: Any, *, missing: str) -> str:
    if column == "learning_rate":
        return rate(value)
    if column in ("n", "diverged"):
        return str(int(value))
    if column in ("epoch", "seconds"):
        return number(value, 1, missing=missing)
    return number(value, missing=missing)


def verdict_line(v: Verdict, *, metric: str, tolerance: float) -> str:
    """One optimizer's verdict in a sentence: what ``compare`` and ``sweep`` print."""
    name = f"{v.optimizer} ({v.setting})" if v.setting else v.optimizer
    spread = f" ± {number(v.best_std)}" if v.best_n > 1 else ""
    stable = rate(v.largest_stable) if v.largest_stable is not None else "none"
    return (f"{name}: best learning rate {rate(v.best_learning_rate)} ({metric} "
            f"{number(v.best_mean)}{spread}, n={v.best_n}); good range "
            f"{rate(v.good_low)} to {rate(v.good_high)} "
            f"({v.good_count} rate(s) within {tolerance:g} of the best); largest rate with "
            f"no diverged seed: {stable}")


def to_table(summary: pd.DataFrame, verdicts: Sequence[Verdict], *, tolerance: float) -> str:
    """The terminal table (mean ± std in one column) and a verdict line per optimizer."""
    metric, at = summary["metric"].iloc[0], summary["at"].iloc[0]
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, highlight=False, force_terminal=False,
                      soft_wrap=True)
    table = Table(title=f"{metric} at {at} epoch, mean ± std over seeds")
    columns = [c for c in display_columns(summary) if c != "std"]
    for column in columns:
        table.add_column(f"{metric} (mean ± std)" if column == "mean" else column,
                         justify="left" if column in _TEXT_COLUMNS else "right", no_wrap=True)
    for _, row in summary.iterrows():
        cells = [_cell(c, row[c], missing="-") for c in columns]
        if row["n"] >= 2:
            cells[columns.index("mean")] += f" ± {number(row['std'])}"
        table.add_row(*cells)
    console.print(table)
    for verdict in verdicts:
        console.print(verdict_line(verdict, metric=metric, tolerance=tolerance), markup=False)
    return buffer.getvalue()


def to_csv(summary: pd.DataFrame) -> str:
    return summary.to_csv(index=False)


def to_json(summary: pd.DataFrame, verdicts: Sequence[Verdict],
            unreadable: Sequence[dict[str, str]] = ()) -> str:
    payload = {
        "metric": summary["metric"].iloc[0] if len(summary) else None,
        "at": summary["at"].iloc[0] if len(summary) else None,
        "rows": summary.to_dict("records"),
        "optimizers": [asdict(v) for v in verdicts],
        "unreadable": list(unreadable),
    }
    return json.dumps(json_safe(payload), indent=2) + "\n"


def to_markdown(summary: pd.DataFrame) -> str:
    columns = display_columns(summary)
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if c in _TEXT_COLUMNS else "---:" for c in columns) + "|"]
    lines += ["| " + " | ".join(_cell(c, row[c], missing="") for c in columns) + " |"
              for _, row in summary.iterrows()]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"),
                          ("$", r"\$"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
                          ("}", r"\}")):
        text = text.replace(char, escaped)
    return text


def to_latex(summary: pd.DataFrame) -> str:
    columns = display_columns(summary)
    align = "".join("l" if c in _TEXT_COLUMNS else "r" for c in columns)
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\hline",
             " & ".join(_latex_escape(c) for c in columns) + r" \\", "\\hline"]
    lines += [" & ".join(_latex_escape(_cell(c, row[c], missing="")) for c in columns) + r" \\"
              for _, row in summary.iterrows()]
    lines += ["\\hline", "\\end{tabular}"]
    return "\n".join(lines) + "\n"
