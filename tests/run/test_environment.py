from __future__ import annotations

import json
import sys

from lrlab import __version__
from lrlab.run.environment import collect_environment
from lrlab.rundir.files import json_text


def test_records_versions_hardware_and_command_without_touching_devices() -> None:
    env = collect_environment(started_at="2026-01-01T00:00:00+00:00",
                              argv=["lrlab", "sweep", "x.yaml"], probe_devices=False)
    assert env["lrlab"] == __version__
    assert env["python"].count(".") == 2 and env["cpu_count"] >= 1 and env["cpu"]
    assert env["command"] == ["lrlab", "sweep", "x.yaml"]
    assert env["started_at"] == "2026-01-01T00:00:00+00:00"
    assert env["executable"] == sys.executable
    assert "gpus" not in env  # a driver whose trials train elsewhere lists none
    assert json.loads(json_text(env)) == env  # it is what environment.json holds


def test_probing_devices_reads_tensorflow_itself() -> None:
    import tensorflow as tf

    env = collect_environment(started_at="t", argv=[])
    assert env["tensorflow"] == tf.__version__
    assert env["gpus"] == [d.name for d in tf.config.list_physical_devices("GPU")]
