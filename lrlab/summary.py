"""Which learning rate is best for each optimizer, from ``results.csv`` rows. Pure pandas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from lrlab.results import RESULT_COLUMNS


def selection_metric(frame: pd.DataFrame) -> str:
    """The peak validation accuracy when there is a validation set, else test accuracy."""
    if "best_val_accuracy" in frame and frame["best_val_accuracy"].notna().any():
        return "best_val_accuracy"
    return "test_accuracy"


def best_learning_rates(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Per optimizer, the setting with the highest mean selection metric over seeds.

    Trials that differ only in seed are averaged; failed and interrupted trials are left
    out (they are not results), diverged ones count with the metric they reached.
    """
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=["optimizer", "learning_rate", "metric", "mean", "seeds"])
    frame = frame[frame["status"].isin(["completed", "diverged"])]
    metric = selection_metric(frame)
    params = [c for c in frame.columns
              if c not in RESULT_COLUMNS and c not in ("trial_id", "seed")]
    grouped = (frame.groupby(params, dropna=False, sort=False)[metric]
               .agg(mean="mean", seeds="count").reset_index())
    best = grouped.loc[grouped.groupby("optimizer", sort=False)["mean"].idxmax().dropna()]
    best.insert(len(params), "metric", metric)
    return best.reset_index(drop=True)
