"""``lrlab report``: one self-contained HTML page for the sweeps and range tests given.

It reads run directories only (never trains) and decides nothing of its own: the verdicts
are :func:`lrlab.analysis.compare.compare_runs`'s, the plots :mod:`lrlab.present.plots`'s
(inline SVG), the words :mod:`lrlab.present.render`'s. The page comes from a Jinja2 template
(``templates/report.html.j2``); styles, the table-sorting script and every picture are
inline, so the file opens from disk, travels by mail, and fetches nothing.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lrlab._version import __version__
from lrlab.analysis.compare import Comparison, compare_runs, in_order, select, trial_values
from lrlab.errors import StoreError
from lrlab.formatting import number, rate
from lrlab.present.render import title, verdict_lines
from lrlab.present.rounds import settle_lines
from lrlab.rundir.files import atomic_write_text, json_safe
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.store import CONFIG_FILE, RANGE_TEST, RunStore

TEMPLATE = "report.html.j2"


@dataclass
class RunRecord:
    """What the page shows of one run directory: its config as written, its sessions,
    and the command that reproduces it."""

    path: Path
    config_text: str
    sessions: list[dict[str, Any]]
    reproduce: str
    sessions_problem: str | None = None  # why environment.json could not be read
    # An adaptive sweep's rounds in words (settle.json; empty for a plain sweep).
    rounds: list[str] = field(default_factory=list)

    @property
    def session_rows(self) -> list[dict[str, str]]:
        """Each session as the page's table shows it: text in every cell."""
        return [_session_row(session) for session in self.sessions]


def _session_row(session: dict[str, Any]) -> dict[str, str]:
    def text(value: Any, default: str = "-") -> str:
        return default if value is None or value == "" else str(value)

    def part(name: str) -> dict[str, Any]:
        value = session.get(name)
        return value if isinstance(value, dict) else {}

    engines = [e for e in session.get("engines") or [] if isinstance(e, dict)]
    engine = "; ".join(f"{text(e.get('name'), '?')} on {text(e.get('device'), '?')} "
                       f"({text(e.get('precision'), '?')})" for e in engines)
    data = part("data")
    versions = (f"lrlab {text(session.get('lrlab'), '?')}, Python "
                f"{text(session.get('python'), '?')}, TensorFlow "
                f"{text(session.get('tensorflow'))}, Keras {text(session.get('keras'))}")
    if session.get("jax"):
        versions += f", JAX {text(session.get('jax'))}"
    return {"started": text(session.get("started_at")),
            "ended_at": text(session.get("ended_at")),
            "how": text(session.get("ended"), "not recorded"), "host": text(session.get("host")),
            "engine": engine or text(part("engine").get("name"), "tensorflow"),
            "backend": text(part("backend").get("name")),
            "data": f"{text(data.get('source'))} ({text(data.get('sha256'), '')[:12]})",
            "versions": versions}


@dataclass
class RangeTest:
    run: RunRecord
    result: dict[str, Any]
    plot_data_uri: str | None


@dataclass
class ReportData:
    comparison: Comparison | None
    frame: pd.DataFrame | None = None  # the trials --where keeps, one row per epoch
    trials: list[dict[str, Any]] = field(default_factory=list)
    trial_columns: list[str] = field(default_factory=list)
    sweeps: list[RunRecord] = field(default_factory=list)
    range_tests: list[RangeTest] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    paths: list[dict[str, Any]] = field(default_factory=list)  # path.json's entries


def split_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """The paths that hold sweeps (any form ``compare`` accepts) and the range-test
    directories among the paths and their children."""
    sweeps, range_tests = [], []
    for path in paths:
        if not path.exists():
            raise StoreError(f"{path}: no such file or directory")
        if _is_range_test(path):
            range_tests.append(path)
            continue
        sweeps.append(path)
        if path.is_dir() and not (path / CONFIG_FILE).is_file():  # a runs folder
            range_tests += sorted(child for child in path.iterdir() if _is_range_test(child))
    return sweeps, range_tests


