"""The writer's lock: never opened through a link, never left half-written by a full disk,
and honest about what it cannot know of another host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import fill_disk

from lrlab.errors import StoreError
from lrlab.rundir.lock import Holder, read_holder, writer_lock


def test_a_lock_that_is_a_link_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("years of notes")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(precious)
    with pytest.raises(StoreError, match=r"\.lock: a symbolic link .* never writes through"), \
            writer_lock(run, command="lrlab sweep x"):
        pass
    assert precious.read_text() == "years of notes"


def test_a_lock_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".lock")
    with pytest.raises(StoreError, match="not a regular file"), \
            writer_lock(tmp_path, command="lrlab sweep x"):
        pass


@pytest.mark.parametrize("content", [
    b"", b"\xff\xfe", b"[1, 2]", b'{"host": 1, "pid": "x", "since": 2, "command": 3}',
    b'{"host": "h"}', b"{" * 100_000])
def test_a_damaged_lock_file_reads_as_no_holder(tmp_path: Path, content: bytes) -> None:
    (tmp_path / ".lock").write_bytes(content)
    assert read_holder(tmp_path) is None
    with writer_lock(tmp_path, command="lrlab sweep x") as previous:  # and is taken over
        assert previous is None


def test_a_holder_on_another_host_is_not_called_dead(tmp_path: Path) -> None:
    holder = Holder(host="elsewhere.example", pid=1, since="2026-01-01T00:00:00+00:00",
                    command="lrlab sweep x")
    assert holder.alive() is None  # cannot be known from here


def test_a_full_disk_before_the_lock_is_one_error(small_disk: Path) -> None:
    run = small_disk / "run"
    run.mkdir()
    fill_disk(small_disk)
    with pytest.raises(StoreError, match=r"\.lock: cannot write the run directory's lock "
                                         r"\(No space left on device\)"), \
            writer_lock(run, command="lrlab sweep x"):
        pass
    assert (run / ".lock").read_bytes() == b""
