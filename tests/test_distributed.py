"""range_test inside a torch.distributed process group: two CPU processes with the gloo backend,
a DistributedDataParallel model, each rank its own shard. Every rank must record the same curve
and stop at the same step (or the other rank waits forever: the timeout below catches that).
Settings that differ between the ranks, and one rank raising, end with a Python error on every
rank within the step (tests/ddp_failures_worker.py), never a deadlock or an abort."""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist

from lrwidgets.training import range_test

HERE = Path(__file__).parent
ROOT = HERE.parent
TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is missing")
sys.path.insert(0, str(HERE))
import ddp_worker  # noqa: E402  (the same model and data as the ranks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(runs: list[tuple[list[str], dict]], timeout: float) -> None:
    """Start one process per (command, environment); kill them all if they outlast
    ``timeout``; fail with a rank's stderr if it failed."""
    processes = [
        subprocess.Popen(command, env=os.environ | env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for command, env in runs
    ]
    try:
        errors = [p.communicate(timeout=timeout)[1] for p in processes]
    except subprocess.TimeoutExpired:
        pytest.fail(f"the ranks did not finish within {timeout} s: a deadlock")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, error in zip(processes, errors, strict=True):
        assert p.returncode == 0, error


def environment(world_size: int) -> dict:
    return dict(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(free_port()),
        WORLD_SIZE=str(world_size),
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """What each of the two ranks of tests/ddp_worker.py recorded, by run."""
    folder = tmp_path_factory.mktemp("ddp")
    common = environment(2)
    outs = [folder / f"rank{r}.json" for r in range(2)]
    launch(
        [
            ([sys.executable, str(HERE / "ddp_worker.py"), str(out)], common | {"RANK": str(r)})
            for r, out in enumerate(outs)
        ],
        TIMEOUT_S,
    )
    return [json.loads(out.read_text()) for out in outs]


def single_process(data: list, **kwargs):
    """The same model and optimizer in one process, on whole batches."""
    model = ddp_worker.mlp()
    optimizer = ddp_worker.used(model, model)
    return range_test(model, data, None, optimizer, progress=False, **kwargs)


SWEEP = dict(num_iter=24, end_lr=1.0, diverge_th=math.inf)


def test_two_ranks_on_halves_of_each_batch_give_the_single_process_curve(ranks):
    whole = single_process(ddp_worker.whole_batches(), **SWEEP)
    for seen in ranks:
        assert seen["halves"]["lrs"] == whole.lrs.tolist()
        np.testing.assert_allclose(seen["halves"]["losses"], whole.losses, rtol=1e-5, atol=1e-7)
    accumulated = single_process(ddp_worker.whole_batches(12, 32), accumulation_steps=2, **SWEEP)
    for seen in ranks:
        np.testing.assert_allclose(
            seen["accumulated halves"]["losses"], accumulated.losses, rtol=1e-5, atol=1e-7
        )


def test_every_rank_records_the_same_curve_and_stops_at_the_same_step(ranks):
    first, second = ranks
    for run in first:
        assert first[run]["lrs"] == second[run]["lrs"], run
        assert first[run]["losses"] == second[run]["losses"], run  # all-reduced: bitwise
        assert first[run]["stop_reason"] == second[run]["stop_reason"], run
    assert first["own shard"]["stop_reason"].startswith("diverged")
    assert len(first["stop on one rank"]["lrs"]) == 4
    assert first["stop on one rank"]["stop_reason"] == "stopped by callback"


def test_every_rank_gets_its_own_model_and_optimizer_back(ranks):
    for seen in ranks:
        assert all(run["restored"] for run in seen.values())


def test_the_example_runs_as_torchrun_starts_it(tmp_path):
    """examples/ddp_range_test.py, started as ``torchrun --nproc_per_node=2`` starts it: one
    process per rank with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (the
    launcher itself is left out: one process and one import of torch fewer)."""
    common = environment(2)
    out = tmp_path / "curve.json"
    command = [sys.executable, str(ROOT / "examples" / "ddp_range_test.py"), "--num-iter", "30"]
    launch(
        [
            (command + ["--out", str(out)], common | {"RANK": str(r), "LOCAL_RANK": str(r)})
            for r in range(2)
        ],
        TIMEOUT_S,
    )
    curve = json.loads(out.read_text())
    assert len(curve["lrs"]) == len(curve["losses"]) > 5
    assert curve["suggestion"] > 0


@pytest.fixture(scope="module")
def failures(tmp_path_factory) -> list[dict]:
    """What each rank of tests/ddp_failures_worker.py raised, by case."""
    folder = tmp_path_factory.mktemp("ddp-failures")
    common = environment(2)
    outs = [folder / f"rank{r}.json" for r in range(2)]
    worker = str(HERE / "ddp_failures_worker.py")
    launch(
        [
            ([sys.executable, worker, str(out)], common | {"RANK": str(r)})
            for r, out in enumerate(outs)
        ],
        TIMEOUT_S,
    )
    return [json.loads(out.read_text()) for out in outs]


@pytest.mark.parametrize("name", ["num_iter", "accumulation_steps", "val_data"])
def test_settings_that_differ_between_ranks_are_a_value_error_on_every_rank(failures, name):
    for seen in failures:
        case = seen[name]
        assert case["error"] == "ValueError", case
        assert case["message"].startswith(f"{name} differs between the ranks (rank 0: ")
        assert case["steps"] == 0 and case["restored"]


def test_a_bad_argument_on_one_rank_stops_the_other_with_a_runtime_error(failures):
    first, second = (seen["bad beta on rank 1"] for seen in failures)
    assert second["error"] == "ValueError" and "beta" in second["message"]
    assert first["error"] == "PeerFailed" and first["message"].startswith("rank 1 raised")
    assert first["restored"] and second["restored"]


@pytest.mark.parametrize(
    "name, failing, error, steps",
    [
        ("interrupt on rank 1", 1, "KeyboardInterrupt", 4),  # in the callback of step 3
        ("forward fails on rank 0", 0, "IndexError", 4),  # on the 5th batch
        ("data fails on rank 1", 1, "OSError", 4),  # reading the 5th batch
    ],
)
def test_when_one_rank_raises_the_other_stops_within_the_step(
    failures, name, failing, error, steps
):
    raised, peer = failures[failing][name], failures[1 - failing][name]
    assert raised["error"] == error, raised
    assert peer["error"] == "PeerFailed", peer
    assert peer["message"].startswith(f"rank {failing} raised an error during the range test")
    assert peer["steps"] == steps, "the peer must stop within the step where the rank raised"
    for case in (raised, peer):
        assert case["restored"] and case["seconds"] < 30  # not the process group's timeout


def test_the_process_group_works_after_the_failures(failures):
    first, second = (seen["afterwards"] for seen in failures)
    assert first["error"] is None and first["losses"] == second["losses"]
    assert len(first["losses"]) == 12
