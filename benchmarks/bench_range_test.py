"""How fast is lrwidgets' range_test? Run by hand: ``python benchmarks/bench_range_test.py``.

Two comparisons, each on the same MLP (digits-mlp: 64 -> 64 -> 10), the same data (scikit-learn's
digits, 1438 training images), batch size 64 and the same number of steps:

(a) a DataLoader:        ours (data=loader)  vs  torch-lr-finder  vs  a bare loop over the loader
(b) tensors in memory:   ours (data=(X, y))  vs  torch-lr-finder  vs  a bare in-memory loop

What makes it fair:
- every contender takes exactly ``--steps`` optimizer steps over the same sweep (exp, 1e-7 to
  0.1): the sweep stays below divergence, and early stopping is switched off in both finders
  (diverge_th=inf); the script checks the step counts.
- every run starts from the same initial weights and a fresh SGD(momentum=0.9), no progress bar.
- the bare loops do what any range test must do per step: set the lr on every param group,
  zero_grad, forward, loss, backward, step, and record loss.item(). They skip the rest
  (smoothing, divergence check, restoring the model and optimizer afterwards).
- torch-lr-finder keeps the model and optimizer state in memory (memory_cache=True, its default)
  and its timing includes saving (constructing LRFinder) and restoring (reset()), as ours does.
  It always draws a tqdm bar (there is no switch); we send that, and its prints, to os.devnull.
  torch-lr-finder has no in-memory path, so in (b) it runs on the DataLoader of (a).
- the bare in-memory loop shuffles once per epoch (X[torch.randperm(n)]) and hands out slices,
  the fastest plain way we know.
- contenders run interleaved (A B C A B C ...) after one warm-up each; we report the median of
  ``--repeats`` timings, so drifts in machine load hit all alike.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch_lr_finder import LRFinder

import lrwidgets
from lrwidgets import get_problem, lr_sweep, range_test

START_LR, END_LR = 1e-7, 0.1


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo on Linux, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fresh(template: torch.nn.Module) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = copy.deepcopy(template)
    return model, torch.optim.SGD(model.parameters(), lr=START_LR, momentum=0.9)


def bare_step(model, optimizer, loss_fn, lr, xb, yb) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def bare_loader_loop(template, loss_fn, loader, steps) -> int:
    model, optimizer = fresh(template)
    losses = []
    batches = iter(loader)
    for lr in lr_sweep(START_LR, END_LR, steps).tolist():
        try:
            xb, yb = next(batches)
        except StopIteration:
            batches = iter(loader)
            xb, yb = next(batches)
        losses.append(bare_step(model, optimizer, loss_fn, lr, xb, yb))
    return len(losses)


def bare_memory_loop(template, loss_fn, X, y, batch_size, steps) -> int:
    model, optimizer = fresh(template)
    losses = []
    start = len(X)
    for lr in lr_sweep(START_LR, END_LR, steps).tolist():
        if start >= len(X):  # a new epoch: shuffle once, then hand out slices
            order = torch.randperm(len(X))
            Xs, ys, start = X[order], y[order], 0
        xb, yb = Xs[start : start + batch_size], ys[start : start + batch_size]
        start += batch_size
        losses.append(bare_step(model, optimizer, loss_fn, lr, xb, yb))
    return len(losses)


def torch_lr_finder(template, loss_fn, loader, steps) -> int:
    model, optimizer = fresh(template)
    with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
        finder = LRFinder(model, optimizer, loss_fn, device="cpu")
        finder.range_test(
            loader, start_lr=START_LR, end_lr=END_LR, num_iter=steps, diverge_th=math.inf
        )
        finder.reset()
    return len(finder.history["loss"])


def ours(template, loss_fn, data, batch_size, steps) -> int:
    model, optimizer = fresh(template)
    result = range_test(
        model,
        data,
        loss_fn,
        optimizer,
        start_lr=START_LR,
        end_lr=END_LR,
        num_iter=steps,
        diverge_th=math.inf,
        batch_size=batch_size,
        device="cpu",
        progress=False,
    )
    return len(result.losses)


def median_times(contenders: dict[str, Callable[[], int]], steps: int, repeats: int) -> dict:
    """Warm up each contender once, then time them interleaved; median seconds per contender."""
    for name, run in contenders.items():
        taken = run()
        if taken != steps:
            raise RuntimeError(f"{name} took {taken} steps, not {steps}: the comparison is unfair")
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    problem = get_problem("digits-mlp")
    X, y = problem.train_data
    batch_size, loss_fn = problem.batch_size, problem.loss_fn
    template = problem.make_model(0)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
    steps = args.steps

    comparisons = {
        "(a) DataLoader": {
            "lrwidgets": lambda: ours(template, loss_fn, loader, batch_size, steps),
            "torch-lr-finder": lambda: torch_lr_finder(template, loss_fn, loader, steps),
            "bare loop": lambda: bare_loader_loop(template, loss_fn, loader, steps),
        },
        "(b) in memory": {
            "lrwidgets": lambda: ours(template, loss_fn, (X, y), batch_size, steps),
            "torch-lr-finder": lambda: torch_lr_finder(template, loss_fn, loader, steps),
            "bare loop": lambda: bare_memory_loop(template, loss_fn, X, y, batch_size, steps),
        },
    }
    targets = {
        "(a) DataLoader": {"torch-lr-finder": 1.0, "bare loop": 1.10},
        "(b) in memory": {"torch-lr-finder": 0.65, "bare loop": 1.10},
    }
    print(
        f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, lrwidgets {lrwidgets.__version__}"
    )
    print(f"digits-mlp, batch {batch_size}, {steps} steps, median of {args.repeats} repeats")
    print(f"load average before: {os.getloadavg()[0]:.2f} (other busy processes skew timings)\n")
    for title, contenders in comparisons.items():
        medians = median_times(contenders, steps, args.repeats)
        print(title)
        for name, seconds in medians.items():
            print(f"  {name:16s} {1e3 * seconds:8.1f} ms  {1e6 * seconds / steps:6.1f} us/step")
        for name, target in targets[title].items():
            ratio = medians["lrwidgets"] / medians[name]
            verdict = "ok" if ratio <= target else "MISSED"
            print(f"  lrwidgets / {name:16s} {ratio:5.2f}x  (target <= {target:.2f}x: {verdict})")
        print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
