"""The adaptive sweep over an ordinary run directory, on arithmetic trials with seed noise:
its rounds, what they record, kills and resumes, budgets, and what compare makes of it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import ArithmeticBackend

from lrlab.analysis.sequential import SequentialRule
from lrlab.analysis.settle import RateState, SettingState, plan_round, seed_pool
from lrlab.errors import StoreError
from lrlab.experiment.config import parse_config
from lrlab.present.rounds import settle_lines
from lrlab.run.settle import BUDGET, DONE, SettleOptions, run_settle
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.store import SETTLE_FILE


def noisy(peak: float, *, width: float = 1.0):
    """Accuracy peaking at rate ``peak``, falling by 0.05 per decade of distance within
    ``width`` decades and to chance beyond; every seed shifts every rate alike (by up to
    0.01) and each trial by its own 0.001."""
    def accuracy(trial) -> float:
        distance = abs(math.log10(trial.learning_rate / peak))
        shared = np.random.default_rng([trial.seed, 7]).normal(0, 0.004)
        own = np.random.default_rng([trial.seed, round(1e6 * trial.learning_rate)]
                                    ).normal(0, 0.001)
        top = 0.95 - 0.05 * distance if distance <= width else 0.1
        return float(top + shared + own)
    return accuracy


def config(rates: list[float], seeds=(0, 1), name: str = "adaptive"):
    return parse_config(f"""
name: {name}
data: {{dataset: synthetic, train_limit: 200, validation: 100, test_limit: 100}}
training: {{epochs: 2}}
sweep:
  seeds: {list(seeds)}
  optimizers: [{{name: sgd, learning_rates: {rates}}}]
""")


def decisions(record: dict, *actions: str) -> list[dict]:
    """The record's decisions of these actions, round after round."""
    return [d for r in record["rounds"] for d in r["decisions"] if d["action"] in actions]


def trials_of(run_dir: Path) -> set[str]:
    return {p.name for p in (run_dir / "trials").iterdir()}


def test_it_settles_with_fewer_trainings_than_a_grid_of_as_many_seeds(tmp_path: Path) -> None:
    backend = ArithmeticBackend(accuracy=noisy(0.1))
    report = run_settle(config([0.001, 0.01, 0.1, 1.0]), runs_dir=tmp_path, backend=backend,
                        options=SettleOptions(max_seeds=10, tolerance=0.002))
    assert report.state == DONE
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    # Every added trial is an ordinary trial, with its own files and result.
    added = [a for r in record["rounds"] for a in r["added"]]
    assert len(trials_of(report.run_dir)) == 8 + len(added) == report.trainings
    assert report.trainings < 4 * 10
    # Every round trained in the one backend session the grid started.
    assert len(record["rounds"]) > 2 and len(backend.sessions) == 1
    last = record["rounds"][-1]["decisions"][0]
    assert last["best"] == 0.1 and last["state"] in ("settled", "out of looks")
    # Rates a decade from the best are separated; nothing is called equivalent to it.
    calls = {c["learning_rate"]: c["call"] for c in last["calls"]}
    assert calls[0.01] == calls[1.0] == "separated"
    text = "\n".join(settle_lines(record))
    assert "Adaptive sweep: done after" in text and "look 1 of 5" in text
    assert "Rule: at most 5 looks, at 2, 3, 5, 8, 10 seeds" in text


def test_a_best_rate_at_the_edge_widens_the_range_until_a_rate_beyond_fails(
        tmp_path: Path) -> None:
    report = run_settle(config([0.0001, 0.001, 0.01]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)),
                        options=SettleOptions(max_seeds=3))
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    extended = decisions(record, "extend")
    # The best is the highest rate twice (0.01, then 0.1); then 1 is worse but learns and
    # is the highest, so 10 is tried, and stalls: the range now holds the whole valley.
    assert [(d["learning_rate"], d["why"]) for d in extended] == [
        (0.1, "the best rate, 0.01, is the highest tried"),
        (1.0, "the best rate, 0.1, is the highest tried"),
        (10.0, "the largest rate that learns, 1, is the highest tried")]
    assert extended[0]["seeds"] == [0, 1]
    assert record["rounds"][-1]["decisions"][0]["best"] == 0.1


