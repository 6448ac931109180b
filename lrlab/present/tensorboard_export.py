"""``lrlab tensorboard``: TensorBoard event files for sweeps, read from run directories.

One TensorBoard run per trial (``<logdir>/<sweep>/<trial_id>``) with each epoch's metrics
as scalars (``epoch/loss``, ``epoch/val_accuracy``, ``epoch/lr``, ...), the trial's final
numbers (``final/test_accuracy``, ``final/best_val_accuracy``) and its hyperparameters
through the HParams plugin; one experiment summary at the root names the hyperparameters
and metrics for the HParams dashboard (table, parallel coordinates, scatter).

Written with TensorBoard's own summary protos and record writer, without TensorFlow: each
event carries the trial's recorded times, and each file has a fixed name, so exporting
again rewrites the same files with the same bytes instead of adding duplicates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lrlab.analysis.compare import objective_of, select
from lrlab.errors import StoreError
from lrlab.experiment.objective import Objective
from lrlab.rundir.files import atomic_write, json_safe
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.records import EPOCH_METRICS, TrialResult
from lrlab.rundir.store import RunStore

EVENTS_FILE = "events.out.tfevents.lrlab"  # TensorBoard reads any name with .tfevents.
# The default objective's; another objective's columns take the metrics' places.
EPOCH_SCALARS = ("lr", *EPOCH_METRICS)
FINAL_SCALARS = ("test_loss", "test_accuracy", "best_val_accuracy")


def _scalar_names(objective: Objective) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The epoch scalars and the final ones of an objective's columns."""
    return (("lr", *objective.epoch_columns()),
            (*objective.test_columns(), f"best_{objective.verdict}"))


def export(paths: Sequence[Path], logdir: Path, *, where: Sequence[str] = ()) -> list[Path]:
    """Write the event files of every trial below ``paths`` that ``where`` keeps; return
    the files written."""
    scan = scan_runs(paths)
    frame = scan.frame
    if frame.empty:
        raise StoreError(f"{', '.join(map(str, paths))}: every trial is unreadable")
    frame = select(frame, where).apply(frame)
    sweep_dirs = {p.name: p for p in scan.sweep_dirs}
    params = list(frame.attrs.get("lrlab_params", []))
    objective = objective_of(frame)
    written, starts = [], []
    trials = list(frame.groupby(["sweep", "trial_id"], sort=False))
    for (sweep, trial_id), epochs in trials:
        # Read (and checked) by scan_runs already, so this cannot fail now but for a file
        # replaced since: then the trial goes without its times, as one still running.
        try:
            _, result, _ = RunStore(sweep_dirs[sweep]).read_trial(trial_id)
        except StoreError:
            result = None
        events = _trial_events(epochs, params, result, objective)
        starts.append(events[0].wall_time)
        written.append(_write_events(logdir / sweep / trial_id / EVENTS_FILE, events))
    written.append(_write_events(logdir / EVENTS_FILE, [
        _experiment(params, trials, created=min(starts, default=0.0), objective=objective)]))
    return written


def _trial_events(epochs: pd.DataFrame, params: list[str], result: TrialResult | None,
                  objective: Objective) -> list[Any]:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp

    first = epochs.iloc[0]
    start = _timestamp(result.started_at if result else None)
    end = _timestamp(result.finished_at if result else None) or start
    recorded = epochs.dropna(subset=["epoch"]).sort_values("epoch")
    events = [event_pb2.Event(wall_time=start, step=0, summary=_stable(hp.hparams_pb(
        _hparams(first, params), trial_id=str(first["trial_id"]), start_time_secs=start)))]
    elapsed = start
    epoch_scalars, final_scalars = _scalar_names(objective)
    for _, row in recorded.iterrows():
        elapsed += float(row["seconds"]) if math.isfinite(row["seconds"]) else 0.0
        events.append(_scalars(elapsed, int(row["epoch"]),
                               {f"epoch/{k}": row.get(k) for k in epoch_scalars}))
    last = int(recorded["epoch"].max()) if len(recorded) else 0
    verdict = objective.verdict
    values = recorded[verdict].astype(float).tolist() if verdict in recorded else []
    best = objective.best_of(verdict, values)
    final = {f"final/{k}": first.get(k) for k in final_scalars[:-1]}
    final[f"final/best_{verdict}"] = values[best] if best is not None else math.nan
    events.append(_scalars(end, last, final))
    return events


def _scalars(wall_time: float, step: int, values: dict[str, Any]) -> Any:
    """One event with a scalar per finite value (TensorBoard's scalar plugin format)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata
    from tensorboard.util import tensor_util

    summary = summary_pb2.Summary()
    for tag, value in values.items():
        if value is None or not math.isfinite(float(value)):
            continue  # a diverged or missing number is no point on a curve
        summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(tag, ""),
                          tensor=tensor_util.make_tensor_proto(float(value)))
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary)


def _hparams(row: pd.Series, params: list[str]) -> dict[str, Any]:
    """The trial's parameters, its sweep and status, as HParams values (bool, number or
    text; an absent one is left out)."""
    values: dict[str, Any] = {"sweep": str(row["sweep"]), "status": str(row["status"])}
    for name in params:
        value = json_safe(row.get(name))  # Python numbers; NaN (not this trial's) is None
        if value is not None:
            values[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return values


def _experiment(params: list[str], trials: list[Any], *, created: float,
                objective: Objective) -> Any:
    """The HParams experiment: every hyperparameter seen (with its values where they are
    text) and the metrics the dashboard should show."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp

    seen: dict[str, set[Any]] = {}
    for (_, _), epochs in trials:
        for name, value in _hparams(epochs.iloc[0], params).items():
            seen.setdefault(name, set()).add(value)
    hparams = []
    for name, values in seen.items():
        if all(isinstance(v, str) for v in values):
            hparams.append(hp.HParam(name, hp.Discrete(sorted(values))))
        else:
            hparams.append(hp.HParam(name))
    epoch_scalars, final_scalars = _scalar_names(objective)
    metrics = [hp.Metric(f"final/{k}", display_name=k) for k in final_scalars]
    metrics += [hp.Metric(f"epoch/{k}", display_name=f"{k} (last epoch)")
                for k in epoch_scalars[1:]]
    return event_pb2.Event(wall_time=created, summary=_stable(hp.hparams_config_pb(
        hparams, metrics, time_created_secs=created)))


def _stable(summary: Any) -> Any:
    """The HParams plugin data re-serialized with its maps in key order (protobuf's
    default order is not stable between processes): the same trial, the same bytes."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    for value in summary.value:
        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
        value.metadata.plugin_data.content = data.SerializeToString(deterministic=True)
    return summary


def _timestamp(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def _write_events(path: Path, events: Sequence[Any]) -> Path:
    """An event file: TensorBoard's file-version event, then ``events``, as TFRecords."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    first = events[0].wall_time if events else 0.0
    records = [event_pb2.Event(wall_time=first, file_version="brain.Event:2"), *events]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path.parent}: cannot create ({exc.strerror or exc})") from None

    def write(handle: Any) -> None:
        writer = RecordWriter(handle)
        for event in records:
            writer.write(event.SerializeToString(deterministic=True))  # maps sorted

    atomic_write(path, write, binary=True)
    return path
