"""Which trials a reader asks about: ``where`` expressions (``optimizer=sgd``,
``learning_rate<=0.1``), parsed once into a :class:`Selection` that compare, plots, the
report and the TensorBoard export all apply the same way. Pure pandas."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lrlab.errors import ParameterError
from lrlab.formatting import rate as format_rate

# Relative tolerance of ``where`` on numbers: tables show three significant digits, so the
# value as a table shows it selects the row.
WHERE_RTOL = 5e-3
_OPERATORS: dict[str, Callable[[object, object], object]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "=": operator.eq,
    "<": operator.lt, ">": operator.gt,
}
_EXPRESSION = re.compile(r"\s*([A-Za-z_][\w]*)\s*(<=|>=|!=|=|<|>)\s*(.+?)\s*")


@dataclass(frozen=True)
class Filter:
    """``column op value``. On numbers, ``=`` and ``!=`` (and the equal part of ``<=`` and
    ``>=``) match within WHERE_RTOL."""

    column: str
    op: str
    value: str

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        column = frame[self.column]
        values = column.dropna()
        if pd.api.types.is_bool_dtype(column) or (
                len(values) and all(isinstance(v, (bool, np.bool_)) for v in values)):
            wanted = self.value.lower() in ("true", "1", "yes")
            return _OPERATORS[self.op](column, wanted).fillna(False).astype(bool)
        if not pd.api.types.is_numeric_dtype(column):
            return _OPERATORS[self.op](column.astype(str), self.value).fillna(False).astype(bool)
        try:
            number = float(self.value)
        except ValueError:
            raise ParameterError("where", str(self), f"{self.column} is numeric; got "
                                 f"{self.value!r}") from None
        x = column.astype(float)
        close = pd.Series(np.isclose(x, number, rtol=WHERE_RTOL, atol=0.0), index=column.index)
        strict = {"=": close, "!=": ~close & x.notna(), "<": (x < number) & ~close,
                  ">": (x > number) & ~close, "<=": (x < number) | close,
                  ">=": (x > number) | close}[self.op]
        return strict.fillna(False).astype(bool)

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"


@dataclass(frozen=True)
class Selection:
    """Filters ANDed together; the empty selection keeps every trial."""

    filters: tuple[Filter, ...] = ()

    @classmethod
    def parse(cls, expressions: Iterable[str] | Selection = ()) -> Selection:
        """``optimizer=sgd``, ``learning_rate<=0.1``, ``momentum!=0``; a Selection is
        returned as it is, so every reader can take either."""
        if isinstance(expressions, Selection):
            return expressions
        if isinstance(expressions, str):
            expressions = [expressions]
        filters = []
        for text in expressions:
            match = _EXPRESSION.fullmatch(text)
            if match is None:
                raise ParameterError("where", repr(text), "expected COLUMN=VALUE (or !=, <, <=, >, "
                                     ">=), e.g. optimizer=sgd")
            filters.append(Filter(*match.groups()))
        return cls(tuple(filters))

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.filters]

    def check(self, frame: pd.DataFrame, *, choices: Sequence[str]) -> None:
        """Every filter names a column of ``frame``; ``choices`` are those to suggest."""
        for condition in self.filters:
            if condition.column not in frame.columns:
                raise ParameterError("where", str(condition), f"unknown column "
                                     f"{condition.column!r}; expected one of: "
                                     f"{', '.join(choices)}")

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The trials matching every filter; when none do, an error listing what exists."""
        for condition in self.filters:
            kept = frame[condition.mask(frame)]
            if kept.empty:
                raise ParameterError("where", str(condition), f"no trial matches; "
                                     f"{condition.column} takes "
                                     f"{_values_text(frame[condition.column])}")
            frame = kept
        return frame

    def count(self, planned: pd.DataFrame) -> int | None:
        """How many of the ``planned`` trials (parameters only) the selection keeps; None
        when it filters on something only results have (status, ...)."""
        kept = planned
        for condition in self.filters:
            if condition.column in planned.columns:
                kept = kept[condition.mask(kept)]
            elif condition.column != "sweep":
                return None
        return len(kept)

    def __str__(self) -> str:
        return " and ".join(str(f) for f in self.filters)


def _values_text(column: pd.Series) -> str:
    values = sorted(column.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    shown = [format_rate(v) if isinstance(v, float) else str(v) for v in values[:12]]
    more = f" and {len(values) - 12} more" if len(values) > 12 else ""
    return ", ".join(shown) + more if shown else "no values"
