from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from lrlab import export
from lrlab.compare import summarize, verdicts
from lrlab.runs import load_runs


@pytest.fixture
def summary(fixture_sweep: Path) -> pd.DataFrame:
    return summarize(load_runs(fixture_sweep))


def test_csv_parses_back(summary: pd.DataFrame) -> None:
    back = pd.read_csv(io.StringIO(export.to_csv(summary)))
    assert list(back.columns) == list(summary.columns)
    pd.testing.assert_series_equal(back["mean"], summary["mean"], check_names=False)


def test_json_parses_back(summary: pd.DataFrame) -> None:
    data = json.loads(export.to_json(summary, verdicts(summary),
                                     [{"path": "x", "reason": "y"}]))
    assert data["metric"] == "val_accuracy" and data["at"] == "best"
    assert len(data["rows"]) == len(summary)
    assert data["rows"][1]["std"] is None  # NaN becomes null, not an invalid NaN token
    assert {v["optimizer"] for v in data["optimizers"]} == {"sgd", "rmsprop"}
    assert data["unreadable"] == [{"path": "x", "reason": "y"}]


def test_markdown_and_latex_have_a_row_per_setting(summary: pd.DataFrame) -> None:
    markdown = export.to_markdown(summary).splitlines()
    assert markdown[0].startswith("| optimizer | learning_rate | mean |")
    assert len(markdown) == 2 + len(summary)
    cells = [c.strip() for c in markdown[2].strip("|").split("|")]
    assert cells[:3] == ["rmsprop", "0.0010", "0.9700"]
    latex = export.to_latex(summary)
    assert latex.startswith("\\begin{tabular}{lrrrrrrrr}")
    assert latex.count("\\\\") == 1 + len(summary)
    assert "learning\\_rate" in latex and latex.rstrip().endswith("\\end{tabular}")
