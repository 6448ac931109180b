"""Regenerate every output the README and the documentation show, from real runs.

    LRLAB_DATA_DIR=/abs/folder/with/mnist.npz python scripts/doc_outputs.py [--only A,B]

Each output runs the command a reader would run, in fresh processes, into a scratch runs
folder, and writes what it printed into ``docs/outputs/<name>``; pictures go to ``docs/``.
The README's ``<!-- output: NAME -->`` blocks are then rewritten from those files, and the
documentation pages include them (pymdownx.snippets), so no output is ever pasted by hand.
``docs/outputs/ABOUT.md`` records when, on what machine and with which versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ROOT / "docs" / "outputs"
WIDTH = "100"  # the documents' code blocks fit 100 columns


def lrlab(*args: str) -> tuple[str, float]:
    """Run ``lrlab ARGS`` as a reader would (not on a terminal); its stdout and seconds."""
    env = {**os.environ, "COLUMNS": WIDTH}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lrlab", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"lrlab {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout, seconds


def summary(printed: str) -> str:
    """What a sweep prints at its end: the trials table and the verdicts (the per-epoch
    lines before them are a log, not a result)."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Trials"))
    return "\n".join(line for line in lines[start:] if not line.startswith("run directory"))


def run_dir(printed: str) -> Path:
    found = re.search(r"^run directory: (.+)$", printed, flags=re.MULTILINE)
    if found is None:
        raise SystemExit("the sweep did not print its run directory")
    return ROOT / found.group(1).strip()


def timed(text: str, seconds: float) -> str:
    """An output and, marked as this script's, how long the whole command took."""
    return f"{text}\n[doc_outputs.py: the whole command took {seconds:.0f} s]"


def smoke(runs: Path) -> dict[str, str]:
    printed, seconds = lrlab("sweep", "configs/smoke.yaml", "--runs-dir", str(runs / "smoke"))
    return {"smoke-sweep.txt": timed(summary(printed), seconds)}


def seed_experiment(runs: Path) -> dict[str, str]:
    printed, seconds = lrlab("sweep", "configs/mnist.yaml", "--runs-dir", str(runs / "mnist"))
    where = run_dir(printed)
    history = next(where.glob("trials/rmsprop-lr1.00e-03-s0-*/history.csv")).read_text()
    status, _ = lrlab("status", str(where))
    return {"mnist-sweep.txt": timed(summary(printed), seconds),
            "history.csv.txt": history.rstrip("\n"),
            "status.txt": _tidy(status, runs)}


def example(runs: Path) -> dict[str, str]:
    """Your model and your data: the example's own loader and factory."""
    printed, seconds = lrlab("sweep", "examples/shapes.yaml", "--runs-dir",
                             str(runs / "example"))
    return {"example-sweep.txt": timed(summary(printed), seconds)}


def verdicts(printed: str) -> str:
    """A sweep's verdicts alone: from the line that says what they read to the method."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if " at each trial's " in line)
    return "\n".join(line for line in lines[start:] if not line.startswith("run directory"))


def objectives(runs: Path) -> dict[str, str]:
    """Any objective: the seed article's second example, a regression, a binary classifier."""
    out = {}
    for name in ("keras-docs-example", "diabetes", "breast-cancer"):
        printed, seconds = lrlab("sweep", f"examples/{name}.yaml", "--runs-dir",
                                 str(runs / name))
        out[f"{name}.txt"] = timed(verdicts(printed), seconds)
    return out


FAILING_LOADER = """\
import numpy as np


def load(path="wine.csv"):
    table = np.loadtxt(path, delimiter=",")  # no such file: the user's own bug
    return (table[:, 1:], table[:, 0]), (table[:, 1:], table[:, 0])
"""
SMALL_BATCH_AXIS = """\
name: batch-axis
data: {dataset: synthetic, train_limit: 1200, validation: 200, test_limit: 200}
training: {epochs: 2, batch_size: [128, 32]}
sweep: {seeds: [0, 1], optimizers: [{name: sgd, learning_rates: [0.03, 0.3]}]}
"""


