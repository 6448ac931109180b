"""Finding and loading finished sweeps: run directories become one tidy DataFrame.

No TensorFlow here: ``lrlab compare`` and notebooks load thousands of trials in a second.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lrlab.errors import LrlabError, StoreError
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import (
    Design,
    check_size,
    draw_design,
    plan_experiments,
    with_additions,
)
from lrlab.formatting import plural
from lrlab.rundir.records import (
    FRAME_TRIAL_COLUMNS,
    HISTORY_COLUMNS,
    INITIAL_SHARPNESS,
    RUNNING,
    SPLIT_OF,
    TrialResult,
    plan_record,
)
from lrlab.rundir.store import (
    CONFIG_FILE,
    HISTORY_FILE,
    PARAMS_FILE,
    PATH_FILE,
    RESULT_FILE,
    TRIALS_DIR,
    RunStore,
    read_curvature,
    read_trial,
)

log = logging.getLogger(__name__)
# Where the frame says which of its columns are trial parameters (the keys of the trials'
# params.json files), so that nothing else ever becomes a grouping key.
PARAMS_ATTR = "lrlab_params"
# Where the frame says each sweep's chance levels: {sweep: {metric: share}}, from the data
# its first session recorded (absent for run directories that recorded none).
CHANCE_ATTR = "lrlab_chance"
# Per sweep, the objective its trials were judged with (lrlab.experiment.objective), and
# per trial (sweep/trial_id) each column's baseline, as result.json records them.
OBJECTIVE_ATTR = "lrlab_objective"
BASELINE_ATTR = "lrlab_baseline"
# Per sweep, the parameters its sampler drew (design.json's settings, as columns:
# "learning_rate", "model.dropout", "batch_size", "momentum"...).
SAMPLED_ATTR = "lrlab_sampled"
# Per sweep, how many training images its first session trained on (steps per epoch).
TRAIN_IMAGES_ATTR = "lrlab_train_images"
# Per sweep, how many examples each split held: {sweep: {"train": n, "validation": n,
# "test": n}} (a split of 13 cannot rank rates: one example is 0.077 of its accuracy).
SPLIT_SIZES_ATTR = "lrlab_split_sizes"
# The largest plan a reader expands (a sweep run with a raised --max-trials may be larger
# than the default limit; beyond this, its plan is "unknown").
MAX_PLANNED = 1_000_000


@dataclass(frozen=True)
class Unreadable:
    """A trial folder that could not be loaded, and why."""

    path: Path
    reason: str


@dataclass
class RunScan:
    frame: pd.DataFrame
    unreadable: list[Unreadable] = field(default_factory=list)
    sweep_dirs: list[Path] = field(default_factory=list)
    # Per sweep name, every trial its sweep.yaml plans (trial_id and parameters), or None
    # where sweep.yaml is not a config lrlab can expand.
    plans: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    # Each traced setting's paths (path.json's entries, lrlab path), of every sweep.
    paths: list[dict[str, Any]] = field(default_factory=list)


def load_runs(*paths: str | Path) -> pd.DataFrame:
    """Every trial below ``paths`` as a tidy DataFrame: one row per trial and epoch.

    Columns: ``sweep``, ``trial_id``, the trial's parameters (``optimizer``,
    ``learning_rate``, ``seed``, hyperparameters; listed in ``frame.attrs["lrlab_params"]``),
    ``status``, ``diverged_epoch``, ``initial_loss``, ``test_loss``, ``test_accuracy``,
    ``trial_seconds``, then the ``history.csv`` columns (``epoch``, ``lr``, ``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy``, ``seconds`` of the epoch). Unreadable
    trials are skipped and logged; use :func:`scan_runs` to get them as a list.
    """
    scan = scan_runs(paths)
    for bad in scan.unreadable:
        log.warning("skipped unreadable trial %s: %s", bad.path, bad.reason)
    return scan.frame


def scan_runs(paths: Iterable[str | Path]) -> RunScan:
    """Load every trial below ``paths`` (runs folders, sweep or trial directories)."""
    rows: list[dict[str, Any]] = []
    params: dict[str, None] = {}  # every trial's parameter names, in first-seen order
    metrics: dict[str, None] = dict.fromkeys(FRAME_TRIAL_COLUMNS + HISTORY_COLUMNS)
    objectives: dict[str, Any] = {}
    baselines: dict[str, dict[str, float]] = {}
    unreadable: list[Unreadable] = []
    sweep_dirs: dict[Path, None] = {}
    found = 0
    pairs, whole = _trial_dirs([Path(p) for p in paths])
    for sweep_dir, trial_dir in pairs:
        found += 1
        sweep_dirs[sweep_dir] = None
        try:
            trial_params, trial_rows, result = _trial_rows(sweep_dir.name, trial_dir)
        except StoreError as exc:
            unreadable.append(Unreadable(trial_dir, str(exc)))
            continue
        if result is not None:
            objectives.setdefault(sweep_dir.name, result.objective)
            if result.baseline:
                baselines[f"{sweep_dir.name}/{trial_dir.name}"] = dict(result.baseline)
        for row in trial_rows[:1]:
            metrics.update(dict.fromkeys(k for k in row if k not in metrics))
        rows.extend(trial_rows)
        params.update(dict.fromkeys(trial_params))
    if found == 0:
        shown = ", ".join(str(p) for p in paths)
        raise StoreError(f"{shown}: no trials found; expected a runs folder, a sweep "
                         f"directory (with {CONFIG_FILE}) or a trial directory")
    columns = ["sweep", "trial_id", *params,
               *(c for c in metrics if c not in params and c not in ("sweep", "trial_id"))]
    frame = pd.DataFrame(rows, columns=columns if rows else None)
    frame.attrs[PARAMS_ATTR] = list(params)
    frame.attrs[OBJECTIVE_ATTR] = objectives
    frame.attrs[BASELINE_ATTR] = baselines
    if "schedule" in frame:  # constant-rate trials store no schedule
        frame["schedule"] = frame["schedule"].fillna("constant")
    frame.attrs[CHANCE_ATTR] = {path.name: chance for path in sweep_dirs
                                if (chance := recorded_chance(path))}
    frame.attrs[SAMPLED_ATTR] = {path.name: columns for path in sweep_dirs
                                 if (columns := sampled_columns(path))}
    sizes = {path.name: split_sizes(recorded_data(path)) for path in sweep_dirs}
    frame.attrs[SPLIT_SIZES_ATTR] = {sweep: found for sweep, found in sizes.items() if found}
    frame.attrs[TRAIN_IMAGES_ATTR] = {sweep: found["train"] for sweep, found in sizes.items()
                                      if "train" in found}
    plans = {path.name: planned_trials(path) for path in sweep_dirs}
    for path in sweep_dirs:
        if path not in whole and plans[path.name] is not None:
            # Only some of its trial directories were given: the plan is those trials, so
            # that a finished sweep's trial read alone is not "1 of 24, unfinished".
            given = {trial.name for sweep, trial in pairs if sweep == path}
            plan = plans[path.name]
            plans[path.name] = plan[plan["trial_id"].isin(given)].reset_index(drop=True)
    traced = []
    for path in sweep_dirs:
        try:
            record = RunStore(path).read_path()
        except StoreError as exc:  # damaged: named, and the verdicts still stand
            unreadable.append(Unreadable(path / PATH_FILE, str(exc)))
            continue
        traced += record["paths"] if record else []
    return RunScan(frame=frame, unreadable=unreadable, sweep_dirs=list(sweep_dirs),
                   plans=plans, paths=traced)


def planned_trials(sweep_dir: Path) -> pd.DataFrame | None:
    """Every trial the sweep plans, one row each (trial_id and parameters), so that a
    reader knows how many are missing: as plan.json records it, or, for a run from before
    lrlab recorded its plan (or whose plan.json is damaged), as its ``sweep.yaml`` (with
    its design and additions) plans it. None when it cannot tell."""
    try:
        plan = RunStore(sweep_dir).read_plan()
    except LrlabError:
        plan = None
    if plan is None and (plan := _derived_plan(sweep_dir)) is None:
        return None
    # The points a model-based sampler has yet to ask for: one row each, settings unknown.
    frame = pd.DataFrame(plan["trials"] + [
        {"trial_id": f"unasked-{u['optimizer']}-{u['point']}-s{u['seed']}",
         "optimizer": u["optimizer"], "seed": u["seed"]} for u in plan.get("unasked", [])])
    if "schedule" in frame:
        frame["schedule"] = frame["schedule"].fillna("constant")
    return frame


def _derived_plan(sweep_dir: Path) -> dict[str, Any] | None:
    """plan.json as the sweep's config, design and additions give it."""
    try:
        store = RunStore(sweep_dir)
        config = parse_config(store.read_config_text(), source=str(sweep_dir / CONFIG_FILE))
        # However many trials a sweep.yaml claims, reading it stays quick.
        check_size(config, max_trials=MAX_PLANNED)
        recorded = store.read_design()
        # The points the sweep trains are the ones it recorded, not what SciPy draws now.
        design = draw_design(config, recorded=Design.from_dict(recorded) if recorded else None)
        experiments = with_additions(
            plan_experiments(config, legacy=store.has_legacy_ids(), design=design),
            store.read_additions())
    except (LrlabError, ValueError):
        return None
    trials = [trial for experiment in experiments for trial in experiment.trials]
    return plan_record(trials, config, asked=len(design.units))


