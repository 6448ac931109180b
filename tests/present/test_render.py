from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import SGD, SQRT_TENTH, five_seed_trials, write_fixture_sweep

from lrlab.analysis.compare import CompareError, Comparison, compare_runs
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.present import render
from lrlab.rundir.loading import load_runs, scan_runs


@pytest.fixture
def comparison(tmp_path: Path) -> Comparison:
    return compare_runs(load_runs(write_fixture_sweep(tmp_path, trials=five_seed_trials())))


def test_csv_parses_back_with_the_verdict_columns(comparison: Comparison) -> None:
    back = pd.read_csv(io.StringIO(render.to_csv(comparison, comparison.summary)))
    assert list(back.columns) == [*comparison.summary.columns, "provisional"]
    pd.testing.assert_series_equal(back["mean"], comparison.summary["mean"], check_names=False)
    assert set(back["verdict"]) == {"best", "tied", "worse", "fails"}
    assert not back["provisional"].any()
    assert set(back["metric"]) == {"val_accuracy"}


def test_json_carries_the_verdicts(comparison: Comparison) -> None:
    data = json.loads(render.to_json(comparison, comparison.summary,
                                     [{"path": "x", "reason": "y"}]))
    assert data["metric"] == "val_accuracy" and data["at"] == "best"
    assert data["provisional"] is False and "Holm" in data["method"]
    sgd = next(v for v in data["optimizers"] if v["optimizer"] == "sgd")
    assert sgd["best_learning_rate"] == pytest.approx(0.316, rel=1e-3)
    assert sgd["tied"] == [0.1, sgd["best_learning_rate"]]
    assert sgd["best_low"] < sgd["best_mean"] < sgd["best_high"]
    assert sgd["largest_learning"] == sgd["best_learning_rate"]
    assert {c["mark"] for c in sgd["versus_best"]} == {"tied", "worse", "fails"}
    assert data["between_optimizers"][0]["mark"] == "worse"
    assert len(data["rows"]) == len(comparison.summary)
    assert data["unreadable"] == [{"path": "x", "reason": "y"}]


def test_markdown_and_latex_name_the_metric_and_carry_the_verdicts(
        comparison: Comparison) -> None:
    markdown = render.to_markdown(comparison, comparison.summary)
    lines = markdown.splitlines()
    assert lines[0] == "**val_accuracy at each trial's best epoch, over seeds**"
    assert lines[2].startswith("| optimizer | learning_rate | mean | std | ci_low |")
    cells = [c.strip() for c in lines[4].strip("|").split("|")]
    assert cells[:2] == ["rmsprop", "0.001"]  # trial folders sort by name
    sgd = next(v for v in comparison.verdicts if v.optimizer == "sgd")
    block = render.verdict_block(sgd)
    assert f"- {block[0]}" in lines  # the answer, then its evidence as nested items
    assert all(f"  - {line.strip()}" in lines for line in block[1:])
    latex = render.to_latex(comparison, comparison.summary)
    assert "\\caption{val\\_accuracy at each trial's best epoch, over seeds}" in latex
    assert latex.count("\\item ") == len(render.verdict_lines(comparison))
    assert "learning\\_rate" in latex and latex.rstrip().endswith("\\end{itemize}")


def test_the_terminal_table_and_verdicts(comparison: Comparison) -> None:
    text = render.render(comparison, "table", rows=comparison.shown(top=3))
    assert "val_accuracy at each trial's best epoch, over seeds" in text
    text = " ".join(text.split())  # sentences wrap at the width, between words
    for line in render.verdict_lines(comparison):
        assert " ".join(line.split()) in text
    best = SGD[SQRT_TENTH]
    assert f"sgd: best learning rate 0.316 (val_accuracy {best.mean():.4f}, 95% CI " in text
    assert ("Tied set: 0.1, 0.316 (best): not told apart at the 5% level (paired by seed, "
            "Holm-corrected over 5 comparisons with the best).") in text
    assert "Learns up to: 0.316 (the largest rate at which no seed diverged or stalled)." in text
    assert "rmsprop 0.001 vs sgd 0.316 (paired by seed, 5 seeds)" in text


def test_one_seed_and_an_unfinished_sweep_in_words(tmp_path: Path, tiny_yaml: str) -> None:
    config = parse_config(tiny_yaml)
    ids = {(t.optimizer, t.learning_rate, t.seed): t.trial_id for t in expand_trials(config)}
    trials = {("sgd", 0.1, 0): ([0.9], "completed"), ("sgd", 1000.0, 0): ([0.1], "running")}
    scan = scan_runs([write_fixture_sweep(tmp_path, "tiny", trials=trials,
                                          config=config.to_dict(), trial_ids=ids)])
    comparison = compare_runs(scan.frame, plans=scan.plans)
    lines = render.verdict_lines(comparison)
    assert lines[0] == ("tiny-20260101-000000: unfinished, 1 of 3 trials have a result "
                        "(1 running, 1 not started); its verdicts are provisional.")
    assert lines[1] == ("[provisional: the sweep is unfinished] sgd: best observed learning "
                        "rate 0.1 (val_accuracy 0.9000, 1 seed: no interval).")
    assert lines[2].startswith("  Seeds: with one seed no two rates can be told apart")
    assert "PROVISIONAL" in render.title(comparison)