def first_hour(runs: Path) -> dict[str, str]:
    """What a new user meets in the first hour, as lrlab now prints it: a bug in their own
    loader (one line naming the line that raised), and a batch-size axis (a column of the
    trials table, the verdicts in order of value)."""
    folder = runs / "first-hour"
    folder.mkdir()
    (folder / "my_data.py").write_text(FAILING_LOADER)
    (folder / "wine.yaml").write_text(SMALL_BATCH_AXIS.replace("name: batch-axis", "name: wine")
                                      .replace("{dataset: synthetic, train_limit: 1200, "
                                               "validation: 200, test_limit: 200}",
                                               "{loader: my_data:load}"))
    (folder / "batch-axis.yaml").write_text(SMALL_BATCH_AXIS)
    env = {**os.environ, "COLUMNS": WIDTH}
    failed = subprocess.run([sys.executable, "-m", "lrlab", "sweep", str(folder / "wine.yaml"),
                             "--runs-dir", str(folder / "runs")], cwd=folder, env=env,
                            capture_output=True, text=True)
    if failed.returncode != 2:
        raise SystemExit(f"the failing loader's sweep exited {failed.returncode}")
    printed, seconds = lrlab("sweep", str(folder / "batch-axis.yaml"), "--runs-dir",
                             str(folder / "runs"))
    return {"user-error.txt": _tidy(failed.stderr, runs).replace(str(folder) + "/", ""),
            "batch-axis-sweep.txt": timed(summary(printed), seconds)}


def three_seeds(runs: Path) -> dict[str, str]:
    printed, _ = lrlab("sweep", "configs/mnist-3seeds.yaml", "--runs-dir",
                       str(runs / "three"), "--quiet")
    where = Path(printed.strip())
    table, _ = lrlab("compare", str(where), "--plots", str(runs / "plots"))
    markdown, _ = lrlab("compare", str(where), "--no-plots", "--format", "markdown",
                        "--where", "optimizer=sgd")
    shutil.copy(runs / "plots" / "sensitivity-val_accuracy.svg", ROOT / "docs" / "sensitivity.svg")
    shutil.copy(runs / "plots" / "learning-curves.svg", ROOT / "docs" / "learning-curves.svg")
    table = "\n".join(line for line in table.splitlines() if not line.startswith("plots:"))
    return {"compare-3seeds.txt": table.rstrip("\n"), "compare-3seeds.md": markdown.rstrip("\n")}


def find_lr(runs: Path) -> dict[str, str]:
    printed, _ = lrlab("find-lr", "configs/mnist.yaml", "--runs-dir", str(runs / "findlr"),
                       "--seeds", "0,1,2")
    where = next((runs / "findlr").iterdir())
    shutil.copy(where / "findlr.png", ROOT / "docs" / "findlr.png")
    return {"findlr.txt": _tidy(printed, runs)}


def in_words(where: Path) -> str:
    """What ``lrlab compare`` says of a sweep after its table: the verdicts, in words (as
    the Markdown format lists them: an answer, its evidence indented under it)."""
    printed, _ = lrlab("compare", str(where), "--no-plots", "--format", "markdown")
    return "\n".join(line[2:] if line.startswith("- ") else "  " + line[4:]
                     for line in printed.splitlines() if line.startswith(("- ", "  - ")))