def test_where_every_rate_is_too_small_the_range_widens_upward(tmp_path: Path) -> None:
    # 1e-5 and 1e-4 stay at chance with nothing dead: too small, so the rates added go up
    # (a range where every rate diverged widens down).
    report = run_settle(config([0.00001, 0.0001]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)),
                        options=SettleOptions(max_seeds=2))
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    first = decisions(record, "extend")[0]
    assert (first["direction"], first["learning_rate"]) == ("up", 0.001)
    assert first["why"] == "no rate learns: every one is too small (stayed at its baseline)"


def test_extending_stops_after_three_rates_beyond_the_grid(tmp_path: Path) -> None:
    report = run_settle(config([0.0001, 0.001]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(10.0, width=9)),
                        options=SettleOptions(max_seeds=2))
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    actions = [(d["action"], d.get("learning_rate"))
               for d in decisions(record, "extend", "stop extending")]
    assert actions == [("extend", 0.01), ("extend", 0.1), ("extend", 1.0),
                       ("stop extending", None)]


def test_the_largest_rate_that_learns_at_the_edge_widens_until_one_fails(
        tmp_path: Path) -> None:
    # Learns up to 1 decade from the peak 0.01: 0.1 learns and is the highest tried.
    report = run_settle(config([0.001, 0.01, 0.1]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.01)),
                        options=SettleOptions(max_seeds=3))
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    extended = decisions(record, "extend")
    assert [(d["learning_rate"], d["why"]) for d in extended] == [
        (1.0, "the largest rate that learns, 0.1, is the highest tried")]


def test_a_kill_loses_nothing_and_the_resume_ends_where_an_unbroken_run_does(
        tmp_path: Path) -> None:
    whole = run_settle(config([0.001, 0.01, 0.1, 1.0], name="whole"), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=noisy(0.1)))
    killed = run_settle(config([0.001, 0.01, 0.1, 1.0], name="killed"), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1), stop_after=11))
    assert killed.state == "interrupted" and len(trials_of(killed.run_dir)) == 11
    resumed = run_settle(config([0.001, 0.01, 0.1, 1.0], name="killed"), runs_dir=tmp_path,
                         resume=killed.run_dir, backend=ArithmeticBackend(accuracy=noisy(0.1)))
    assert resumed.state == DONE
    rounds = [json.loads((r.run_dir / SETTLE_FILE).read_text())["rounds"]
              for r in (whole, resumed)]
    assert [(r["kind"], r["added"]) for r in rounds[0]] == [(r["kind"], r["added"])
                                                          for r in rounds[1]]
    assert len(trials_of(whole.run_dir)) == len(trials_of(resumed.run_dir))
    # Resuming a settled sweep adds nothing, not even a look.
    again = run_settle(config([0.001, 0.01, 0.1, 1.0], name="whole"), runs_dir=tmp_path,
                       resume=whole.run_dir, backend=ArithmeticBackend(accuracy=noisy(0.1)))
    assert again.state == DONE and again.rounds == len(rounds[0])


def test_a_budget_stops_the_rounds_and_says_what_it_refused(tmp_path: Path) -> None:
    report = run_settle(config([0.001, 0.01, 0.1, 1.0]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1, width=3)),
                        options=SettleOptions(max_trainings=9))
    record = json.loads((report.run_dir / SETTLE_FILE).read_text())
    assert report.state == BUDGET == record["outcome"]["state"]
    assert len(trials_of(report.run_dir)) == 8 and record["rounds"][-1]["added"] == []


def test_a_corrupted_settle_record_is_one_line_and_nothing_is_lost(tmp_path: Path) -> None:
    report = run_settle(config([0.01, 0.1]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)))
    (report.run_dir / SETTLE_FILE).write_text('{"rule": {}, "rounds": []}')
    before = trials_of(report.run_dir)
    with pytest.raises(StoreError, match="settle.json: corrupted rule"):
        run_settle(config([0.01, 0.1]), runs_dir=tmp_path, resume=report.run_dir,
                   backend=ArithmeticBackend(accuracy=noisy(0.1)))
    (report.run_dir / SETTLE_FILE).write_text(
        '{"rule": {}, "rounds": [{"added": [{"like": "x"}]}]}')
    with pytest.raises(StoreError, match="round 1: expected like, learning_rate and seed"):
        scan_runs([report.run_dir]).plans  # noqa: B018 - planning reads the additions
        run_settle(config([0.01, 0.1]), runs_dir=tmp_path, resume=report.run_dir,
                   backend=ArithmeticBackend(accuracy=noisy(0.1)))
    assert trials_of(report.run_dir) == before


