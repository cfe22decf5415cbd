"""The one-screen reference range test is the algorithm ``range_test`` runs: on (X, y) tensors
both give the same learning rates and raw losses, bit for bit, and the reference stays short."""

import ast
import inspect

import pytest
import torch
from torch import nn

from lrwidgets.training import range_test
from lrwidgets.training.reference import reference_range_test


def model_and_optimizer() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def blobs(n: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 4, generator=g) + 2.0 * nn.functional.one_hot(y, 4).float(), y


@pytest.mark.parametrize(
    "sweep",
    [
        dict(mode="exp", start_lr=1e-4, end_lr=1e3, num_iter=60),  # diverges: a stop
        dict(mode="linear", start_lr=1e-3, end_lr=30.0, num_iter=40),
        dict(mode="exp", start_lr=1e-5, end_lr=1e-2, num_iter=12),  # runs to the end
    ],
    ids=["exp-stops", "linear", "exp-to-the-end"],
)
def test_reference_gives_range_tests_lrs_and_losses_bit_for_bit(sweep):
    data = blobs()  # 150 rows in batches of 32: several epochs, a last batch of 22
    settings = dict(beta=0.9, diverge_th=4.0, batch_size=32, seed=5, **sweep)
    model, optimizer = model_and_optimizer()
    result = range_test(
        model, data, nn.CrossEntropyLoss(), optimizer, device="cpu", progress=False, **settings
    )
    model, optimizer = model_and_optimizer()
    lrs, losses, smoothed = reference_range_test(
        model, data, nn.CrossEntropyLoss(), optimizer, **settings
    )
    assert lrs == result.lrs.tolist()
    assert losses == result.losses.tolist()
    assert smoothed == result.smoothed_losses.tolist()
    assert len(lrs) * 32 > len(data[0])  # more than one epoch: the reshuffle is compared too
    if sweep["end_lr"] > 100:
        assert result.stopped_early and len(lrs) < sweep["num_iter"]
    if sweep["end_lr"] < 1:
        assert not result.stopped_early and len(lrs) == sweep["num_iter"]


def code_lines(function) -> int:
    """Lines of the function's body that hold code: no docstring, blank or comment-only line."""
    source = inspect.getsource(function)
    body = ast.parse(source).body[0].body
    start = body[1].lineno if isinstance(body[0], ast.Expr) else body[0].lineno
    lines = source.splitlines()[start - 1 :]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def test_the_reference_fits_on_one_screen():
    assert code_lines(reference_range_test) <= 45
