"""One rank of test_distributed.py's failure cases (started twice, as torchrun would): settings
that differ between the ranks, and one rank raising while the other goes on. Each case must end
within a step with a Python error on every rank, never a deadlock or an abort. Writes what each
case raised, on this rank, as JSON to the path given as its only argument."""

import datetime
import json
import sys
import time

import torch
import torch.distributed as dist
from ddp_worker import half, mlp, state, used, whole_batches
from torch import nn

from lrwidgets.training import range_test

SWEEP = dict(num_iter=12, end_lr=1.0, progress=False)


def batchnorm_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 3))


class FailsAt:
    """A re-iterable of batches whose ``n``-th batch read raises OSError (a broken file)."""

    def __init__(self, batches: list, n: int) -> None:
        self.batches, self.n, self.read = batches, n, 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            self.read += 1
            if self.read == self.n:
                raise OSError("the shard's file could not be read")
            yield batch


def main(out: str) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank()
    seen = {}

    def case(name, data, make=mlp, **kwargs):
        model = nn.parallel.DistributedDataParallel(make())
        optimizer = used(model, model.module)
        before = state(model, optimizer) + [b.clone() for b in model.buffers()]
        calls = []
        callback = kwargs.pop("callback", lambda step, lr, loss: None)
        counted = lambda step, lr, loss: calls.append(step) or callback(step, lr, loss)  # noqa: E731
        start = time.monotonic()
        try:
            result = range_test(model, data, None, optimizer, callback=counted, **kwargs)
            error, message, losses = None, "", result.losses.tolist()
        except BaseException as raised:  # KeyboardInterrupt included
            error, message, losses = type(raised).__name__, str(raised), None
        after = state(model, optimizer) + [b.clone() for b in model.buffers()]
        seen[name] = dict(
            error=error,
            message=message,
            losses=losses,
            steps=len(calls),
            seconds=time.monotonic() - start,
            restored=all(torch.equal(a, b) for a, b in zip(before, after, strict=True)),
        )

    data = half(whole_batches(), rank)
    case("num_iter", data, **(SWEEP | dict(num_iter=12 + 6 * rank)))
    case("accumulation_steps", data, **SWEEP, accumulation_steps=1 + rank)
    val = data[:2] if rank == 0 else None  # held-out data on rank 0 only, a BatchNorm model
    case("val_data", data, make=batchnorm_mlp, val_data=val, **SWEEP)
    case("bad beta on rank 1", data, **SWEEP, beta=0.98 if rank == 0 else 1.5)

    def interrupt(step, lr, loss):
        if rank == 1 and step == 3:
            raise KeyboardInterrupt

    case("interrupt on rank 1", data, make=batchnorm_mlp, callback=interrupt, **SWEEP)
    bad = [(x, y.clone()) for x, y in data]
    if rank == 0:
        bad[4][1][0] = 7  # class 7 of 3: cross_entropy raises in rank 0's forward pass
    case("forward fails on rank 0", bad, make=batchnorm_mlp, **SWEEP)
    case("data fails on rank 1", FailsAt(data, 5 if rank == 1 else 99), **SWEEP)
    case("afterwards", data, make=batchnorm_mlp, **SWEEP)  # the process group still works
    dist.destroy_process_group()
    with open(out, "w") as file:
        json.dump(seen, file)


if __name__ == "__main__":
    main(sys.argv[1])