def _is_range_test(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file() and RunStore(path).kind() == RANGE_TEST


def collect(paths: Sequence[Path], *, where: Sequence[str] = (), metric: str | None = None,
            at: str | int = "best") -> ReportData:
    """Everything the page shows, read from ``paths``; a bad path or filter is a
    one-line :class:`~lrlab.errors.StoreError` or ``CompareError``."""
    sweep_paths, range_paths = split_paths(paths)
    data = ReportData(comparison=None)
    for path in range_paths:
        try:
            data.range_tests.append(_range_test(path))
        except StoreError as exc:  # damaged: named on the page, the others still shown
            data.unreadable.append((str(path), str(exc)))
    try:
        scan = scan_runs(sweep_paths) if sweep_paths else None
    except StoreError:  # no trial anywhere below them (the only error scan_runs raises)
        scan = None
    if scan is None:
        if not data.range_tests and not data.unreadable:
            shown = ", ".join(str(p) for p in paths)
            raise StoreError(f"{shown}: no sweeps or range tests found; expected run "
                             f"directories written by lrlab sweep or lrlab find-lr")
        return data
    data.unreadable += [(str(b.path), b.reason) for b in scan.unreadable]
    frame = scan.frame
    data.comparison = compare_runs(frame, metric=metric, at=at, where=where, plans=scan.plans)
    data.frame = kept = select(frame, where).apply(frame)
    data.trial_columns, data.trials = _trial_rows(kept, data.comparison)
    data.sweeps = [_run_record(p) for p in scan.sweep_dirs if (p / CONFIG_FILE).is_file()]
    data.paths = scan.paths
    return data


def _trial_rows(frame: pd.DataFrame, comparison: Comparison
                ) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per trial: the parameters that tell trials apart, status and key numbers
    (before anything long, so that they show without scrolling), its id last; the sweep
    is a row group of the page, not a column."""
    varying = [c for c in frame.attrs.get("lrlab_params", [])
               if c in ("optimizer", "learning_rate", "seed") or frame[c].nunique() > 1]
    keys = ["sweep", "trial_id"]
    recorded = frame.dropna(subset=["epoch"]).sort_values([*keys, "epoch"])
    by_trial = recorded.groupby(keys, sort=False)
    # The value compare reads (its metric, at its epoch: the one rule every reader uses).
    metric, objective = comparison.metric, comparison.objective
    shown = f"{'best ' if comparison.at == 'best' else ''}{metric}"
    best = trial_values(frame, metric=metric, at=comparison.at).set_index(keys)["value"]
    tested = next((c for c in objective.test_columns() if c != "test_loss"), "test_loss")
    # "epochs trained", not "epochs": that is a parameter (the epochs planned).
    numbers = pd.DataFrame({"epochs trained": by_trial["epoch"].max(), shown: best,
                            "final loss": by_trial["loss"].last()})
    # A trial's own columns (the epoch ones, "seconds" among them, belong to its epochs).
    trials = frame.drop_duplicates(keys).drop(columns="seconds").set_index(keys)
    trials = trials.join(numbers)
    trials["epochs trained"] = trials["epochs trained"].fillna(0).astype(int)
    columns = ["sweep", *varying, "status", "epochs trained", shown, "final loss",
               tested, "why", "dead units", "seconds", "trial"]
    # In the verdicts' order, rates by value (as text, 1 would come before 0.1).
    table = in_order(trials.reset_index(), columns=[
        c for c in varying if c not in ("optimizer", "learning_rate", "seed")] + [
        "learning_rate", "seed"])
    table = table.rename(columns={"trial_id": "trial", "failure": "why",
                                  "dead_units": "dead units", "trial_seconds": "seconds"})
    # Python numbers, NaN as None (shown "-").
    return columns, [json_safe(row) for row in table[columns].to_dict("records")]


def _run_record(path: Path, reproduce: str | None = None) -> RunRecord:
    """A run directory's config, sessions, and the command that reproduces it (for a
    sweep, its sweep.yaml: the resolved config, engine included, gives the same trials)."""
    store = RunStore(path)
    try:
        sessions, problem = store.read_environment().get("sessions", []), None
    except StoreError as exc:  # the rest of the run is still worth showing
        sessions, problem = [], f"sessions unknown: {exc}"
    try:
        settled = store.read_settle()
    except StoreError as exc:
        settled = None
        problem = f"{problem + '; ' if problem else ''}adaptive rounds unknown: {exc}"
    command = f"lrlab sweep {shlex.quote(str(path / CONFIG_FILE))}"
    if settled is not None:  # the rule is the record's, whatever the defaults are now
        rule = settled.get("rule") or {}
        command += (f" --until-settled --max-seeds {(rule.get('schedule') or ['?'])[-1]} "
                    f"--tolerance {rule.get('tolerance')} --alpha {rule.get('alpha')}")
    return RunRecord(path=path, config_text=store.read_config_text(), sessions=sessions,
                     reproduce=reproduce or command, sessions_problem=problem,
                     rounds=settle_lines(settled) if settled is not None else [])


def _range_test(path: Path) -> RangeTest:
    store = RunStore(path)
    result = store.read_range_test()
    plot = store.read_range_test_plot()
    uri = (f"data:image/png;base64,{base64.b64encode(plot).decode('ascii')}"
           if plot is not None else None)
    # The options it ran with are in result.json; the config in sweep.yaml.
    options = result.get("options") or {}
    flags = "".join(f" --{name} {options[name]:g}" for name in
                    ("start", "end", "steps", "smoothing", "diverge")
                    if options.get(name) is not None)  # null: damaged, not shown
    if options.get("seeds"):
        flags += f" --seeds {','.join(str(seed) for seed in options['seeds'])}"
    if result.get("rule"):
        flags += f" --rule {shlex.quote(str(result['rule']))}"
    reproduce = f"lrlab find-lr {shlex.quote(str(path / CONFIG_FILE))}{flags}"
    return RangeTest(run=_run_record(path, reproduce), result=result, plot_data_uri=uri)


def render_html(data: ReportData, *, sources: Sequence[Path], where: Sequence[str] = (),
                now: datetime | None = None) -> str:
    """The page, from the template; the plots are drawn here, as inline SVG written from
    the numbers (:mod:`lrlab.present.charts`)."""
    import jinja2

    from lrlab.present.charts import (
        axes_chart,
        axis_columns,
        learning_curves,
        learning_curves_chart,
        path_chart,
        scaling_chart,
        sensitivity_chart,
        sensitivity_lines,
        transfer_charts,
    )
    from lrlab.present.svg import to_svg

    comparison = data.comparison
    plots: dict[str, str] = {}
    if comparison is not None:
        plots["sensitivity"] = to_svg(sensitivity_chart(
            sensitivity_lines(comparison), metric=comparison.metric, at=comparison.at,
            baseline=comparison.baseline, objective=comparison.objective))
        curves = learning_curves(data.frame, comparison)
        if curves:
            plots["curves"] = to_svg(learning_curves_chart(curves, comparison.objective))
        if axis_columns(comparison):
            plots["axes"] = to_svg(axes_chart(comparison))
        if comparison.scaling:
            plots["scaling"] = to_svg(scaling_chart(comparison))
        for axis, figure in transfer_charts(comparison):
            plots[f"transfer-{axis}"] = to_svg(figure)
    paths = [(entry["label"], to_svg(path_chart(entry))) for entry in data.paths]
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("lrlab.present", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(number=number, rate=_rate_cell)
    return environment.get_template(TEMPLATE).render(
        data=data, comparison=comparison, plots=plots, paths=paths, where=list(where),
        title=title(comparison) if comparison is not None else "Range tests",
        heading=", ".join([r.path.name for r in data.sweeps]
                          + [t.run.path.name for t in data.range_tests]),
        verdict_lines=verdict_lines(comparison) if comparison is not None else [],
        sources=[str(s) for s in sources], version=__version__,
        generated=(now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        json=json)


def _rate_cell(value: Any) -> str:
    """A rate, also as result.json's grids keep them (short strings such as "1e-3")."""
    try:
        return rate(float(value))
    except (TypeError, ValueError, OverflowError):
        return str(value)


def write_report(paths: Sequence[Path], output: Path, *, where: Sequence[str] = (),
                 metric: str | None = None, at: str | int = "best") -> Path:
    """Read ``paths`` and write the page to ``output`` (atomically)."""
    data = collect(paths, where=where, metric=metric, at=at)
    html = render_html(data, sources=paths, where=where)
    try:
        atomic_write_text(output, html)
    except OSError as exc:
        raise StoreError(f"{output}: cannot write the report ({exc.strerror or exc})") from None
    return output