def test_a_stalled_trial_says_so_in_its_result(tmp_path: Path) -> None:
    report = run_settle(config([0.01, 0.1, 100.0]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)),
                        options=SettleOptions(max_seeds=2))
    stalled = next(report.run_dir.glob("trials/sgd-lr1.00e+02-s0-*/result.json"))
    result = json.loads(stalled.read_text())
    assert result["failure"] == {"reason": "stalled", "detail": "it never left its baseline"}
    fine = json.loads(next(report.run_dir.glob("trials/sgd-lr1.00e-01-s0-*/result.json"))
                      .read_text())
    assert fine["failure"] == {"reason": None, "detail": None}


def test_seed_pool_and_the_looks_counted_from_the_record() -> None:
    assert seed_pool([3, 1], 4) == [1, 3, 4, 5]
    # The top rate fails, the best is inside the range: the rounds add seeds only.
    values = {0.001: (0.5, 0.501), 0.01: (0.899, 0.902), 0.1: (0.9005, 0.9015),
              1.0: (0.1, 0.1)}
    state = SettingState("sgd", {r: RateState(r, dict(enumerate(v)), r == 1.0, f"t{r}")
                                 for r, v in values.items()})
    rule = SequentialRule.starting(2, max_seeds=3)
    first = plan_round([state], rule, previous=[], seeds=[0, 1])
    assert first.decisions[0]["look"] == 1 and first.added
    second = plan_round([state], rule, previous=[first.to_dict()], seeds=[0, 1])
    assert second.decisions[0]["look"] == 2 and second.states == {"sgd": "out of looks"}


def test_compare_and_the_report_show_the_rounds(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lrlab.cli import app
    from lrlab.present.report import write_report

    report = run_settle(config([0.001, 0.01, 0.1, 1.0]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)))
    shown = CliRunner().invoke(app, ["compare", str(report.run_dir), "--no-plots"])
    assert shown.exit_code == 0, shown.output
    assert "Adaptive sweep: done after" in shown.output
    assert "round 2 (seeds) sgd: look 1 of 5: best 0.1" in shown.output
    page = write_report([report.run_dir], tmp_path / "report.html").read_text()
    assert "round 2 (seeds) sgd: look 1 of 5" in page and "--until-settled" in page
    # A damaged record costs the rounds, not the verdicts.
    (report.run_dir / SETTLE_FILE).write_text("{")
    shown = CliRunner().invoke(app, ["compare", str(report.run_dir), "--no-plots"])
    assert shown.exit_code == 0 and "skipped the adaptive rounds" in shown.output
    assert "best learning rate 0.1" in shown.output


@pytest.mark.parametrize(("options", "fragments"), [
    (["--max-seeds", "4"], ["--max-seeds 4: only with --until-settled"]),
    (["--until-settled", "--max-seeds", "1"], ["--max-seeds 1: fewer than the 2 seeds"]),
    (["--until-settled", "--alpha", "2"], ["--alpha 2: expected a level between 0 and 1"]),
    (["--until-settled", "--tolerance", "-1"], ["--tolerance -1: expected a number >= 0"]),
    (["--until-settled", "--max-minutes", "0"], ["--max-minutes 0: expected a number > 0"]),
])
def test_adaptive_options_that_cannot_be_are_one_line_before_anything_is_written(
        tmp_path: Path, options: list[str], fragments: list[str]) -> None:
    from helpers import one_line_error
    from typer.testing import CliRunner

    from lrlab.cli import app

    (tmp_path / "c.yaml").write_text(
        "data: {dataset: synthetic, train_limit: 200}\n"
        "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n")
    result = CliRunner().invoke(app, ["sweep", str(tmp_path / "c.yaml"), "--runs-dir",
                                      str(tmp_path / "runs"), *options])
    one_line_error(result, *fragments)
    assert not (tmp_path / "runs").exists()


