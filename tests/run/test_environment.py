from __future__ import annotations

import json
import sys
from importlib import metadata

from lrlab import __version__
from lrlab.engines import ENGINES
from lrlab.run.environment import collect_environment
from lrlab.rundir.files import json_text


def test_records_versions_hardware_and_command_without_touching_devices() -> None:
    env = collect_environment(started_at="2026-01-01T00:00:00+00:00",
                              argv=["lrlab", "sweep", "x.yaml"], engine=ENGINES["tensorflow"],
                              probe_devices=False)
    assert env["lrlab"] == __version__
    assert env["python"].count(".") == 2 and env["cpu_count"] >= 1 and env["cpu"]
    assert env["command"] == ["lrlab", "sweep", "x.yaml"]
    assert env["started_at"] == "2026-01-01T00:00:00+00:00"
    assert env["executable"] == sys.executable
    assert env["tensorflow"] == metadata.version("tensorflow")
    assert env["keras"] == metadata.version("keras")
    assert "gpus" not in env  # a driver whose trials train elsewhere lists none
    assert json.loads(json_text(env)) == env  # it is what environment.json holds


def test_probing_devices_asks_the_engine_s_framework() -> None:
    import tensorflow as tf

    env = collect_environment(started_at="t", argv=[], engine=ENGINES["tensorflow"])
    assert env["tensorflow"] == tf.__version__
    assert env["gpus"] == [d.name for d in tf.config.list_physical_devices("GPU")]


def test_an_engine_that_records_its_own_device_lists_no_gpus() -> None:
    env = collect_environment(started_at="t", argv=[], engine=ENGINES["jax"])
    assert "gpus" not in env and "jax" in env
