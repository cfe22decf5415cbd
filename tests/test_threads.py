"""Threads: as many as the CPUs the process may use (affinity and cgroup quota), never more,
and never against the user's own choice. The cgroup files are written into tmp_path."""

import math

import pytest
import torch

from lrwidgets.training.threads import available_cpus, cgroup_cpu_quota, use_available_cpus

EIGHT = set(range(8))


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cgroup_v2(tmp_path, cpu_max, path="/"):
    """A v2 hierarchy whose process cgroup is ``path``, with ``cpu_max`` written there."""
    proc = write(tmp_path / "proc_cgroup", f"0::{path}\n")
    write(tmp_path / "fs" / path.lstrip("/") / "cpu.max", cpu_max + "\n")
    return tmp_path / "fs", proc


def cgroup_v1(tmp_path, quota, period, mount="cpu,cpuacct", path="/"):
    proc = write(tmp_path / "proc_cgroup", f"5:memory:/x\n4:cpu,cpuacct:{path}\n")
    where = tmp_path / "fs" / mount / path.lstrip("/")
    write(where / "cpu.cfs_quota_us", f"{quota}\n")
    write(where / "cpu.cfs_period_us", f"{period}\n")
    return tmp_path / "fs", proc


@pytest.mark.parametrize(
    ("cpu_max", "quota", "cpus"),
    [
        ("100000 100000", 1.0, 1),  # a Binder pod: one CPU
        ("50000 100000", 0.5, 1),  # half a CPU still gets one thread
        ("150000 100000", 1.5, 1),  # floor: never more threads than CPUs
        ("400000 100000", 4.0, 4),
        ("2000000 100000", 20.0, 8),  # a quota above the affinity: the affinity counts
        ("max 100000", None, 8),  # no quota
    ],
)
def test_cgroup_v2_cpu_max(tmp_path, cpu_max, quota, cpus):
    root, proc = cgroup_v2(tmp_path, cpu_max)
    assert cgroup_cpu_quota(root, proc) == quota
    assert available_cpus(root, proc, affinity=EIGHT) == cpus
    expected = min(8, max(1, math.floor(quota))) if quota else 8  # the docstring's formula
    assert available_cpus(root, proc, affinity=EIGHT) == expected


@pytest.mark.parametrize(
    ("quota", "period", "cpus"), [(200000, 100000, 2), (-1, 100000, 8), (25000, 50000, 1)]
)
@pytest.mark.parametrize("mount", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_cfs_quota(tmp_path, quota, period, cpus, mount):
    root, proc = cgroup_v1(tmp_path, quota, period, mount=mount)
    assert available_cpus(root, proc, affinity=EIGHT) == cpus


def test_the_smallest_quota_on_the_path_to_the_root_counts(tmp_path):
    root, proc = cgroup_v2(tmp_path, "300000 100000", path="/kubepods/pod1/box")
    write(root / "kubepods" / "pod1" / "cpu.max", "100000 100000\n")  # the pod's limit
    write(root / "cpu.max", "max 100000\n")
    assert cgroup_cpu_quota(root, proc) == 1.0
    assert available_cpus(root, proc, affinity=EIGHT) == 1


def test_affinity_alone_without_cgroup_files(tmp_path):
    missing = tmp_path / "nothing"
    assert cgroup_cpu_quota(missing, missing / "cgroup") is None
    assert available_cpus(missing, missing / "cgroup", affinity={0, 3}) == 2


def test_unreadable_quota_files_mean_no_quota(tmp_path):
    root, proc = cgroup_v2(tmp_path, "garbage")
    assert cgroup_cpu_quota(root, proc) is None


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_lowers_torch_threads_to_the_available_cpus(monkeypatch, torch_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    torch.set_num_threads(3)
    assert use_available_cpus(cpus=1) == 1 == torch.get_num_threads()


def test_never_raises_torch_threads(monkeypatch, torch_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    torch.set_num_threads(1)  # the user's choice, e.g. before importing lrwidgets
    assert use_available_cpus(cpus=2) == 1


@pytest.mark.parametrize("variable", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_leaves_a_thread_count_the_user_set(monkeypatch, torch_threads, variable):
    monkeypatch.setenv(variable, "3")
    torch.set_num_threads(3)
    assert use_available_cpus(cpus=1) == 3


def test_importing_training_applies_it(tmp_path):
    """A fresh process allowed one CPU (affinity) ends with one torch thread after the import,
    without OMP_NUM_THREADS; with OMP_NUM_THREADS=2 it keeps two."""
    import os
    import subprocess
    import sys

    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "import torch; torch.set_num_threads(2); import lrwidgets.training; "
        "print(torch.get_num_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "1", run.stderr
    env["OMP_NUM_THREADS"] = "2"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "2", run.stderr