def sampled_columns(sweep_dir: Path) -> list[str]:
    """The trial parameters a sweep's sampler drew, from its design.json ([] if none)."""
    try:
        design = RunStore(sweep_dir).read_design()
        names = Design.from_dict(design).dimensions if design else ()
    except (LrlabError, ValueError):
        return []
    # "sweep.optimizers[0].learning_rate" -> "learning_rate"; "training.batch_size" ->
    # "batch_size"; "model.dropout" as it is (see lrlab.experiment.space.Axis.column).
    return list(dict.fromkeys(
        name.rsplit(".", 1)[1] if name.startswith(("sweep.", "training.")) else name
        for name in names))


def recorded_data(sweep_dir: Path) -> dict[str, Any]:
    """What the sweep's first session recorded of its data ({} if nothing)."""
    try:
        sessions = RunStore(sweep_dir).read_environment()["sessions"]
    except LrlabError:
        return {}
    return next((s["data"] for s in sessions if isinstance(s.get("data"), dict)), {})


def split_sizes(data: dict[str, Any]) -> dict[str, int]:
    """The positive example counts of each split that recorded data names."""
    return {split: count for split in ("train", "validation", "test")
            if isinstance(count := data.get(split), int) and not isinstance(count, bool)
            and count > 0}


def recorded_chance(sweep_dir: Path) -> dict[str, float]:
    """The accuracy of guessing the most frequent class, per metric, as the sweep's first
    session recorded it ({} when none did)."""
    chance = recorded_data(sweep_dir).get("chance")
    if not isinstance(chance, dict):
        return {}
    return {metric: float(chance[split]) for metric, split in SPLIT_OF.items()
            if isinstance(chance.get(split), (int, float))
            and not isinstance(chance.get(split), bool) and 0 <= chance[split] <= 1}


