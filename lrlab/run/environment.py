"""What ``environment.json`` records: enough to tell later where and with what a sweep ran."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from lrlab._version import __version__
from lrlab.training._keras import import_tensorflow


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_environment(*, started_at: str, argv: Sequence[str],
                        probe_devices: bool = True) -> dict[str, Any]:
    """Versions, hardware, start time and command line of this process.

    ``probe_devices=False`` is for a driver whose trials train elsewhere (Ray workers):
    TensorFlow's version is then read from its installed package instead of importing it
    (seconds of start-up, and CPU the workers starting beside it need), and this machine's
    GPUs, which train nothing, are not listed.
    """
    environment: dict[str, Any] = {
        "host": platform.node(),
        "lrlab": __version__,
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "jax": _version("jax"),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    if probe_devices:
        tf = import_tensorflow()
        environment["tensorflow"] = tf.__version__
        environment["gpus"] = [device.name for device in tf.config.list_physical_devices("GPU")]
    return {**environment, "started_at": started_at, "command": list(argv),
            "executable": sys.executable}
