"""Facts about this host and the installed packages, for the manifest."""

from __future__ import annotations

import os
import platform
import sys
from functools import lru_cache
from importlib import metadata

PACKAGES = ("silocarbon", "torch", "flwr", "codecarbon", "numpy", "scikit-learn", "pydantic", "ray")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_facts() -> dict:
    import psutil

    facts = {
        "hostname": platform.node(),
        "os": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count_logical": os.cpu_count(),
        "ram_total_gb": round(psutil.virtual_memory().total / 1e9, 3),
        "gpus": gpu_names(),
        "rapl_available": os.path.isdir("/sys/class/powercap/intel-rapl"),
        "python_executable": sys.executable,
    }
    return facts


def gpu_names() -> list[str]:
    """Names of the NVIDIA GPUs NVML can see; an empty list where there is no NVML or no GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no driver or library: there is no readable GPU, which the manifest records
        return []
    try:
        return [
            str(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i)))
            for i in range(pynvml.nvmlDeviceGetCount())
        ]
    finally:
        pynvml.nvmlShutdown()