def _is_trial_dir(path: Path) -> bool:
    return path.parent.name == TRIALS_DIR and any(
        (path / name).exists() for name in (PARAMS_FILE, RESULT_FILE, HISTORY_FILE))


def _sweep_dirs(root: Path) -> list[Path]:
    """The folders below ``root`` (itself included) that hold a trials folder, sorted; the
    trials folders themselves are not searched (a walk into every trial costs more than
    reading it)."""
    found = []
    for current, folders, _ in os.walk(root):
        if TRIALS_DIR in folders:
            folders.remove(TRIALS_DIR)
            if os.path.isdir(os.path.join(current, TRIALS_DIR)):
                found.append(Path(current))
    return sorted(found)


def _trial_dirs(paths: list[Path]) -> tuple[list[tuple[Path, Path]], set[Path]]:
    """(sweep directory, trial directory) pairs below the paths, each once, sorted; and the
    sweep directories that were read whole (not only some of their trial directories)."""
    pairs: dict[Path, Path] = {}
    whole: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise StoreError(f"{path}: no such file or directory")
        if not path.is_dir():
            raise StoreError(f"{path}: not a folder; expected a runs folder, a sweep "
                             f"directory or a trial directory")
        if _is_trial_dir(path):
            pairs[path.resolve()] = path.parent.parent
            continue
        sweeps = [path] if (path / TRIALS_DIR).is_dir() else _sweep_dirs(path)
        for sweep in sweeps:
            whole.add(sweep)
            trials = (sweep / TRIALS_DIR).resolve()
            with os.scandir(trials) as found:
                entries = sorted(found, key=lambda entry: entry.name)
            for entry in entries:
                if entry.is_dir():  # a link to a folder counts too, by where it leads
                    trial = Path(entry.path).resolve() if entry.is_symlink() else (
                        trials / entry.name)
                    pairs[trial] = sweep
    return sorted(((sweep, trial) for trial, sweep in pairs.items()),
                  key=lambda pair: (str(pair[0]), str(pair[1]))), whole


