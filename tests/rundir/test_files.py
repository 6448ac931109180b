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


def test_real_dir_refuses_links_and_files(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "run"
    root.mkdir()
    assert files.real_dir(root, "trials", "t1") == root / "trials" / "t1"
    (root / "plots").symlink_to(outside)
    with pytest.raises(StoreError, match=r"run/plots: a symbolic link, not a folder"):
        files.real_dir(root, "plots")
    (root / "trials" / "t2").symlink_to(tmp_path / "nowhere")  # dangling
    with pytest.raises(StoreError, match=r"t2: a symbolic link, not a folder"):
        files.real_dir(root, "trials", "t2")
    (root / "trials" / "t3").write_text("a file")
    with pytest.raises(StoreError, match=r"t3: a file, not a folder"):
        files.real_dir(root, "trials", "t3")
    assert list(outside.iterdir()) == []


def test_read_bytes_reads_only_regular_files_and_never_blocks(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"data")
    assert files.read_bytes(tmp_path / "ok") == b"data"
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    with pytest.raises(StoreError, match="link: a symbolic link; lrlab reads only regular"):
        files.read_bytes(tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")  # opening it for reading would block: it must not
    with pytest.raises(StoreError, match="fifo: a FIFO, not a regular file"):
        files.read_bytes(tmp_path / "fifo")
    with pytest.raises(StoreError, match="zero: a character device, not a regular file"):
        files.read_bytes(Path("/dev/zero"))
    (tmp_path / "big").write_bytes(b"x" * 2048)
    with pytest.raises(StoreError, match="big: 2,048 bytes, more than any file lrlab writes"):
        files.read_bytes(tmp_path / "big", limit=1024)
    with pytest.raises(FileNotFoundError):
        files.read_bytes(tmp_path / "absent")
    (tmp_path / "latin").write_bytes(b"caf\xe9")
    with pytest.raises(StoreError, match=r"latin: not UTF-8 text \(byte 3\); damaged"):
        files.read_text(tmp_path / "latin")
