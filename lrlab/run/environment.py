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
from lrlab.engines import RECORDED_PACKAGES, EngineSpec


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


def collect_environment(*, started_at: str, argv: Sequence[str], engine: EngineSpec,
                        probe_devices: bool = True) -> dict[str, Any]:
    """Versions, hardware, start time and command line of this process.

    Versions are read from the installed packages (importing a framework takes seconds).
    ``engine``'s accelerators are listed as ``gpus`` where it has a device probe (the jax
    engine records its device itself) and ``probe_devices`` holds: ``False`` is for a
    driver whose trials train elsewhere (Ray workers), whose GPUs train nothing.
    """
    environment: dict[str, Any] = {
        "host": platform.node(),
        "lrlab": __version__,
        "python": platform.python_version(),
        **{package: _version(package) for package in RECORDED_PACKAGES},
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    devices = engine.probe_devices() if probe_devices else None
    if devices is not None:
        environment["gpus"] = devices
    return {**environment, "started_at": started_at, "command": list(argv),
            "executable": sys.executable}
