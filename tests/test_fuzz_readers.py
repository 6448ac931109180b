"""Every reader of run files, fed random corruptions of every run file: none may raise
anything but lrlab's own one-line errors, hang, or write outside the run directory.

Seeded and bounded in time: ``LRLAB_FUZZ_SEED`` (default below) and ``LRLAB_FUZZ_SECONDS``
(default 30) change them; a failure names the seed, the round and the corruptions, so that
it can be replayed. Longer runs are worth it after changing a reader:
``LRLAB_FUZZ_SECONDS=600 python -m pytest tests/test_fuzz_readers.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ArithmeticBackend, Deadline

from lrlab.errors import LrlabError
from lrlab.experiment.config import ExperimentConfig, parse_config

SEED = int(os.environ.get("LRLAB_FUZZ_SEED", "20261130"))
SECONDS = float(os.environ.get("LRLAB_FUZZ_SECONDS", "30"))

# Values that JSON can hold and a careless reader would choke on.
ODD_JSON = [None, True, False, 0, -1, 1.5, 10**400, "abc", "", "1e999", [], {}, [1, "x"],
            {"a": {"b": [None]}}, [[[[[]]]]], "\u202e\u0000", "$\\frac{$", "<script>"]
# Text stand-ins for numbers in JSON (json.dumps cannot write these itself).
ODD_NUMBERS = ["1e999", "-1e999", "NaN", "Infinity", "-0", "1e-320", "123456789" * 40]
ODD_YAML = ["[]", "{}", "null", ".inf", "true", "1e-320", "*x", "&a [1, *a]", "-1", "abc",
            "!!python/object/apply:os.system ['touch /tmp/lrlab-fuzz-pwned']"]
ODD_CELLS = ["", "inf", "-inf", "nan", "abc", "1e999", "-1", "0", "1.5", "\x00", '"', "9" * 400,
             "1e-320", "true"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExperimentConfig]:
    """A real sweep (three trials, one of them unfinished) and a real range test."""
    from conftest import TINY_YAML

    from lrlab.run.find_lr import RangeTestOptions, run_find_lr
    from lrlab.run.sweep import run_sweep

    runs = tmp_path_factory.mktemp("base")
    config = parse_config(TINY_YAML)
    sweep = run_sweep(config, runs_dir=runs, backend=ArithmeticBackend()).run_dir
    unfinished = sorted((sweep / "trials").iterdir())[-1]
    (unfinished / "result.json").unlink()
    one = config.model_copy(update={"sweep": config.sweep.model_copy(
        update={"optimizers": config.sweep.optimizers[:1]})})
    run_find_lr(one, options=RangeTestOptions(steps=12, seeds=(0,)), runs_dir=runs)
    return runs, config


def test_readers_survive_random_corruptions(base: tuple[Path, ExperimentConfig],
                                            tmp_path: Path) -> None:
    runs, config = base
    rng = random.Random(SEED)
    failures: list[str] = []
    rounds = 0
    started = time.monotonic()
    deadline = started + SECONDS
    outside = tmp_path / "outside"
    while time.monotonic() < deadline and len(failures) < 5:
        rounds += 1
        work = tmp_path / f"round-{rounds}"
        shutil.copytree(runs, work / "runs", symlinks=True)
        outside.mkdir(exist_ok=True)
        (outside / "precious.txt").write_text("keep me")
        files = sorted(p for p in (work / "runs").rglob("*") if p.is_file())
        done = [corrupt(rng, path, outside) for path in rng.sample(files, rng.randint(1, 3))]
        for name, reader in readers(config).items():
            try:
                with Deadline(30):
                    reader(work / "runs")
            except LrlabError as exc:
                if "\n" in str(exc) or not str(exc).strip():
                    failures.append(f"round {rounds} {done}: {name}: not one line: {exc!r}")
            except Exception:  # noqa: BLE001 - what the test looks for
                failures.append(f"round {rounds} {done}: {name}: "
                                f"{traceback.format_exc(limit=-3)}")
        if sorted(p.name for p in outside.iterdir()) != ["precious.txt"] or (
                outside / "precious.txt").read_text() != "keep me":
            failures.append(f"round {rounds} {done}: something was written outside the run "
                            f"directory: {sorted(p.name for p in outside.iterdir())}")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)
    print(f"fuzz: {rounds} rounds in {time.monotonic() - started:.0f} s, seed {SEED}")
    assert rounds >= 5, "too few rounds to mean anything"
    assert not failures, f"seed {SEED}:\n" + "\n\n".join(failures)


def readers(config: ExperimentConfig) -> dict[str, Callable[[Path], object]]:
    """Every command that reads run files, as the library runs it for the command line."""
    from lrlab.analysis.compare import compare_runs
    from lrlab.analysis.status import latest_run_dir, read_status
    from lrlab.present.charts import learning_curves, sensitivity_lines
    from lrlab.present.render import FORMATS, render
    from lrlab.present.report import collect, render_html
    from lrlab.present.status_text import status_lines
    from lrlab.present.tensorboard_export import export
    from lrlab.run.sweep import run_sweep
    from lrlab.rundir.loading import scan_runs

    def sweep_dir(runs: Path) -> Path:
        return next(p for p in sorted(runs.iterdir()) if p.name.startswith("tiny-")
                    and (p / "trials").exists()) if any(runs.iterdir()) else runs

    def status(runs: Path) -> object:
        for run in sorted(runs.iterdir()):
            status_lines(read_status(run))
        return latest_run_dir(runs)

    def compare(runs: Path) -> object:
        scan = scan_runs([runs])
        comparison = compare_runs(scan.frame, plans=scan.plans)
        sensitivity_lines(comparison)
        learning_curves(scan.frame, comparison)
        return [render(comparison, fmt, rows=comparison.shown()) for fmt in FORMATS]

    def report(runs: Path) -> object:
        return render_html(collect([runs]), sources=[runs])

    def tensorboard(runs: Path) -> object:
        return export([runs], runs.parent / "tensorboard")

    def resume(runs: Path) -> object:
        return run_sweep(config, resume=sweep_dir(runs), backend=ArithmeticBackend())

    return {"status": status, "compare": compare, "report": report,
            "tensorboard": tensorboard, "resume": resume}


def corrupt(rng: random.Random, path: Path, outside: Path) -> str:
    """Damage one file in one of many ways; say how (to replay a failure)."""
    data = path.read_bytes()
    kinds = ["truncate", "flip", "binary", "empty", "sparse-huge", "long-line", "symlink",
             "fifo", "folder", "dangling", "device"]
    if path.suffix == ".json" or path.name == ".lock":
        kinds += ["json-value"] * 6 + ["json-number"] * 3 + ["json-drop"] * 2
    if path.suffix == ".csv":
        kinds += ["csv-cell"] * 8 + ["csv-shape"] * 2
    if path.suffix == ".yaml":
        kinds += ["yaml-value"] * 4
    kind = rng.choice(kinds)
    what = f"{path.relative_to(path.parents[2])}:{kind}"
    if kind == "truncate":
        path.write_bytes(data[:rng.randint(0, max(0, len(data) - 1))])
    elif kind == "flip":
        raw = bytearray(data or b"x")
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        path.write_bytes(bytes(raw))
    elif kind == "binary":
        path.write_bytes(rng.randbytes(rng.randint(1, 5000)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "sparse-huge":  # 100 MB of zero bytes, without writing them
        os.truncate(path, 100 * 2**20)
    elif kind == "long-line":
        path.write_bytes(data + b"1" * rng.choice([200_000, 3_000_000]) + b"\n")
    elif kind in ("symlink", "dangling", "device", "fifo", "folder"):
        path.unlink()
        if kind == "symlink":
            path.symlink_to(outside / "precious.txt")
        elif kind == "dangling":
            path.symlink_to(outside / "absent" / path.name)
        elif kind == "device":
            path.symlink_to("/dev/zero")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir()
    elif kind.startswith("json"):
        try:
            document = json.loads(data)
        except ValueError:
            document = {}
        text = _corrupt_json(rng, document, kind)
        path.write_text(text)
    elif kind.startswith("csv"):
        path.write_text(_corrupt_csv(rng, data.decode("utf-8", "replace"), kind))
    elif kind == "yaml-value":
        lines = data.decode("utf-8", "replace").splitlines()
        if lines:
            index = rng.randrange(len(lines))
            key = lines[index].split(":")[0]
            lines[index] = f"{key}: {rng.choice(ODD_YAML)}"
        path.write_text("\n".join(lines) + "\n")
    return what


def _corrupt_json(rng: random.Random, document: object, kind: str) -> str:
    paths = list(_json_paths(document))
    if kind == "json-drop" and len(paths) > 1:
        *parents, key = rng.choice(paths[1:])
        parent = _at(document, parents)
        del parent[key]
        return json.dumps(document)
    if not paths or rng.random() < 0.1:
        return json.dumps(rng.choice(ODD_JSON))
    *parents, key = rng.choice(paths[1:] or [[]]) or [None]
    marker = "__ODD_NUMBER__"
    value = marker if kind == "json-number" else rng.choice(ODD_JSON)
    if key is None:
        return json.dumps(value)
    _at(document, parents)[key] = value
    text = json.dumps(document)
    return text.replace(f'"{marker}"', rng.choice(ODD_NUMBERS))


def _json_paths(node: object, prefix: tuple = ()):  # noqa: ANN202 - a test's generator
    yield list(prefix)
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _json_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _json_paths(value, (*prefix, index))


def _at(node: object, keys: list) -> object:
    for key in keys:
        node = node[key]  # type: ignore[index]
    return node


def _corrupt_csv(rng: random.Random, text: str, kind: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    if not rows:
        return ",".join(rng.choices(ODD_CELLS, k=3)) + "\n"
    if kind == "csv-cell":
        row = rng.randrange(len(rows))
        column = rng.randrange(len(rows[row]))
        rows[row][column] = rng.choice(ODD_CELLS)
    else:
        change = rng.choice(["drop-column", "add-column", "duplicate-row", "swap-rows",
                             "drop-header"])
        if change == "drop-column":
            column = rng.randrange(len(rows[0]))
            rows = [r[:column] + r[column + 1:] for r in rows]
        elif change == "add-column":
            rows = [[*r, rng.choice(ODD_CELLS)] for r in rows]
        elif change == "duplicate-row":
            rows.append(list(rng.choice(rows)))
        elif change == "swap-rows" and len(rows) > 2:
            rows[1], rows[-1] = rows[-1], rows[1]
        else:
            rows = rows[1:]
    return "\n".join(",".join(r) for r in rows) + "\n"
