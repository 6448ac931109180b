"""The search space of a sweep: which settings of the experiment are axes, and how sampled
axes are drawn. Pure; no TensorFlow.

Any setting of ``data``, ``model`` and ``training`` may be an axis:

- a list where the schema expects one value is a *grid* axis (``batch_size: [32, 128]``);
  for settings that are lists themselves (``hidden``, ``filters``, ``dropout``) a list of
  lists is (``hidden: [[256], [512]]``), and ``{values: [...]}`` is, anywhere (inside
  ``args`` it is the only way: a factory may take a list as one value);
- ``{low, high}`` (with ``log`` and ``integer``) is a *sampled* axis, drawn by
  ``sweep.sampler``.

The optimizer's own axes (rates, hyperparameters, schedules) are its entry's business (see
:mod:`lrlab.experiment.config`); the sampled ones join the same design as the experiment's,
so that one point of the design fixes every sampled value of a trial.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from lrlab.formatting import brief

SECTIONS = ("data", "model", "training")
SAMPLERS = ("grid", "random", "sobol", "halton", "tpe")
# Samplers that choose each point from the results of the points before (through Optuna):
# their points are drawn as the sweep goes, never up front.
MODEL_BASED = ("tpe",)
# Settings whose one value is itself a list: for them a list of lists is the axis.
LIST_VALUED = {("model", "hidden"), ("model", "filters"), ("model", "dropout"),
               ("model", "base_hidden"), ("model", "base_filters")}
# Keyword arguments of a user's function: a list there may be one value.
ARGUMENTS = {("data", "args"), ("model", "args")}
# What names the source or says how trials are computed: one sweep per value instead.
NOT_AXES = {
    ("data", "dataset"): "the data set", ("data", "path"): "the data file",
    ("data", "loader"): "the data loader", ("model", "kind"): "the kind of network",
    ("model", "factory"): "the model factory", ("training", "engine"): "the engine",
    ("training", "precision"): "the arithmetic", ("training", "stack"): "stacking",
}
# Integer settings: a range of them draws integers unless told otherwise.
INTEGER_SETTINGS = {("training", "batch_size"), ("training", "epochs"),
                    ("data", "train_limit"), ("data", "test_limit"), ("data", "classes"),
                    ("model", "hidden"), ("model", "filters"), ("model", "kernel_size"),
                    ("model", "pool_size")}
RANGE_KEYS = ("low", "high", "log", "integer")
# A best value this close to an end of a sampled range (a share of its width, on the
# range's own scale) is "at the edge": the range may not contain the optimum.
EDGE_SHARE = 0.1


class Range(BaseModel):
    """``{low, high}``: values drawn between ``low`` and ``high`` (on a log scale with
    ``log``; rounded with ``integer``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float
    high: float
    log: bool = False
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("low", "high"):
                if isinstance(data.get(key), bool):
                    raise ValueError(f"{key}: expected a number, not true/false")
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: a log scale needs low > 0 (got {self.low:g})")
        if self.integer and math.ceil(self.low) > math.floor(self.high):
            raise ValueError(f"integer: no integer between {self.low:g} and {self.high:g}")
        return self

    def at(self, unit: float) -> float | int:
        """The value at ``unit`` in [0, 1) of the way from low to high."""
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            value = math.exp(lo + unit * (hi - lo))
        else:
            value = self.low + unit * (self.high - self.low)
        if self.integer:
            return int(min(max(round(value), math.ceil(self.low)), math.floor(self.high)))
        return min(max(value, self.low), self.high)  # exp(log(x)) may stray by an ulp

    def share(self, value: float) -> float:
        """Where ``value`` lies in the range, 0 at low and 1 at high, on its scale."""
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def spec(self) -> dict[str, Any]:
        return self.model_dump()


@dataclass(frozen=True)
class Axis:
    """One setting of the experiment that takes several values: a grid of ``values`` or
    a sampled ``range``."""

    path: tuple[str, ...]  # ("training", "batch_size"), ("model", "args", "width")
    values: tuple[Any, ...] = ()
    range: Range | None = None

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def sampled(self) -> bool:
        return self.range is not None

    @property
    def column(self) -> str:
        """The trial parameter it shows as: the training settings are parameters already
        (``batch_size``); the others by their dotted name (``model.dropout``)."""
        return self.path[-1] if self.path[0] == "training" else self.name

    @property
    def list_valued(self) -> bool:
        return self.path in LIST_VALUED

    def setting(self, value: Any) -> Any:
        """What the setting is set to for the axis value ``value`` (a sampled width of
        ``hidden`` is one layer of it)."""
        return [value] if self.list_valued and not isinstance(value, list) else value

    def spec(self) -> Any:
        """The axis as a config writes it (what :func:`split_axes` reads back)."""
        if self.range is not None:
            return self.range.spec()
        if self.list_valued and all(isinstance(v, list) for v in self.values):
            return [list(v) for v in self.values]
        if self.path[1] == "args" or self.list_valued:
            return {"values": list(self.values)}
        return list(self.values)


def shown(value: Any) -> Any:
    """An axis value as a trial parameter: a one-item list is its item, a longer one is
    ``512,512`` (so that tables can group by it)."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else ",".join(f"{v:g}" if isinstance(v, float)
                                                         else str(v) for v in value)
    return value


def split_axes(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[Axis, ...]]:
    """The config with each axis replaced by one of its values (the first; a range's low
    end), and the axes, in the file's order. A ValueError names a malformed axis."""
    out = dict(data)
    axes: list[Axis] = []
    for section in SECTIONS:
        settings = data.get(section)
        if not isinstance(settings, dict):
            continue
        settings = out[section] = dict(settings)
        for key, value in list(settings.items()):
            if (section, key) in ARGUMENTS and isinstance(value, dict):
                args = settings[key] = dict(value)
                for name, arg in value.items():
                    args[name] = _place(_axis((section, key, name), arg, explicit_only=True),
                                        arg, axes)
            else:
                settings[key] = _place(_axis((section, key), value, explicit_only=False),
                                       value, axes)
    return out, tuple(axes)


def _place(axis: Axis | None, value: Any, axes: list[Axis]) -> Any:
    """What the setting holds in the base config; an axis of two values or more (or a
    range) is kept in ``axes``, one of a single value is just that value."""
    if axis is None:
        return value
    if axis.range is not None or len(axis.values) > 1:
        axes.append(axis)
    return axis.setting(axis.range.at(0.0) if axis.range is not None else axis.values[0])


def _axis(path: tuple[str, ...], value: Any, *, explicit_only: bool) -> Axis | None:
    """The axis ``value`` makes of the setting at ``path``, or None if it is one value."""
    name = ".".join(path)
    explicit = isinstance(value, dict) and ("values" in value or "low" in value
                                            or "high" in value)
    if explicit:
        values = _explicit(name, path, value)
    elif explicit_only or not isinstance(value, list):
        return None
    elif not value or (path in LIST_VALUED and not all(isinstance(v, list) for v in value)):
        return None  # one value (the layers' sizes), or nothing: the schema judges it
    else:
        values = value
    if isinstance(values, Range):
        axis = Axis(path, range=values)
    else:
        axis = Axis(path, values=tuple(values))
        _check_distinct(name, values)
    if path[:2] in NOT_AXES:
        raise ValueError(f"{name}: {NOT_AXES[path[:2]]} is not an axis; run one sweep per "
                         f"value (lrlab compare reads several run directories at once)")
    return axis


def _explicit(name: str, path: tuple[str, ...], value: dict[str, Any]) -> list[Any] | Range:
    if "values" in value:
        if set(value) != {"values"} or not isinstance(value["values"], list) or not value[
                "values"]:
            raise ValueError(f"{name}: expected {{values: [a non-empty list]}} alone, or "
                             f"{{low, high}} (got {brief(value)})")
        return list(value["values"])
    unknown = sorted(set(value) - set(RANGE_KEYS))
    if unknown:
        raise ValueError(f"{name}.{unknown[0]}: unknown key of a range; expected one of: "
                         f"{', '.join(RANGE_KEYS)}")
    spec = dict(value)
    if "integer" not in spec:
        both_int = all(isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool)
                       for k in ("low", "high"))
        spec["integer"] = path[:2] in INTEGER_SETTINGS or (path[1] == "args" and both_int)
    try:
        return Range.model_validate(spec)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{name}{'.' + where if where else ''}: {message}") from None


def _check_distinct(name: str, values: list[Any]) -> None:
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ValueError(f"{name}: duplicate value {value!r}; each value of an axis "
                             f"must differ")
        seen.append(value)


def draw_units(sampler: str, points: int, dimensions: int, seed: int) -> np.ndarray:
    """``points`` x ``dimensions`` coordinates in [0, 1): the first ``points`` of the
    sampler's sequence, so that asking for more later extends the same points.

    Sobol and Halton are scrambled (randomized quasi-Monte Carlo: unbiased, and as even as
    the sequence) and seeded; ``random`` is NumPy's generator, row by row.
    """
    if dimensions == 0 or points == 0:
        return np.zeros((points, dimensions))
    if sampler == "random":
        return np.random.default_rng(seed).random((points, dimensions))
    from scipy.stats import qmc  # import-time cost only where sampling is asked for

    engine = (qmc.Sobol if sampler == "sobol" else qmc.Halton)(
        d=dimensions, scramble=True, rng=np.random.default_rng(seed))
    with warnings.catch_warnings():
        # Sobol's balance holds at powers of two; other counts are still valid points
        # (the documentation recommends powers of two).
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(points)
