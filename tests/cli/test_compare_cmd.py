from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.cli import app

runner = CliRunner()


def test_table_verdicts_and_plots(fixture_sweep: Path) -> None:
    result = runner.invoke(app, ["compare", str(fixture_sweep.parent)])
    assert result.exit_code == 0, result.output
    assert "val_accuracy at each trial's best epoch, over seeds" in result.stdout
    assert "0.9550 ± 0.0071" in result.stdout
    text = " ".join(result.stdout.split())  # sentences wrap at the width, between words
    assert ("sgd: best learning rate 0.1 (val_accuracy 0.9550, 95% CI 0.8915 to 1.0000, "
            "2 seeds). Tied set: 0.01, 0.1 (best): not told apart at the 5% level (paired by "
            "seed, Holm-corrected over 2 comparisons with the best).") in text  # 1.0 fails
    assert "Learns up to: 0.1 (the largest rate" in text
    plots = fixture_sweep / "plots"
    assert f"plot: {plots / 'sensitivity-val_accuracy.svg'}" in result.stderr
    assert (plots / "learning-curves.svg").stat().st_size > 0
    assert not list(plots.glob("*.png"))  # matplotlib's PNGs only with --png
    result = runner.invoke(app, ["compare", str(fixture_sweep.parent), "--png"])
    assert result.exit_code == 0, result.output
    assert (plots / "learning-curves.png").read_bytes()[:4] == b"\x89PNG"


def test_top_and_sort_change_the_rows_not_the_verdicts(fixture_sweep: Path) -> None:
    def verdicts(*options: str) -> tuple[list, int]:
        result = runner.invoke(app, ["compare", str(fixture_sweep), "--format", "json",
                                     "--no-plots", *options])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        return data["optimizers"], len(data["rows"])

    everything, rows = verdicts()
    assert rows == 5
    assert verdicts("--top", "1") == (everything, 1)
    assert verdicts("--sort", "seconds", "--top", "2") == (everything, 2)


def test_formats_and_output_file(fixture_sweep: Path, tmp_path: Path) -> None:
    csv = runner.invoke(app, ["compare", str(fixture_sweep), "--format", "csv", "--no-plots",
                              "--where", "optimizer=sgd", "--metric", "test_accuracy"])
    assert csv.exit_code == 0, csv.output
    table = pd.read_csv(io.StringIO(csv.stdout))
    assert list(table["learning_rate"]) == [0.01, 0.1, 1.0]
    assert set(table["metric"]) == {"test_accuracy"}
    out = tmp_path / "result.json"
    written = runner.invoke(app, ["compare", str(fixture_sweep), "--format", "json",
                                  "--output", str(out), "--no-plots", "--top", "1"])
    assert written.exit_code == 0 and written.stdout == ""
    assert len(json.loads(out.read_text())["rows"]) == 1
    assert not (fixture_sweep / "plots").exists()


def test_unreadable_trial_is_reported_not_fatal(fixture_sweep: Path) -> None:
    broken = sorted((fixture_sweep / "trials").iterdir())[0]
    (broken / "result.json").write_text("{")
    result = runner.invoke(app, ["compare", str(fixture_sweep), "--no-plots"])
    assert result.exit_code == 0
    assert f"skipped unreadable trial {broken}" in result.stderr


def test_bad_input_is_one_line(fixture_sweep: Path, tmp_path: Path) -> None:
    one_line_error(runner.invoke(app, ["compare", str(tmp_path / "nope")]),
                   "nope: no such file or directory")
    (tmp_path / "empty").mkdir()
    one_line_error(runner.invoke(app, ["compare", str(tmp_path / "empty")]), "no trials found")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--metric", "acc"]),
                   "--metric 'acc': not recorded; expected one of:")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--at", "9"]),
                   "--at 9: beyond the recorded epochs")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--where", "x"]),
                   "--where 'x': expected COLUMN=VALUE")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--format", "xml"]),
                   "--format 'xml': expected one of: table, csv")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--plots",
                                       str(blocker / "plots")]), "cannot write plots")


def test_the_table_fits_the_terminal_and_words_are_never_cut(fixture_sweep: Path) -> None:
    """At 80 columns every row of the table stays on one line (columns are dropped, not
    wrapped), and the sentences wrap between words."""
    wide = runner.invoke(app, ["compare", str(fixture_sweep), "--no-plots"],
                         env={"COLUMNS": "200"})
    narrow = runner.invoke(app, ["compare", str(fixture_sweep), "--no-plots"],
                           env={"COLUMNS": "80"})
    assert wide.exit_code == narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "p (Holm)" in wide.stdout and "p (Holm)" not in narrow.stdout
    rows = [line for line in lines if line.strip().startswith(("sgd ", "rmsprop "))]
    assert len(rows) == 6  # each of the fixture's six rates on one line of its own
    words = set(" ".join(wide.stdout.split()).split())
    cut = [w for w in " ".join(narrow.stdout.split()).split() if w not in words
           and not set(w) <= set("━─┃│┏┓┗┛┡┩╇┳┻╋ -")]
    assert cut == []  # no word of the wide output was broken in two


def test_the_table_is_printed_before_plots_that_cannot_be_written(fixture_sweep: Path,
                                                                  tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["compare", str(fixture_sweep), "--plots", str(blocker)])
    assert "sgd: best learning rate 0.1" in " ".join(result.stdout.split())
    one_line_error(result, "cannot write plots", "--no-plots", "--plots")
    outside = tmp_path / "outside"
    outside.mkdir()
    (fixture_sweep / "plots").symlink_to(outside)  # planted: never written through
    result = runner.invoke(app, ["compare", str(fixture_sweep)])
    assert "sgd: best learning rate 0.1" in " ".join(result.stdout.split())
    one_line_error(result, "plots: a symbolic link, not a folder", "--no-plots")
    assert list(outside.iterdir()) == []


def test_a_full_disk_still_gets_the_table(fixture_sweep: Path, small_disk: Path) -> None:
    from helpers import fill_disk

    fill_disk(small_disk)
    result = runner.invoke(app, ["compare", str(fixture_sweep), "--plots",
                                 str(small_disk / "plots")])
    assert "sgd: best learning rate 0.1" in " ".join(result.stdout.split())
    one_line_error(result, "No space left on device", "--no-plots", "--plots")
    assert list((small_disk / "plots").iterdir()) == []  # no partial plot left


def test_an_objective_naming_a_column_no_trial_recorded_is_one_line(fixture_sweep: Path) -> None:
    # A damaged result.json whose objective claims a metric its history never had.
    for path in fixture_sweep.glob("trials/*/result.json"):
        data = json.loads(path.read_text())
        data["objective"] = {"loss": "sparse_categorical_crossentropy", "verdict": "val_zzz",
                             "metrics": [{"name": "zzz", "key": "zzz", "direction": "max"}]}
        path.write_text(json.dumps(data))
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--no-plots"]),
                   "--metric 'test_zzz': no trial of")
    one_line_error(runner.invoke(app, ["compare", str(fixture_sweep), "--metric", "val_zzz"]),
                   "--metric 'val_zzz': not recorded; expected one of: loss")
