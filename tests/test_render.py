from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from lrlab import render
from lrlab.compare import CompareError, summarize, verdicts
from lrlab.runs import load_runs


@pytest.fixture
def summary(fixture_sweep: Path) -> pd.DataFrame:
    return summarize(load_runs(fixture_sweep))


def test_csv_parses_back(summary: pd.DataFrame) -> None:
    back = pd.read_csv(io.StringIO(render.to_csv(summary)))
    assert list(back.columns) == list(summary.columns)
    pd.testing.assert_series_equal(back["mean"], summary["mean"], check_names=False)


def test_json_parses_back(summary: pd.DataFrame) -> None:
    data = json.loads(render.to_json(summary, verdicts(summary),
                                     [{"path": "x", "reason": "y"}]))
    assert data["metric"] == "val_accuracy" and data["at"] == "best"
    assert len(data["rows"]) == len(summary)
    assert data["rows"][1]["std"] is None  # NaN becomes null, not an invalid NaN token
    assert {v["optimizer"] for v in data["optimizers"]} == {"sgd", "rmsprop"}
    assert data["unreadable"] == [{"path": "x", "reason": "y"}]


def test_markdown_and_latex_have_a_row_per_setting(summary: pd.DataFrame) -> None:
    markdown = render.to_markdown(summary).splitlines()
    assert markdown[0].startswith("| optimizer | learning_rate | mean |")
    assert len(markdown) == 2 + len(summary)
    cells = [c.strip() for c in markdown[2].strip("|").split("|")]
    assert cells[:3] == ["rmsprop", "0.001", "0.9700"]
    latex = render.to_latex(summary)
    assert latex.startswith("\\begin{tabular}{lrrrrrrrr}")
    assert latex.count("\\\\") == 1 + len(summary)
    assert "learning\\_rate" in latex and latex.rstrip().endswith("\\end{tabular}")


def test_the_terminal_table_and_verdict_lines(summary: pd.DataFrame) -> None:
    found = verdicts(summary)
    text = render.render(summary, found, "table", tolerance=0.01)
    assert "val_accuracy at best epoch, mean ± std over seeds" in text
    lines = [render.verdict_line(v, metric="val_accuracy", tolerance=0.01) for v in found]
    assert all(line in text for line in lines)
    sgd = next(line for line in lines if line.startswith("sgd:"))
    # sgd 0.1 (seeds 0.95, 0.96) beats 0.01 (0.88, 0.90) and 1.0, where one seed diverged.
    assert sgd.startswith("sgd: best learning rate 0.1 (val_accuracy 0.9550 ± 0.0071, n=2)")
    assert sgd.endswith("largest rate with no diverged seed: 0.1")


def test_every_format_renders_and_an_unknown_one_is_named(summary: pd.DataFrame) -> None:
    found = verdicts(summary)
    for output_format in render.FORMATS:
        assert render.render(summary, found, output_format, tolerance=0.01).strip()
    with pytest.raises(CompareError, match="--format 'yaml': expected one of: table, csv"):
        render.render(summary, found, "yaml", tolerance=0.01)
