"""Labels as Keras takes them: which kind a data set's targets are, checked and encoded
for its loss, and the constant prediction every metric's baseline is measured with. Pure
(NumPy).

Kinds (lrlab.experiment.objective.LABEL_KINDS):
- integer classes (N,) 0..K-1 (a (N, 1) column too): sparse cross-entropy, softmax head;
- one-hot classes (N, K), one 1 per row: categorical cross-entropy, softmax head;
- binary (N,) or (N, 1) of 0/1: binary cross-entropy, one sigmoid unit;
- multi-label (N, K) of 0/1: binary cross-entropy, K sigmoid units;
- regression: real targets (N,) or (N, D): a mean squared error, D linear units.

A loss that takes one kind decides it (binary cross-entropy: binary or multi-label by the
labels' width). Without a loss, the labels do: integers (N,) are classes, as lrlab always
read them; rows of 0/1 with one 1 are one-hot, other rows of 0/1 multi-label; a (N,) of
floats that are all 0 or 1 is binary; any other floats are regression targets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lrlab.errors import DataError
from lrlab.experiment.objective import LOSSES, is_reference

# The constant predictor's probabilities are kept off 0 and 1: a class the training set
# never shows would otherwise have a baseline loss of infinity.
_FLOOR = 1e-7


def _binary(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all())


def _one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and _binary(y) and bool((y.sum(axis=1) == 1).all())


def label_kind(y: np.ndarray, *, loss: str | None, declared: str, source: str) -> str:
    """The kind of the training labels ``y`` (checked against ``declared`` or the loss)."""
    column = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
    integer = np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_
    if declared != "auto":
        return declared
    if loss is not None and not is_reference(loss) and len(LOSSES[loss].labels) == 1:
        return LOSSES[loss].labels[0]
    if loss is not None and not is_reference(loss) and "binary" in LOSSES[loss].labels:
        return "binary" if column.ndim == 1 else "multi_label"
    if column.ndim == 1:
        if integer:
            return "integer"
        return "binary" if _binary(column) else "regression"
    if column.ndim == 2 and _binary(column):
        return "one_hot" if _one_hot(column) else "multi_label"
    if column.ndim == 2 and not integer:
        return "regression"
    raise DataError(f"{source}: y_train has shape {y.shape} and dtype {y.dtype}; expected "
                    f"integer classes (N,), one-hot or multi-label rows (N, K) of 0/1, or "
                    f"real targets (N,) or (N, D)")


def encode(y: np.ndarray, kind: str, *, name: str, source: str,
           classes: int | None = None) -> np.ndarray:
    """``y`` as the loss takes it for labels of ``kind`` (checked): int32 (N,) classes,
    float32 (N, K) rows otherwise ((N, 1) for one binary label or one target)."""
    column = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 and kind in (
        "integer", "binary", "regression") else y
    if kind == "integer":
        if column.ndim != 1 or not (np.issubdtype(column.dtype, np.integer)
                                    or column.dtype == np.bool_):
            hint = (" (these look like one-hot rows: use categorical_crossentropy)"
                    if column.ndim == 2 and _one_hot(column) else
                    " (encode text or one-hot labels as integers, or name a loss that "
                    "takes them)")
            raise DataError(f"{source}: {name} has shape {y.shape} and dtype {y.dtype}; "
                            f"integer classes 0..K-1 expected{hint}")
        return column.astype(np.int32)
    if not np.issubdtype(column.dtype, np.number) and column.dtype != np.bool_:
        raise DataError(f"{source}: {name} has dtype {y.dtype}; expected numbers")
    values = column.astype(np.float32)
    if kind in ("binary", "regression") and values.ndim == 1:
        values = values[:, None]
    if kind == "one_hot" and not _one_hot(values):
        integer = column.ndim == 1
        found = "holds integer classes" if integer else "has rows that are not one-hot"
        raise DataError(f"{source}: {name} {found} (shape {y.shape}); one-hot rows (N, K) "
                        f"expected: "
                        + ("use sparse_categorical_crossentropy for integer classes"
                           if integer else "one 1 per row, the rest 0"))
    if kind in ("binary", "multi_label") and not _binary(values):
        raise DataError(f"{source}: {name} holds values other than 0 and 1 (range "
                        f"{values.min():g}..{values.max():g}); binary labels expected")
    if kind == "multi_label" and values.ndim != 2:
        raise DataError(f"{source}: {name} has shape {y.shape}; multi-label rows (N, K) "
                        f"expected")
    if kind == "regression" and values.ndim != 2:
        raise DataError(f"{source}: {name} has shape {y.shape}; targets (N,) or (N, D) "
                        f"expected")
    if not np.isfinite(values).all():
        raise DataError(f"{source}: {name} holds values that are not finite")
    return values


def outputs_of(kind: str, y: np.ndarray, classes: int | None) -> int:
    """How many output units the labels need: K classes, 1 binary label, D targets."""
    return int(classes) if kind == "integer" and classes is not None else int(y.shape[1])


def baseline_logits(y: np.ndarray, kind: str, outputs: int) -> np.ndarray:
    """The logits of the best constant prediction for labels ``y`` (what a model knowing
    nothing of the inputs predicts): the classes' frequencies (so the majority class), the
    prevalence of each binary label, the mean target (an R² of 0). Every metric's baseline
    on a split is its value there, for that split's labels."""
    if kind == "regression":
        return y.mean(axis=0, dtype=np.float64).astype(np.float32)
    if kind == "integer":
        share = np.bincount(y, minlength=outputs) / len(y)
    else:
        share = y.mean(axis=0, dtype=np.float64)
    share = np.clip(share, _FLOOR, 1 - _FLOOR)
    logits = np.log(share) if kind in ("integer", "one_hot") else np.log(share / (1 - share))
    return logits.astype(np.float32)


def majority_share(y: np.ndarray, kind: str) -> float:
    """The share of the most frequent class (for environment.json's ``chance``); NaN for
    regression targets or an empty split."""
    if len(y) == 0 or kind == "regression":
        return float("nan")
    if kind == "integer":
        return float(np.bincount(y).max() / len(y))
    if kind == "one_hot":
        return float(y.sum(axis=0).max() / len(y))
    share = y.mean(axis=0)
    return float(np.maximum(share, 1 - share).mean())


def describe(kind: str, outputs: int) -> Mapping[str, object]:
    """What environment.json records of the labels."""
    return {"kind": kind, "outputs": outputs}