def test_every_format_renders_and_an_unknown_one_is_named(comparison: Comparison) -> None:
    for output_format in render.FORMATS:
        assert render.render(comparison, output_format).strip()
    with pytest.raises(CompareError, match="^format='yaml': expected one of: table, csv"):
        render.render(comparison, "yaml")


def test_several_sweeps_are_named_in_the_verdicts(tmp_path: Path) -> None:
    for name in ("first", "second"):
        write_fixture_sweep(tmp_path / "runs", name, trials=five_seed_trials())
    lines = render.verdict_lines(compare_runs(load_runs(tmp_path / "runs")))
    sweeps = [line.split(":")[0] for line in lines if ": best learning rate" in line]
    assert sweeps == ["first-20260101-000000"] * 2 + ["second-20260101-000000"] * 2
    assert sum(line.strip().startswith("first-20260101-000000: rmsprop 0.001 vs sgd")
               for line in lines) == 1


def test_long_lists_of_rates_show_their_ends() -> None:
    from lrlab.present.render import rate_list

    assert rate_list([0.1, 0.01]) == "0.1, 0.01"
    text = rate_list([10.0 ** (-k / 10) for k in range(5000)])  # a sweep of 5,000 rates
    assert text.startswith("1, 0.794, ") and "... 4988 more ..." in text and len(text) < 200


def test_a_verdict_reads_answer_first_then_one_kind_of_evidence_a_line(
        comparison: Comparison) -> None:
    sgd = next(v for v in comparison.verdicts if v.optimizer == "sgd")
    block = render.verdict_block(sgd)
    assert block[0].startswith("sgd: best learning rate 0.316 (")
    kinds = [line.strip().split(":")[0] for line in block[1:]]
    assert all(line.startswith("  ") for line in block[1:])
    assert kinds == ["Tied set", "Closest", "Learns up to", "Fails"]
    # The closest rival's interval is the one its tie is judged by (5 comparisons: 99%).
    assert "99% CI" in block[2] and "corrected for the 5 comparisons as the tie is" in block[2]
    assert "a rough guess from the spread of 5 seeds" in block[2]
    text = "\n".join(render.verdict_lines(comparison))
    assert "(s)" not in text


def test_words_follow_the_metric_and_the_seeds(tmp_path: Path) -> None:
    frame = load_runs(write_fixture_sweep(tmp_path, trials={
        ("sgd", 0.01, 0): ([0.5, 0.7], "completed"), ("sgd", 0.1, 0): ([0.8, 0.9], "completed")}))
    lines = render.verdict_lines(compare_runs(frame))
    text = "\n".join(lines)
    assert "seed noise" not in text  # one seed has none
    assert "crawling at 0.01, 0.1 (still improving at the last epoch: more epochs" in text
    by_loss = "\n".join(render.verdict_lines(compare_runs(frame, metric="val_loss")))
    assert "losses to [0, ∞)" in by_loss and "accuracies to [0, 1]" not in by_loss


def test_a_split_that_cannot_rank_the_rates_says_so(tmp_path: Path) -> None:
    """Wine's 13 validation rows scored every rate 1.0, and lrlab named a best rate
    without a word about the split."""
    from lrlab.rundir.loading import SPLIT_SIZES_ATTR

    trials = {("sgd", rate, seed): ([1.0], "completed") for rate in (0.01, 0.1, 1.0)
              for seed in (0, 1)}
    frame = load_runs(write_fixture_sweep(tmp_path, trials=trials))
    frame.attrs[SPLIT_SIZES_ATTR] = {frame["sweep"].iloc[0]: {"validation": 13}}
    (verdict,) = compare_runs(frame).verdicts
    assert verdict.saturated == (0.01, 0.1, 1.0) and verdict.examples == 13
    (caution,) = [line for line in render.verdict_block(verdict) if "Caution" in line]
    assert caution == (
        "  Caution: the validation split has 13 examples (one example moves val_accuracy by "
        "0.077) and every seed scores 1.0 at 0.01, 0.1, 1: it cannot rank these rates; a "
        "larger split (data.validation) or the loss (--metric val_loss) would.")
    frame.attrs[SPLIT_SIZES_ATTR] = {frame["sweep"].iloc[0]: {"validation": 5000}}
    assert not compare_runs(frame, metric="val_loss").verdicts[0].weak_split
