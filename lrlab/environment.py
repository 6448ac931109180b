"""What ``environment.json`` records: enough to tell later where and with what a sweep ran."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from lrlab._tf import import_tensorflow


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


def collect_environment(*, started_at: str, argv: Sequence[str]) -> dict[str, Any]:
    from lrlab import __version__

    tf = import_tensorflow()
    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    return {
        "lrlab": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "started_at": started_at,
        "command": list(argv),
        "executable": sys.executable,
    }
