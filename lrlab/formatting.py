"""How numbers look to a reader, in the terminal, tables and exports alike. Pure."""

from __future__ import annotations

import math
import reprlib
from typing import Any


def number(value: Any, digits: int = 4, *, missing: str = "-") -> str:
    """A metric: fixed decimals; scientific when huge (a diverged loss) or below 1e-4
    (where four decimals would show only zeros); ``missing`` for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if not isinstance(value, float):
        return str(value)
    if abs(value) >= 1e4 or 0 < abs(value) < 1e-4:
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def rate(value: float) -> str:
    """A learning rate: three significant digits, the same style at every magnitude."""
    return f"{value:.3g}"


def plural(count: int, noun: str) -> str:
    """``1 seed``, ``2 seeds``, ``1,000 trials``: never ``seed(s)``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict, _BRIEF.maxstring = 2, 6, 4, 60
_BRIEF.maxlong, _BRIEF.maxother = 40, 60


def brief(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut short however large (a YAML
    alias can make a huge one, a damaged file a 400-digit number)."""
    return _BRIEF.repr(value)


def first_line(exc: BaseException, *, limit: int = 300) -> str:
    """An exception's message in one line, for a one-line error: its first non-blank line,
    bounded, or the exception's type when it says nothing."""
    line = next((line.strip() for line in str(exc).splitlines() if line.strip()),
                type(exc).__name__)
    return line if len(line) <= limit else line[:limit] + "…"
