"""lrlab report: one self-contained page, from run directories only; checked as text and
in a real headless Chromium (marked ``browser``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, write_fixture_sweep
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.present.report import collect, render_html, split_paths, write_report

runner = CliRunner()


def external_references(html: str) -> list[str]:
    """Anything the page would fetch from elsewhere: src/href/url() not data: or #."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    found += re.findall(r"@import\s+['\"]?([^'\";]+)", html)
    return [ref for ref in found if not ref.startswith(("data:", "#"))]


def test_the_page_shows_verdict_plots_trials_config_and_sessions(tmp_path: Path) -> None:
    sweep = write_fixture_sweep(tmp_path / "runs")
    output = write_report([sweep], tmp_path / "report.html")
    html = output.read_text()
    assert html.startswith("<!doctype html>")
    assert "sgd: best learning rate 0.1" in html  # compare's verdict, in words
    assert html.count("<svg") >= 2 and 'aria-label="sensitivity plot"' in html
    assert 'aria-label="learning curves"' in html
    # The figures are inlined in one page: a clip id shared by two would clip one figure's
    # lines to another's panel.
    clips = re.findall(r"<clipPath id='([^']+)'", html)
    assert len(clips) >= 3 and len(set(clips)) == len(clips)
    assert external_references(html) == []
    # Every trial has a row, the failed one too.
    assert html.count('class="id">') == 10
    assert "<span>lrlab</span> <span>sweep</span>" in html and "sweep.yaml" in html
    assert "Sessions and environment" in html


def test_where_selects_the_trials_and_the_verdicts(tmp_path: Path) -> None:
    sweep = write_fixture_sweep(tmp_path / "runs")
    data = collect([sweep], where=["optimizer=sgd"])
    assert {row["optimizer"] for row in data.trials} == {"sgd"}
    assert [v.optimizer for v in data.comparison.verdicts] == ["sgd"]
    html = render_html(data, sources=[sweep], where=["optimizer=sgd"])
    assert "trials where optimizer=sgd" in html and "rmsprop: best" not in html


def write_range_test(folder: Path, result: str) -> Path:
    """A range test's run directory, by hand: its config, kind and result.json."""
    folder.mkdir()
    (folder / "sweep.yaml").write_text("name: fixture\n")
    (folder / "environment.json").write_text('{"kind": "range-test", "sessions": []}')
    (folder / "result.json").write_text(result)
    return folder


def test_a_range_test_directory_is_found_beside_sweeps(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sweep = write_fixture_sweep(runs)
    findlr = write_range_test(runs / "fixture-findlr-1", (
        '{"rule": "steepest", "optimizers": {"sgd": {"suggested": 0.05, "grid": '
        '{"start": 0.0016, "stop": 1.6, "num": 7}, "grid_widened": false, "rules": '
        '{"steepest": {"median": 0.05, "low": 0.04, "high": 0.06, "seeds_disagree": false}}}}}'))
    sweeps, range_tests = split_paths([runs])
    assert sweeps == [runs] and range_tests == [findlr]
    html = render_html(collect([runs]), sources=[runs])
    assert "Range test: fixture-findlr-1" in html and "0.05" in html
    assert "<span>lrlab</span> <span>find-lr</span>" in html and sweep.name in html


def test_bad_paths_are_one_line_errors(tmp_path: Path) -> None:
    one_line_error(runner.invoke(app, ["report", str(tmp_path / "absent")]),
                   "absent: no such file or directory")
    (tmp_path / "empty").mkdir()
    one_line_error(runner.invoke(app, ["report", str(tmp_path / "empty")]),
                   "no sweeps or range tests found")
    sweep = write_fixture_sweep(tmp_path / "runs")
    one_line_error(runner.invoke(app, ["report", str(sweep), "--where", "nope=1"]), "nope")
    one_line_error(runner.invoke(app, ["report", str(sweep), "--output",
                                       str(tmp_path / "no" / "such" / "dir" / "r.html")]),
                   "r.html")


def test_the_trials_table_sorts_numbers_as_numbers_and_names_each_sweep_once(
        tmp_path: Path) -> None:
    """Rates once sorted as text (1, 10, 0.1, 0.01), every row repeated its sweep's name,
    the numbers hid behind the trial id, and a command broke inside --seeds."""
    for name in ("first", "second"):
        write_fixture_sweep(tmp_path / "runs", name)
    html = write_report([tmp_path / "runs"], tmp_path / "report.html").read_text()
    rates = re.findall(r'<td class="num" data-num="([^"]*)">[^<]*</td>\s*<td class="num" '
                       r'data-num="[01]">', html)  # learning_rate, then seed
    assert sorted({float(r) for r in rates}) == [0.001, 0.01, 0.1, 1.0]
    # As the page opens, before any click: each optimizer's rates ascending by value.
    assert [float(r) for r in rates[:10]] == [0.001, 0.001, 1.0, 1.0,  # rmsprop
                                              0.01, 0.01, 0.1, 0.1, 1.0, 1.0]  # sgd
    assert html.count('<tr class="group"><th colspan=') == 2  # one heading per sweep
    assert len(re.findall(r">first-[0-9-]+</th>", html)) == 1
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", html.split('id="trials"')[1]).group(1)
    names = re.findall(r">([^<>]+)</th>", header)
    assert names[:3] == ["optimizer", "learning_rate", "seed"] and names[-1] == "trial"
    assert "sweep" not in names
    write_range_test(tmp_path / "runs" / "first-findlr", (
        '{"rule": "steepest", "options": {"seeds": [0, 1]}, "optimizers": {"sgd": '
        '{"suggested": 0.05, "grid": [0.01, 0.1], "grid_widened": false, "rules": '
        '{"steepest": {"median": 0.05, "low": 0.04, "high": 0.06}}}}}'))
    page = render_html(collect([tmp_path / "runs"]), sources=[tmp_path / "runs"])
    assert '<span class="option">--seeds</span> <span>0,1</span>' in page
    assert "code.command span.option { white-space: nowrap; }" in page


browser = pytest.mark.browser


@browser
def test_the_report_renders_in_a_real_browser_without_errors_or_requests(
        tmp_path: Path) -> None:
    from browser import CHROMIUM, SKIP_REASON, is_blank, save, visit

    websocket = pytest.importorskip("websocket", reason=SKIP_REASON)
    del websocket
    if CHROMIUM is None:
        pytest.skip(SKIP_REASON)
    sweep = write_fixture_sweep(tmp_path / "runs")
    page = write_report([sweep], tmp_path / "report.html")
    seen = visit(page.as_uri(), evaluate={
        "plots": "document.querySelectorAll('figure svg').length",
        "overflow": "document.documentElement.scrollWidth > window.innerWidth",
        "sorted": "(function () { var th = Array.from(document.querySelectorAll("
                  "'#trials thead th')).find(function (t) { return t.textContent === "
                  "'learning_rate'; }); th.click(); return Array.from(document.querySelectorAll("
                  "'#trials tbody tr td:nth-child(2)')).map(function (td) { return "
                  "parseFloat(td.getAttribute('data-num')); }).join(' '); })()"})
    assert seen.console_errors == []
    assert [u for u in seen.requests if not u.startswith(("file:", "data:"))] == []
    assert "Verdict" in seen.text and "best learning rate 0.1" in seen.text
    assert seen.values.pop("sorted") == "0.001 0.001 0.01 0.01 0.1 0.1 1 1 1 1"  # numbers
    assert seen.values == {"plots": 2, "overflow": False}
    assert not is_blank(seen.screenshot)
    save(seen.screenshot, tmp_path / "report-1280.png")
    phone = visit(page.as_uri(), width=390, height=844,
                  evaluate={"overflow": "document.documentElement.scrollWidth > "
                                        "window.innerWidth",
                            "plot": "document.querySelector('figure svg')"
                                    ".getBoundingClientRect().width >= 680"})
    # On a phone the page does not overflow, and a plot keeps a readable size (it scrolls
    # within its own box): at 390 px wide, the text of a 1,000 px figure would be 4 px.
    assert phone.console_errors == [] and phone.values == {"overflow": False, "plot": True}
    # The checks can fail: a page that fetches and logs an error is caught.
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")'
                   '</script>')
    caught = visit(bad.as_uri())
    assert "http://127.0.0.1:9/x.png" in caught.requests and "boom" in caught.console_errors


