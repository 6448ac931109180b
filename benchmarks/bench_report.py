"""How fast `lrlab report` writes its page for a large sweep, and how big the page is:
1,000 trials of 20 epochs (the tree of bench_compare.py), against `lrlab compare` with its
PNG plots on the same tree, in the same run. Prints seconds, ratios and megabytes; it
asserts nothing (speed is not a test).

    python benchmarks/bench_report.py [--trials 1000] [--epochs 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compare import build_tree  # noqa: E402 - the same synthetic tree


def command(*args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lrlab", *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = build_tree(Path(scratch), trials=args.trials, epochs=args.epochs)
        page = Path(scratch) / "report.html"
        compare = command("compare", str(root), "--plots", str(Path(scratch) / "plots"))
        report = command("report", str(root), "--output", str(page))
        size = page.stat().st_size / 1e6
    print(f"{args.trials} trials x {args.epochs} epochs, whole commands in fresh processes:")
    print(f"  lrlab compare (table and PNG plots)  {compare:6.2f} s   ratio 1.00")
    print(f"  lrlab report (the HTML page)         {report:6.2f} s   ratio "
          f"{report / compare:.2f}; page {size:.2f} MB")


if __name__ == "__main__":
    main()
