from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import pytest

from lrlab.errors import StoreError
from lrlab.rundir.records import EpochRecord, TrialResult, TrialStatus
from lrlab.rundir.store import RunStore, safe_name

NOW = datetime(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("mnist-lr", "mnist-lr"), ("../../etc/passwd", "etc-passwd"), ("/abs/path", "abs-path"),
     ("a b\tc", "a-b-c"), ("..", "sweep"), ("", "sweep"), ("é", "sweep")],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_run_directory_stays_inside_runs_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    store = RunStore.create(runs, "../../escape", now=NOW)
    assert store.root.parent == runs
    assert store.root.name == "escape-20260102-030405"
    assert (store.root / "trials").is_dir()


def test_two_sweeps_in_the_same_second_never_share_a_directory(tmp_path: Path) -> None:
    roots = {RunStore.create(tmp_path, "x", now=NOW).root for _ in range(3)}
    assert {r.name for r in roots} == {"x-20260102-030405", "x-20260102-030405-2",
                                       "x-20260102-030405-3"}


def test_unwritable_runs_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create a run directory .*another `runs_dir`"
                       ) as caught:
        RunStore.create(blocker / "runs", "x", now=NOW)
    assert caught.value.as_options().endswith("choose another --runs-dir")


def test_trial_files_and_non_finite_values(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "x", now=NOW)
    store.write_params("t1", {"optimizer": "sgd", "learning_rate": 0.1, "seed": 0})
    store.write_history("t1", [EpochRecord.of(epoch=1, lr=0.1, loss=math.nan, accuracy=0.1,
                                           val_loss=math.inf, val_accuracy=0.1, seconds=1.0)])
    store.write_result(TrialResult("t1", TrialStatus.DIVERGED, epochs=1, test={"loss": math.nan}))
    trial = store.root / "trials" / "t1"
    assert json.loads((trial / "result.json").read_text())["test"]["loss"] is None
    history = (trial / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,lr,loss,accuracy,val_loss,val_accuracy,seconds"
    assert history[1] == "1,0.1,nan,0.1,inf,0.1,1.0"
    _, back, _ = store.read_trial("t1")
    assert back is not None and back.status is TrialStatus.DIVERGED
    assert math.isnan(back.test_loss)  # null in the file, NaN again once read


def test_unreadable_results_name_the_file(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "x", now=NOW)
    with pytest.raises(StoreError, match="params.json: missing"):
        store.read_trial("absent")
    store.write_params("t2", {"optimizer": "sgd", "learning_rate": 0.1, "seed": 0})
    result = store.root / "trials" / "t2" / "result.json"
    result.write_text('{"status": "compl')
    with pytest.raises(StoreError, match="t2/result.json: malformed JSON"):
        store.read_trial("t2")
    result.write_text("[1, 2]")
    with pytest.raises(StoreError, match="t2/result.json: malformed; expected a JSON object"):
        store.read_trial("t2")


def test_open_requires_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a run directory \\(no sweep.yaml\\)"):
        RunStore.open(tmp_path)
    store = RunStore.create(tmp_path, "x", now=NOW)
    store.write_config({"name": "x"})
    assert RunStore.open(store.root).read_config() == {"name": "x"}
    (store.root / "sweep.yaml").write_text("- just a list")
    with pytest.raises(StoreError, match="corrupted run config"):
        store.read_config()


def test_links_planted_in_a_run_directory_are_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = RunStore.create(tmp_path / "runs", "x", now=NOW)
    (store.root / "trials" / "t1").symlink_to(outside)
    with pytest.raises(StoreError, match=r"trials/t1: a symbolic link, not a folder"):
        store.write_params("t1", {"optimizer": "sgd", "learning_rate": 0.1, "seed": 0})
    (store.root / "trials").rename(store.root / "old-trials")
    (store.root / "trials").symlink_to(outside)
    with pytest.raises(StoreError, match=r"/trials: a symbolic link, not a folder"):
        store.write_history("t2", [])
    with pytest.raises(StoreError, match="trials: a symbolic link, not a folder"):
        store.trial_ids()
    assert list(outside.iterdir()) == []  # nothing landed outside the run directory


def test_damaged_run_files_name_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path, "x", now=NOW)
    (store.root / "sweep.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(StoreError, match=r"sweep.yaml: not UTF-8 text \(byte 9\)"):
        store.read_config()
    (store.root / "environment.json").write_text('{"sessions": [1, "x"]}')
    with pytest.raises(StoreError, match=r"environment.json: session 1: expected an object, "
                                         r"got 1"):
        store.read_environment()
    (store.root / "environment.json").write_text('{"sessions": [{"command": "rm -rf"}]}')
    with pytest.raises(StoreError, match="session 1: command: expected a list"):
        store.read_environment()
    params = {"optimizer": "sgd", "learning_rate": 0.1, "seed": 0}
    for bad, message in ((dict(params, learning_rate="abc"), "learning_rate: expected a "
                          "positive number, got 'abc'"),
                         (dict(params, learning_rate=[0.1]), r"got \[0.1\]"),
                         (dict(params, learning_rate=True), "got True")):
        store.write_params("t1", bad)
        with pytest.raises(StoreError, match=f"t1/params.json: .*{message}"):
            store.read_trial("t1")
    store.write_params("t1", params)
    history = store.root / "trials" / "t1" / "history.csv"
    header = "epoch,lr,loss,accuracy,val_loss,val_accuracy,seconds\n"
    for row, message in ((",0.1,1,1,1,1,1", "history.csv:2: epoch: expected a whole number"),
                         ("inf,0.1,1,1,1,1,1", "history.csv:2: epoch: expected a whole"),
                         ("2,0.1,1,1,1,1,1", "history.csv:2: epoch 2; expected 1"),
                         ("1,abc,1,1,1,1,1", "history.csv:2: lr: not a number")):
        history.write_text(header + row + "\n")
        with pytest.raises(StoreError, match=message):
            store.read_trial("t1")
    history.write_bytes(b"\x00\xff" * 1000)
    with pytest.raises(StoreError, match="history.csv: not UTF-8"):
        store.read_trial("t1")
    assert store.epochs_done("t1") == 0  # what status shows of such a trial: nothing


def test_a_failed_start_leaves_no_run_directory(small_disk: Path) -> None:
    import contextlib

    from helpers import fill_disk

    fill_disk(small_disk)
    with contextlib.ExitStack() as held, pytest.raises(
            StoreError, match="No space left on device"):
        RunStore.start(held, small_disk / "runs", "x", config={"name": "x"},
                       command="lrlab sweep x", now=NOW)
    assert list((small_disk / "runs").iterdir()) == []
