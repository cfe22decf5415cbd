"""How much faster is the batched training grid? ``python benchmarks/bench_train_grid.py``.

``train_at_lrs`` on digits-mlp (64 -> 64 -> 10, 1438 training digits, batch 64, 23 steps an
epoch): 13 learning rates (1e-3 .. 10) x 3 seeds, SGD with momentum 0.9, a constant lr, for
3 and for 10 epochs. Two contenders on the same grid:

- loop:    ``batched=False``, one ``fit`` per (lr, seed), as the course trained it before;
- batched: ``batched=True``, per seed one ``fit_ensemble`` over the 13 rates.

What makes it fair: both do the whole job (initial losses, training, validation after every
epoch, the final training loss), start from the same weights and see the same batches; the
script checks that both give the same grid (diverged runs alike; the losses of every rate up
to 0.1 within 1e-5 relative; above that the runs are chaotic, and float rounding alone
separates them). After one warm-up each, the
contenders run interleaved (loop, batched, loop, ...) and we report the median of ``--repeats``
timings, so drifts in machine load hit both alike. One torch thread by default. Besides the
wall clock, the script reports the CPU time of the process: with one thread it is what the work
costs, and on a shared machine it is less disturbed by other processes than the wall clock.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from bench_range_test import cpu_name

import lrwidgets
from lrwidgets.problems import get_problem
from lrwidgets.studies import TrainingGrid, train_at_lrs

SEEDS = (0, 1, 2)
STABLE_LR = 0.1  # rates up to here are not chaotic: loop and batched agree to float rounding


def check_same(loop: TrainingGrid, batched: TrainingGrid) -> float:
    """The largest relative difference over the stable rates; raises if the grids differ."""
    stable = loop.lrs <= STABLE_LR
    if not np.array_equal(loop.diverged[stable], batched.diverged[stable]):
        raise RuntimeError("loop and batched disagree on which runs diverged")
    worst = 0.0
    for name in ("train_loss", "val_loss"):
        a, b = getattr(loop, name)[stable], getattr(batched, name)[stable]
        worst = max(worst, float(np.max(np.abs(b - a) / np.abs(a))))
    if worst > 1e-5:
        raise RuntimeError(f"loop and batched differ by {worst:.2g} relative: not the same grid")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    problem = get_problem("digits-mlp")
    print(
        f"{cpu_name()}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads, python {platform.python_version()}, "
        f"torch {torch.__version__}, lrwidgets {lrwidgets.__version__}"
    )
    print(
        f"digits-mlp, 13 lrs x {len(SEEDS)} seeds, SGD momentum 0.9, constant lr, "
        f"median of {args.repeats} interleaved repeats"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} (other busy processes skew timings)\n")
    print(f"{'':6s} {'wall clock':^29s} {'CPU time (process)':^29s}")
    print(
        f"{'epochs':>6s} {'loop':>9s} {'batched':>9s} {'speed-up':>9s} "
        f"{'loop':>9s} {'batched':>9s} {'speed-up':>9s} {'max rel diff':>13s}"
    )
    for epochs in args.epochs:

        def run(batched: bool, epochs: int = epochs) -> TrainingGrid:
            return train_at_lrs(problem, epochs=epochs, seeds=SEEDS, batched=batched, device="cpu")

        worst = check_same(run(False), run(True))  # also the warm-up
        wall: dict[bool, list[float]] = {False: [], True: []}
        cpu: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for batched in (False, True):
                w0, c0 = time.perf_counter(), time.process_time()
                run(batched)
                wall[batched].append(time.perf_counter() - w0)
                cpu[batched].append(time.process_time() - c0)
        loop, batched = (statistics.median(wall[b]) for b in (False, True))
        loop_cpu, batched_cpu = (statistics.median(cpu[b]) for b in (False, True))
        print(
            f"{epochs:6d} {loop:8.2f}s {batched:8.2f}s {loop / batched:8.1f}x "
            f"{loop_cpu:8.2f}s {batched_cpu:8.2f}s {loop_cpu / batched_cpu:8.1f}x {worst:13.1e}",
            flush=True,
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