def hand_made_paths() -> dict:
    """path.json's content for the fixture sweep's sgd, its numbers made up: a bowl."""
    first = np.linspace(-1.5, 0.5, 9)
    second = np.linspace(-0.5, 0.5, 7)
    loss = [[float(0.1 + a * a + 3 * b * b) for a in first] for b in second]
    trials = []
    for role, rate, scale in (("too small", 0.001, 0.05), ("best", 0.1, 1.0),
                              ("too large", 1.0, 1.2)):
        path = [[-scale * (1 - t), 0.2 * scale * np.sin(3 * t)] for t in np.linspace(0, 1, 6)]
        trials.append({"role": role, "trial_id": f"sgd-{rate}", "learning_rate": rate,
                       "status": "completed", "epochs": 2, "steps": list(range(6)),
                       "coordinates": path, "explained": [0.9, 0.05], "captured": 0.97,
                       "line": {"alpha": [0.0, 0.5, 1.0], "loss": [2.3, 1.0, 0.3]},
                       "grid": {"first": first.tolist(), "second": second.tolist(),
                                "loss": loss},
                       "recorded_loss": 0.3, "retraced_loss": 0.3})
    return {"per_epoch": 3, "rows": 256, "seconds": 1.0,
            "paths": [{"sweep": "fixture", "optimizer": "sgd", "setting": "", "label": "sgd",
                       "seed": 0, "trials": trials}]}


@browser
def test_the_paths_render_in_a_real_browser(tmp_path: Path) -> None:
    from browser import CHROMIUM, SKIP_REASON, is_blank, visit

    from lrlab.rundir.store import RunStore

    websocket = pytest.importorskip("websocket", reason=SKIP_REASON)
    del websocket
    if CHROMIUM is None:
        pytest.skip(SKIP_REASON)
    sweep = write_fixture_sweep(tmp_path / "runs")
    RunStore(sweep).write_path(hand_made_paths())
    page = write_report([sweep], tmp_path / "report.html")
    seen = visit(page.as_uri(), evaluate={
        "plots": "document.querySelectorAll('figure svg').length",
        "path": "document.querySelector('#paths figure svg').getBoundingClientRect().width",
        "lines": "document.querySelectorAll('#paths figure svg polyline, #paths figure svg "
                 "path').length",
        "overflow": "document.documentElement.scrollWidth > window.innerWidth"})
    assert seen.console_errors == []
    assert [u for u in seen.requests if not u.startswith(("file:", "data:"))] == []
    assert "The path on the loss surface" in seen.text
    assert seen.values["plots"] == 3 and seen.values["overflow"] is False
    assert seen.values["path"] > 600  # drawn at a readable size
    assert seen.values["lines"] > 20  # the contours and the three paths, not an empty frame
    assert not is_blank(seen.screenshot)
