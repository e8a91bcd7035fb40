"""CPU, RAM, the container's cgroup limits, and disk use of the workspace volume."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psutil
from pydantic import BaseModel

CGROUP_MOUNT = Path("/sys/fs/cgroup")
_UNLIMITED = 2**60  # cgroup v1 writes "unlimited" as a page-rounded 2^63


class CgroupInfo(BaseModel):
    """Limits of the cgroup this process runs in (a container's, usually)."""

    version: int | None = None  # 1, 2, or None when none was found
    memory_limit_bytes: int | None = None  # None: no limit below the machine's RAM
    memory_used_bytes: int | None = None
    cpu_limit_cores: float | None = None


class DiskInfo(BaseModel):
    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int


class HostInfo(BaseModel):
    cpu_percent: float
    cpu_count: int
    load_avg: list[float]
    memory_total_bytes: int
    memory_used_bytes: int
    memory_available_bytes: int
    cgroup: CgroupInfo
    disk: DiskInfo | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= _UNLIMITED else value


def _own_cgroups(proc_self: Path) -> dict[str, str]:
    """controller (or "" for v2) -> path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in (_read(proc_self) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _candidates(base: Path, rel: str) -> list[Path]:
    """``base/rel`` and each parent up to ``base`` (a limit may sit on any ancestor)."""
    out = []
    node = base / rel.lstrip("/")
    while True:
        out.append(node)
        if node == base or base not in node.parents:
            break
        node = node.parent
    return out


def _min_limit(values: list[int | None]) -> int | None:
    limits = [v for v in values if v is not None]
    return min(limits) if limits else None


def read_cgroup(mount: Path = CGROUP_MOUNT, proc_self: Path = Path("/proc/self/cgroup")) -> CgroupInfo:
    """Memory and CPU limits for this process from cgroup v2 or v1."""
    own = _own_cgroups(proc_self)
    if (mount / "cgroup.controllers").exists():  # v2, unified
        dirs = [d for d in _candidates(mount, own.get("", "/")) if d.is_dir()]
        memory_limit = _min_limit([_int(_read(d / "memory.max")) for d in dirs])
        used = next((_int(_read(d / "memory.current")) for d in dirs if (d / "memory.current").exists()), None)
        cpu = None
        for d in dirs:
            quota = [_int(x) for x in (_read(d / "cpu.max") or "max").split()]
            if len(quota) == 2 and quota[0] and quota[1]:  # "max 100000" or garbage: no limit here
                cores = quota[0] / quota[1]
                cpu = cores if cpu is None else min(cpu, cores)
        return CgroupInfo(version=2, memory_limit_bytes=memory_limit, memory_used_bytes=used, cpu_limit_cores=cpu)
    if (mount / "memory").is_dir():  # v1
        mem_dirs = [d for d in _candidates(mount / "memory", own.get("memory", "/")) if d.is_dir()]
        memory_limit = _min_limit([_int(_read(d / "memory.limit_in_bytes")) for d in mem_dirs])
        used = next(
            (_int(_read(d / "memory.usage_in_bytes")) for d in mem_dirs if (d / "memory.usage_in_bytes").exists()), None
        )
        cpu = None
        for d in _candidates(mount / "cpu", own.get("cpu", "/")):
            quota, period = _int(_read(d / "cpu.cfs_quota_us")), _int(_read(d / "cpu.cfs_period_us"))
            if quota and quota > 0 and period:
                cpu = quota / period if cpu is None else min(cpu, quota / period)
        return CgroupInfo(version=1, memory_limit_bytes=memory_limit, memory_used_bytes=used, cpu_limit_cores=cpu)
    return CgroupInfo()


def read_disk(path: Path) -> DiskInfo | None:
    """Use of the file system that holds ``path`` (the workspace volume)."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskInfo(path=str(path), total_bytes=usage.total, used_bytes=usage.used, free_bytes=usage.free)


def read_host(workspace_root: Path, cgroup_mount: Path = CGROUP_MOUNT) -> HostInfo:
    """CPU (percent since the previous call), RAM, cgroup limits, workspace disk."""
    vm = psutil.virtual_memory()
    return HostInfo(
        cpu_percent=psutil.cpu_percent(interval=None),
        cpu_count=psutil.cpu_count() or 1,
        load_avg=[round(x, 2) for x in os.getloadavg()],
        memory_total_bytes=vm.total,
        memory_used_bytes=vm.total - vm.available,
        memory_available_bytes=vm.available,
        cgroup=read_cgroup(cgroup_mount),
        disk=read_disk(workspace_root),
    )
