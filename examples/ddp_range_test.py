"""A learning-rate range test on a DistributedDataParallel model, one process per device.

    torchrun --nproc_per_node=2 examples/ddp_range_test.py          # 2 CPU processes (gloo)
    torchrun --nproc_per_node=4 examples/ddp_range_test.py          # 4 GPUs (nccl), if present

Each rank reads its own shard of the training data (a DistributedSampler) and calls
``range_test`` exactly as a single process would. The ranks record the same curve (the mean of
their losses) and stop at the same step, and each gets its model and optimizer back unchanged.
Data: scikit-learn's bundled handwritten digits (no download).
"""

import argparse
import json
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from lrwidgets import get_problem, range_test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-iter", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--out", help="write the curve and the suggestion here (JSON, rank 0)")
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)

    problem = get_problem("digits-mlp")
    model = problem.make_model(seed=0).to(device)  # the same start on every rank
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    dataset = TensorDataset(*problem.train_data)
    loader = DataLoader(
        dataset, batch_size=args.batch_size, sampler=DistributedSampler(dataset, seed=0)
    )

    result = range_test(ddp, loader, problem.loss_fn, optimizer, num_iter=args.num_iter)

    lr = result.suggestion("valley")
    if rank == 0:
        print(f"{result.steps} steps ({result.stop_reason or 'the whole sweep'}); valley: {lr:.3g}")
        if args.out:
            with open(args.out, "w") as file:
                curve = dict(lrs=result.lrs.tolist(), losses=result.losses.tolist())
                json.dump(curve | {"suggestion": lr}, file)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
