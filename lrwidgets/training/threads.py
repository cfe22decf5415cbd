"""As many torch threads as CPUs this process may really use, never more.

A Binder pod or a classroom JupyterHub typically grants one CPU through a cgroup quota while
torch sees every core of the host and starts one thread per core; the threads then wait for each
other and training runs several times slower. The CPUs a process may use are

    available = min(len(os.sched_getaffinity(0)), max(1, floor(quota / period)))

where ``quota / period`` is the smallest CPU quota on the process's cgroup or any of its
ancestors: cgroup v2's ``cpu.max`` ("<quota> <period>", or "max <period>" for none), cgroup v1's
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (a quota of -1 for none). Without a quota,
``available`` is the affinity count. The floor keeps a 1.5-CPU quota at one thread: never more
threads than CPUs.

``use_available_cpus()`` runs when ``lrwidgets.training`` is imported. It only ever lowers
torch's thread count (torch's default is one thread per physical core, already right when
there is no quota) and leaves it alone when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set,
or when the count is already at most ``available`` (e.g. after ``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
USER_THREAD_SETTINGS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
V1_CPU_MOUNTS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_dirs(root: Path, proc_self_cgroup: Path) -> list[Path]:
    """The directories of this process's cgroup and of its ancestors, for v2 and v1 (cpu).

    ``/proc/self/cgroup`` lines read ``id:controllers:path`` ("0::/path" for v2); inside a
    container with its own cgroup namespace the path is "/", the container's own limits.
    """
    paths = {"v2": "/", "v1": "/"}
    for line in (_read(proc_self_cgroup) or "").splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            paths["v2"] = path
        elif "cpu" in controllers.split(","):
            paths["v1"] = path
    dirs = []
    for version, bases in (("v2", [root]), ("v1", [root / m for m in V1_CPU_MOUNTS])):
        relative = Path(paths[version].lstrip("/"))
        for base in bases:
            dirs += [base / part for part in (relative, *relative.parents)]
    return dirs


def _quota_in(directory: Path) -> float | None:
    """The CPU quota set in one cgroup directory, in CPUs, or None (also for unreadable files)."""
    try:
        return _parse_quota(directory)
    except (ValueError, ZeroDivisionError):
        return None


def _parse_quota(directory: Path) -> float | None:
    cpu_max = _read(directory / "cpu.max")
    if cpu_max is not None:
        quota, _, period = cpu_max.partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100_000)
    quota, period = _read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us")
    if quota is None or period is None or int(quota) <= 0:
        return None
    return int(quota) / int(period)


def cgroup_cpu_quota(
    root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP
) -> float | None:
    """The smallest CPU quota (in CPUs, e.g. 0.5) on this process's cgroup and its ancestors,
    v2 or v1; None when no quota is set or no cgroup files are readable."""
    quotas = [q for d in _cgroup_dirs(root, proc_self_cgroup) if (q := _quota_in(d)) is not None]
    return min(quotas, default=None)


def available_cpus(
    root: Path = CGROUP_ROOT,
    proc_self_cgroup: Path = PROC_SELF_CGROUP,
    affinity: set[int] | None = None,
) -> int:
    """``min(len(affinity), max(1, floor(quota)))``: the CPUs this process may really use.

    ``affinity`` defaults to ``os.sched_getaffinity(0)`` (``os.cpu_count()`` where the platform
    has no affinity); the quota is :func:`cgroup_cpu_quota` of ``root`` and ``proc_self_cgroup``.
    """
    if affinity is None:
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cpus = len(affinity) if affinity is not None else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(root, proc_self_cgroup)
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def use_available_cpus(cpus: int | None = None) -> int:
    """Lower torch's intra-op threads to ``cpus`` (default :func:`available_cpus`) unless the
    user chose a thread count (``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set) or torch already
    uses at most that many. Returns the number of threads torch uses afterwards."""
    if not any(os.environ.get(name) for name in USER_THREAD_SETTINGS):
        cpus = available_cpus() if cpus is None else cpus
        if torch.get_num_threads() > cpus:
            torch.set_num_threads(cpus)
    return torch.get_num_threads()
