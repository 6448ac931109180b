from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from lrlab.errors import StoreError
from lrlab.rundir import files
from lrlab.rundir.files import atomic_write, atomic_write_text, csv_text, json_safe, json_text


def test_atomic_write_keeps_the_old_file_when_the_write_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "result.json"
    atomic_write_text(target, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(StoreError, match="result.json: cannot write \\(No space left"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["result.json"]  # the temporary file is gone too


def test_atomic_write_leaves_nothing_on_ctrl_c(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"

    def interrupted(handle) -> None:
        handle.write(b"half a pic")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted, binary=True)
    assert os.listdir(tmp_path) == []


def test_json_has_no_nan_and_numpy_scalars_are_numbers() -> None:
    data = {"a": math.nan, "b": [np.float32(0.5), math.inf], "c": np.int64(3), "d": "x"}
    assert json_safe(data) == {"a": None, "b": [0.5, None], "c": 3, "d": "x"}
    assert json.loads(json_text(data)) == {"a": None, "b": [0.5, None], "c": 3, "d": "x"}


def test_csv_text_writes_none_as_empty_and_ignores_extra_keys() -> None:
    text = csv_text(["a", "b"], [{"a": 1, "b": None, "extra": 2}])
    assert text == "a,b\n1,\n"