def test_any_damage_to_settle_json_is_one_line_or_still_readable(tmp_path: Path) -> None:
    """Seeded corruptions of a real record: every one either reads back (and is put into
    words without an exception) or is refused as a StoreError naming the file."""
    import random

    report = run_settle(config([0.001, 0.01, 0.1, 1.0]), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy(0.1)))
    from lrlab.rundir.store import RunStore

    path = report.run_dir / SETTLE_FILE
    original = json.loads(path.read_text())
    junk = [None, "x", -1, 1e308, [], {}, [1, "a"], {"a": 1}, True]
    rng = random.Random(23)

    def nodes(value, trail=()):
        yield trail
        if isinstance(value, dict):
            for key, child in value.items():
                yield from nodes(child, (*trail, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from nodes(child, (*trail, index))

    trails = [t for t in nodes(original) if t]
    for _ in range(300):
        damaged = json.loads(json.dumps(original))
        trail = rng.choice(trails)
        parent = damaged
        for key in trail[:-1]:
            parent = parent[key]
        parent[trail[-1]] = rng.choice(junk)
        path.write_text(json.dumps(damaged))
        try:
            record = RunStore(report.run_dir).read_settle()
        except StoreError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
            continue
        settle_lines(record)


def test_the_rates_added_are_the_ones_the_verdict_names(tmp_path: Path) -> None:
    """The smoke sweep's grids are three decades a step (0.001 and 1): the verdict says
    "add rates from 0.0001 to 0.001", and the adaptive sweep once added 1e-06 instead."""
    from lrlab.analysis.compare import compare_runs
    from lrlab.rundir.loading import load_runs

    plain = run_settle(config([0.001, 1.0], name="grid"), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=noisy(1e-4, width=2)),
                       options=SettleOptions(max_seeds=2, max_trainings=4))
    verdict = compare_runs(load_runs(plain.run_dir)).verdicts[0]
    # Only the grid's four trials ran (the budget): the verdict on them names the range.
    (edge,) = verdict.edges
    assert (edge.side, edge.add, edge.next_rate) == ("low", (0.0001, 0.001), 0.0001)
    record = json.loads((plain.run_dir / SETTLE_FILE).read_text())
    assert [d["learning_rate"] for d in decisions(record, "extend")][:1] == [0.0001]


def test_each_decision_s_facts_are_said_in_words_before_settle_json_records_them() -> None:
    from lrlab.present.rounds import worded

    decisions = [
        {"action": "extend", "why": {"edge": "best", "rate": 0.01, "side": "high"}},
        {"action": "extend", "why": {"edge": "largest learning", "rate": 1.0, "side": "low"}},
        {"action": "extend", "why": {"edge": None}},
        {"action": "stop extending", "why": {"edge": "best", "rate": 10.0, "side": "high",
                                             "extended": 3, "most": 3}},
        {"action": "look", "state": "nothing learns", "why": {}},
        {"action": "look", "state": "settled", "why": {"rivals": 2}},
        {"action": "look", "state": "settled", "why": {"rivals": 0}},
        {"action": "look", "state": "out of looks", "why": {"looks": 5, "open": 1}},
        {"action": "look", "state": "open", "why": {"open": 2, "seeds": 5}},
        {"action": "look", "state": "settled", "why": "as an older settle.json says"},
    ]
    assert [d["why"] for d in worded(decisions)] == [
        "the best rate, 0.01, is the highest tried",
        "the largest rate that learns, 1, is the lowest tried",
        "no rate learns: every one diverged or stalled on a seed",
        "the best rate, 10, is the highest tried, but 3 rates were added beyond the grid "
        "already (at most 3)",
        "every rate diverged or stalled on a seed",
        "every rival is separated from the best or equivalent to it",
        "no other rate learns",
        "the last of 5 looks leaves 1 rival open",
        "2 rivals neither separated nor equivalent: the best and they get 5 seeds",
        "as an older settle.json says"]
    assert decisions[0]["why"] == {"edge": "best", "rate": 0.01, "side": "high"}  # a copy