def _surface(trial_dir: Path) -> dict[str, float]:
    """What the trial measured of its loss surface (curvature.csv), as the frame's
    SURFACE_COLUMNS; {} where it measured nothing, or the file is damaged (measurements
    beside the results, not among them)."""
    try:
        rows = read_curvature(trial_dir)
    except StoreError:
        return {}
    if not rows:
        return {}

    def last(key: str) -> tuple[float, float]:
        found = [(r[key], r["epoch"]) for r in rows if math.isfinite(r[key])]
        return found[-1] if found else (math.nan, math.nan)

    first = next((r for r in rows if r["epoch"] == 0), None)
    noise = [r["noise_scale"] for r in rows if r["epoch"] > 0 and math.isfinite(r["noise_scale"])]
    distance, moved = last("distance")
    return {INITIAL_SHARPNESS: first["sharpness"] if first is not None else math.nan,
            "final_sharpness": last("sharpness")[0],
            "final_preconditioned": last("preconditioned_sharpness")[0],
            "noise_scale": float(np.median(noise)) if noise else math.nan,
            "distance": distance, "distance_epoch": moved}


def _trial_rows(sweep: str, trial_dir: Path
                ) -> tuple[list[str], list[dict[str, Any]], TrialResult | None]:
    """A trial's parameter names, its rows of the tidy frame, and its result."""
    params, result, history = read_trial(trial_dir)
    clashing = sorted(set(params) & {"sweep", "trial_id", *FRAME_TRIAL_COLUMNS,
                                     *HISTORY_COLUMNS})
    if clashing:
        raise StoreError(f"{trial_dir / PARAMS_FILE}: parameter(s) {', '.join(clashing)} "
                         f"clash with lrlab's own columns")
    if result is not None:
        epochs = [int(row["epoch"]) for row in history]
        if epochs != list(range(1, result.epochs + 1)):
            shown = f"epochs {epochs[0]}..{epochs[-1]} ({len(epochs)} rows)" if epochs else "none"
            raise StoreError(f"{trial_dir / HISTORY_FILE}: holds {shown}, but "
                             f"{RESULT_FILE} says {plural(result.epochs, 'epoch')}; the history is "
                             f"partial or damaged, so the trial is left out")
    fields = result.frame_fields() if result is not None else {"status": RUNNING}
    base = {"sweep": sweep, "trial_id": trial_dir.name, **params, **fields,
            **_surface(trial_dir)}
    return list(params), [{**base, **row} for row in history] or [base], result