def batch_size(runs: Path) -> dict[str, str]:
    """The batch-size study (10 minutes to an hour on 2 cores). It is kept in runs/docs/batch-size,
    so that running this step again resumes it (nothing left to train) and only compares."""
    where = _kept("batch-size", ROOT / "configs" / "mnist-batch.yaml")
    lrlab("compare", str(where), "--plots", str(runs / "batch-plots"))
    shutil.copy(runs / "batch-plots" / "batch-scaling.svg", ROOT / "docs" / "batch-scaling.svg")
    shutil.copy(runs / "batch-plots" / "sensitivity-val_accuracy.svg",
                ROOT / "docs" / "batch-sensitivity.svg")
    noise = subprocess.run([sys.executable, "scripts/noise_study.py", str(where)], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout
    return {"batch-size.txt": in_words(where), "noise-study.txt": noise.rstrip("\n")}


def sobol(runs: Path) -> dict[str, str]:
    """A Sobol sweep of 8 points, then 8 more by resuming with ``points: 16``."""
    printed, _ = lrlab("sweep", "configs/mnist-sobol.yaml", "--runs-dir", str(runs / "sobol"),
                       "--quiet")
    where = Path(printed.strip())
    more = runs / "mnist-sobol-16.yaml"
    more.write_text((ROOT / "configs" / "mnist-sobol.yaml").read_text().replace(
        "points: 8 ", "points: 16"))
    lrlab("sweep", str(more), "--resume", str(where), "--quiet")
    lrlab("compare", str(where), "--plots", str(runs / "sobol-plots"))
    shutil.copy(runs / "sobol-plots" / "axes-val_accuracy.svg", ROOT / "docs" / "sobol-axes.svg")
    return {"sobol.txt": in_words(where)}


def _kept(folder: str, config: Path, *extra: str) -> Path:
    """A long sweep kept in runs/docs/FOLDER: run once, then resumed (nothing left to
    train) each time the step runs again."""
    keep = ROOT / "runs" / "docs" / folder
    name = yaml.safe_load(config.read_text())["name"]
    done = sorted(keep.glob(f"{name}-2*"))
    if done:
        lrlab("sweep", str(config), "--resume", str(done[-1]), "--quiet", *extra)
        return done[-1]
    printed, _ = lrlab("sweep", str(config), "--runs-dir", str(keep), "--quiet", *extra)
    return Path(printed.strip())


def adaptive(runs: Path) -> dict[str, str]:
    """The adaptive sweep of the coarse grid against the full grid of its rates with 10
    seeds (about an hour on 2 cores, both kept in runs/docs/adaptive)."""
    coarse = ROOT / "configs" / "mnist-coarse.yaml"
    full = runs / "mnist-full-grid.yaml"
    full.write_text(coarse.read_text().replace("name: mnist-coarse", "name: mnist-full-grid")
                    .replace("seeds: [0, 1]", "seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"))
    settled = _kept("adaptive", coarse, "--until-settled")
    grid = _kept("adaptive", full)
    rounds, _ = lrlab("compare", str(settled), "--no-plots")
    rounds = rounds[rounds.index("Adaptive sweep"):]
    study = subprocess.run([sys.executable, "scripts/adaptive_study.py", "--grid", str(grid),
                            "--adaptive", str(settled)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    return {"adaptive-rounds.txt": rounds.rstrip("\n"), "adaptive-study.txt": study.rstrip("\n")}


def early_stopping(runs: Path) -> dict[str, str]:
    """configs/mnist-early-stopping.yaml against the same config training every epoch
    (about 40 minutes on 2 cores, both kept in runs/docs/early-stopping)."""
    stopping = ROOT / "configs" / "mnist-early-stopping.yaml"
    every = runs / "mnist-10-epochs.yaml"
    every.write_text("\n".join(line for line in stopping.read_text().splitlines()
                               if "early_stopping" not in line)
                     .replace("name: mnist-early-stopping", "name: mnist-10-epochs") + "\n")
    full, stopped = _kept("early-stopping", every), _kept("early-stopping", stopping)
    study = subprocess.run([sys.executable, "scripts/early_stopping_study.py", "--full",
                            str(full), "--stopped", str(stopped)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    return {"early-stopping.txt": study.rstrip("\n")}


HALVED = ROOT / "configs" / "mnist-halving.yaml"


def _halving_grid(runs: Path) -> Path:
    """The full grid halving is measured against: configs/mnist-halving.yaml without
    ``halving`` (kept in runs/docs/halving)."""
    grid = runs / "mnist-grid-12.yaml"
    grid.write_text("\n".join(line for line in HALVED.read_text().splitlines()
                              if "halving:" not in line)
                    .replace("name: mnist-halving", "name: mnist-grid-12") + "\n")
    return _kept("halving", grid)


def halving(runs: Path) -> dict[str, str]:
    """configs/mnist-halving.yaml against the full grid (about 25 minutes on 2 cores, both
    kept in runs/docs/halving)."""
    halving_dir, grid_dir = _kept("halving", HALVED), _halving_grid(runs)
    study = subprocess.run([sys.executable, "scripts/halving_study.py", "--full",
                            str(grid_dir), "--halving", str(halving_dir)], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout
    return {"halving-study.txt": study.rstrip("\n")}


def asha(runs: Path) -> dict[str, str]:
    """Both forms of halving replayed on the full grid's epochs with 1, 2 and 8 workers
    (seconds, once the grid is kept)."""
    replay = subprocess.run([sys.executable, "scripts/asha_replay.py", "--full",
                             str(_halving_grid(runs))], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    return {"asha-replay.txt": replay.rstrip("\n")}


def eos(runs: Path) -> dict[str, str]:
    """configs/mnist-eos.yaml: full-batch gradient descent and Adam with their sharpness
    measured (about 10 minutes on 2 cores, kept in runs/docs/eos), and the plot."""
    run = _kept("eos", ROOT / "configs" / "mnist-eos.yaml")
    study = subprocess.run([sys.executable, "scripts/eos_study.py", "--run", str(run),
                            "--plot", str(ROOT / "docs" / "eos.svg")], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    verdicts, _ = lrlab("compare", str(run), "--no-plots")
    return {"eos-study.txt": study.rstrip("\n"), "eos-compare.txt": verdicts.rstrip("\n")}


def edges(runs: Path) -> dict[str, str]:
    """The seed network's sharpness and edge at its initial weights, per seed (seconds)."""
    found = subprocess.run([sys.executable, "scripts/seed_edges.py"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    return {"seed-edges.txt": found.rstrip("\n")}


def physics(runs: Path) -> dict[str, str]:
    """configs/mnist-physics.yaml: the seed network with its loss surface measured after
    every epoch (about 10 minutes on 2 cores, kept in runs/docs/physics), compare's
    verdict, and lrlab path's pictures (docs/path.svg)."""
    run = _kept("physics", ROOT / "configs" / "mnist-physics.yaml")
    study = subprocess.run([sys.executable, "scripts/seed_physics.py", str(run)], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout
    verdicts = in_words(run)
    traced, _ = lrlab("path", str(run))
    lrlab("compare", str(run), "--plots", str(runs / "physics-plots"))
    (drawn,) = (runs / "physics-plots").glob("path-*-sgd.svg")
    shutil.copy(drawn, ROOT / "docs" / "path.svg")
    return {"physics-study.txt": study.rstrip("\n"), "physics-compare.txt": verdicts,
            "path.txt": traced.replace(str(run), "runs/docs/physics/" + run.name).rstrip("\n")}


def transfer(runs: Path) -> dict[str, str]:
    """µP against the standard parametrization on an MNIST slice, widths 64 to 1,024 (300
    trials each, about 10 minutes on 2 cores, kept in runs/docs/transfer), their transfer
    plots, and the coordinate check (seconds)."""
    found = {}
    for name in ("sp", "mup"):
        found[name] = _kept("transfer", ROOT / "configs" / f"mnist-transfer-{name}.yaml")
        lrlab("compare", str(found[name]), "--plots", str(runs / f"transfer-{name}"))
        shutil.copy(runs / f"transfer-{name}" / "transfer-model.hidden.svg",
                    ROOT / "docs" / f"transfer-{name}.svg")
    study = subprocess.run([sys.executable, "scripts/transfer_study.py", str(found["sp"]),
                            str(found["mup"])], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout
    checked, _ = lrlab("coord-check", "configs/mnist-coord-check.yaml",
                       "--plot", str(ROOT / "docs" / "coord-check.svg"))
    return {"transfer-study.txt": study.rstrip("\n"),
            "coord-check.txt": checked.replace(str(ROOT / "docs") + "/", "docs/").rstrip("\n")}


def axis_slopes(runs: Path) -> dict[str, str]:
    """The seed network's best rate along the data (train_limit) and along the epochs
    (about 10 minutes on 2 cores, kept in runs/docs/axis-slopes): compare's slopes."""
    lines = []
    for name in ("data", "epochs"):
        run = _kept("axis-slopes", ROOT / "configs" / f"mnist-{name}-axis.yaml")
        said = in_words(run).splitlines()
        lines += [line for line in said if ", best rate along " in line]
        lines += [line for line in said if line.startswith("  ") and "against log(" in line]
    return {"axis-slopes.txt": "\n".join(lines)}


def tpe(runs: Path) -> dict[str, str]:
    """configs/mnist-tpe.yaml (24 points) against 64 Sobol points of the same space (a
    few minutes on 2 cores, both kept in runs/docs/tpe)."""
    chosen = ROOT / "configs" / "mnist-tpe.yaml"
    sobol = runs / "mnist-sobol-64.yaml"
    sobol.write_text(chosen.read_text().replace("name: mnist-tpe", "name: mnist-sobol-64")
                     .replace("sampler: tpe", "sampler: sobol")
                     .replace("points: 24", "points: 64"))
    tpe_dir, sobol_dir = _kept("tpe", chosen), _kept("tpe", sobol)
    study = subprocess.run([sys.executable, "scripts/tpe_study.py", "--sobol", str(sobol_dir),
                            "--tpe", str(tpe_dir)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    compared, _ = lrlab("compare", str(sobol_dir), "--no-plots")
    lines = compared.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Importance ("))
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].startswith(("Method:", "Between", "Importance (", "plot:")))
    importance = lines[start:end]
    return {"tpe-study.txt": study.rstrip("\n"), "importance.txt": "\n".join(importance)}


def _tidy(printed: str, runs: Path) -> str:
    """Paths as a reader's own run would show them: ``runs/...``, not the scratch folder."""
    text = printed.rstrip("\n").replace(str(runs) + "/", "runs/")
    return text.replace(str(runs.relative_to(ROOT)) + "/", "runs/").replace(str(ROOT) + "/", "")


def report(runs: Path) -> dict[str, str]:
    """The HTML report of what the steps before it ran, and a real browser's view of it
    (``docs/report.png``): run it after ``mnist`` (or ``three-seeds``) and ``find-lr``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("report: no Chromium to take the screenshot (apt-get install chromium)")
    sweeps = [p for p in (runs / "three", runs / "mnist", runs / "findlr") if p.is_dir()]
    page = runs / "report.html"
    lrlab("report", *map(str, sweeps), "--output", str(page))
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1280,900",
                    f"--screenshot={ROOT / 'docs' / 'report.png'}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return {}


def _benchmark(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed:\n{done.stderr}")
    return done.stdout.rstrip("\n")


def waits(runs: Path) -> dict[str, str]:
    """Where a user waits outside training (compare, report, the first line), each against
    its baseline in the same run: ``benchmarks/bench_waits.py``."""
    return {"waits.txt": _benchmark("bench_waits.py")}


def rounds(runs: Path) -> dict[str, str]:
    """An adaptive sweep's rounds in one backend session against a session a round:
    ``benchmarks/bench_rounds.py``."""
    return {"rounds.txt": _benchmark("bench_rounds.py")}


def floor(runs: Path) -> dict[str, str]:
    """Training against the arithmetic floor, per model and batch size:
    ``benchmarks/bench_floor.py``."""
    return {"floor.txt": _benchmark("bench_floor.py")}


def engines(runs: Path) -> dict[str, str]:
    """The engines against each other, one trial at a time (a CPU does not stack), cold
    and warm compilation cache: ``benchmarks/bench_engines.py --stacks 1``."""
    return {"engines.txt": _benchmark("bench_engines.py", "--stacks", "1")}


STEPS: dict[str, Callable[[Path], dict[str, str]]] = {
    "smoke": smoke, "mnist": seed_experiment, "example": example, "three-seeds": three_seeds,
    "find-lr": find_lr, "report": report, "batch-size": batch_size, "sobol": sobol,
    "adaptive": adaptive, "early-stopping": early_stopping, "halving": halving, "asha": asha,
    "eos": eos, "edges": edges, "physics": physics, "transfer": transfer,
    "axis-slopes": axis_slopes,
    "tpe": tpe,
    "waits": waits, "rounds": rounds,
    "floor": floor, "engines": engines, "first-hour": first_hour, "objectives": objectives}


def fill_readme() -> None:
    """Rewrite each ``<!-- output: NAME -->`` block of the README from docs/outputs/NAME."""
    readme = ROOT / "README.md"

    def block(match: re.Match[str]) -> str:
        name = match.group(1)
        text = (OUTPUTS / name).read_text().rstrip("\n")
        return f"<!-- output: {name} -->\n```text\n{text}\n```\n<!-- /output -->"

    text = re.sub(r"<!-- output: (\S+) -->\n.*?<!-- /output -->", block,
                  readme.read_text(), flags=re.DOTALL)
    readme.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STEPS),
                        help=f"comma-separated, of: {', '.join(STEPS)}")
    parser.add_argument("--note", default="",
                        help="what a reader should know of this run (a shared machine...)")
    args = parser.parse_args()
    if "LRLAB_DATA_DIR" not in os.environ:
        print("note: LRLAB_DATA_DIR is not set; MNIST must then be in Keras's cache",
              file=sys.stderr)
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "runs") as scratch:
        for name in args.only.split(","):
            print(f"{name} ...", file=sys.stderr)
            for file, text in STEPS[name](Path(scratch)).items():
                (OUTPUTS / file).write_text(text + "\n")
    import keras
    import tensorflow

    # One line per step, so that a partial run says which outputs it renewed.
    about = OUTPUTS / "ABOUT.md"
    lines = {line.split(":", 1)[0][2:]: line for line in (
        about.read_text().splitlines() if about.exists() else []) if line.startswith("- ")}
    for name in args.only.split(","):
        lines[name] = (f"- {name}: {date.today()}, on {platform.machine()} with "
                       f"{os.cpu_count()} CPU cores, Python {platform.python_version()}, "
                       f"TensorFlow {tensorflow.__version__}, Keras {keras.__version__}."
                       + (f" {args.note}" if args.note else ""))
    about.write_text("Each output was last regenerated by `python scripts/doc_outputs.py "
                     "--only NAME`:\n\n" + "\n".join(lines[k] for k in STEPS if k in lines)
                     + "\n")
    fill_readme()


if __name__ == "__main__":
    main()
