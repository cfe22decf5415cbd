"""One rank of tests/test_distributed.py (started twice, as torchrun would, with RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT set): range tests on a DDP model with the gloo backend.
Writes what it saw as JSON to the path given as its only argument."""

import datetime
import json
import math
import sys

import torch
import torch.distributed as dist
from torch import nn

from lrwidgets.training import range_test

QUIET = dict(progress=False)


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))


def whole_batches(n: int = 6, size: int = 64) -> list:
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(n * size, 4, generator=g), torch.randint(0, 3, (n * size,), generator=g)
    return [(X[i : i + size], y[i : i + size]) for i in range(0, len(X), size)]


def half(batches: list, rank: int) -> list:
    """This rank's half of every batch."""
    return [(x.chunk(2)[rank], y.chunk(2)[rank]) for x, y in batches]


def state(model: nn.Module, optimizer: torch.optim.Optimizer) -> list:
    values = [p.detach().clone() for p in model.parameters()]
    for s in optimizer.state.values():
        values += [v.clone() for v in s.values() if isinstance(v, torch.Tensor)]
    return values + [torch.tensor([g["lr"] for g in optimizer.param_groups])]


def used(model: nn.Module, inner: nn.Sequential) -> torch.optim.Optimizer:
    """An optimizer over ``inner`` (the model, or the one a DDP ``model`` wraps) with two
    groups at different rates, after one step: momentum buffers to keep."""
    optimizer = torch.optim.SGD(
        [{"params": inner[0].parameters(), "lr": 0.01}, {"params": inner[2].parameters()}],
        lr=0.05,
        momentum=0.9,
    )
    x, y = whole_batches(1)[0]
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    optimizer.zero_grad()
    return optimizer


def main(out: str) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    seen = {}

    def run(name, data, **kwargs):
        model = nn.parallel.DistributedDataParallel(mlp())
        optimizer = used(model, model.module)
        before = state(model, optimizer)
        result = range_test(model, data, None, optimizer, **kwargs, **QUIET)
        after = state(model, optimizer)
        seen[name] = dict(
            lrs=result.lrs.tolist(),
            losses=result.losses.tolist(),
            stop_reason=result.stop_reason,
            restored=all(torch.equal(a, b) for a, b in zip(before, after, strict=True)),
        )

    sweep = dict(num_iter=24, end_lr=1.0, diverge_th=math.inf)
    run("halves", half(whole_batches(), rank), **sweep)
    run("accumulated halves", half(whole_batches(12, 32), rank), accumulation_steps=2, **sweep)
    # Each rank its own data: rank-local losses differ, the recorded curve must not.
    run("own shard", whole_batches(4, 32 + 16 * rank), num_iter=60, end_lr=100.0)
    # Only rank 1's callback asks to stop (a Stop button on one rank): both stop together.
    asks = lambda step, lr, loss: rank == 1 and step == 3  # noqa: E731
    run("stop on one rank", half(whole_batches(), rank), callback=asks, **sweep)
    dist.destroy_process_group()
    with open(out, "w") as file:
        json.dump(seen, file)


if __name__ == "__main__":
    main(sys.argv[1])
