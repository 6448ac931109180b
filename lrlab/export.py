"""The comparison table as text for other tools: CSV, Markdown, JSON, LaTeX. Pure."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from lrlab.compare import Verdict, varied_columns

FORMATS = ("table", "csv", "markdown", "json", "latex")


def display_columns(summary: pd.DataFrame) -> list[str]:
    """What a reader needs: the sweep only when there are several, the parameters that
    vary, then the statistics. Exports to CSV and JSON keep every column."""
    columns = ["sweep"] if summary["sweep"].nunique() > 1 else []
    columns += ["optimizer", "learning_rate", *varied_columns(summary)]
    return columns + ["mean", "std", "n", "epoch", "final_loss", "diverged", "seconds"]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"
    return str(value)


def to_csv(summary: pd.DataFrame) -> str:
    return summary.to_csv(index=False)


def to_json(summary: pd.DataFrame, verdicts: Sequence[Verdict],
            unreadable: Sequence[dict[str, str]] = ()) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value.item() if hasattr(value, "item") else value

    rows = [{k: clean(v) for k, v in row.items()} for row in summary.to_dict("records")]
    payload = {
        "metric": summary["metric"].iloc[0] if len(summary) else None,
        "at": summary["at"].iloc[0] if len(summary) else None,
        "rows": rows,
        "optimizers": [{k: clean(v) for k, v in asdict(v).items()} for v in verdicts],
        "unreadable": list(unreadable),
    }
    return json.dumps(payload, indent=2) + "\n"


def to_markdown(summary: pd.DataFrame) -> str:
    columns = display_columns(summary)
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if c in ("sweep", "optimizer") else "---:"
                            for c in columns) + "|"]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |"
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
    align = "".join("l" if c in ("sweep", "optimizer") else "r" for c in columns)
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\hline",
             " & ".join(_latex_escape(c) for c in columns) + r" \\", "\\hline"]
    lines += [" & ".join(_latex_escape(_cell(row[c])) for c in columns) + r" \\"
              for _, row in summary.iterrows()]
    lines += ["\\hline", "\\end{tabular}"]
    return "\n".join(lines) + "\n"
