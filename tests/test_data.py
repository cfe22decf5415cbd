"""Batching and devices: the pieces range_test and fit share."""

from collections import namedtuple

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lrwidgets.training import fit, range_test, resolve_device, steps_per_epoch
from lrwidgets.training.data import (
    LoaderBatches,
    TensorBatches,
    as_batches,
    fixed_batches,
    forever,
    peek,
    to_device,
)

CPU = torch.device("cpu")


def rows(n=10):
    return torch.arange(n * 2, dtype=torch.float32).reshape(n, 2), torch.arange(n)


def test_resolve_device_names_and_auto():
    assert resolve_device("cpu") == CPU
    assert resolve_device(CPU) == CPU
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize(
    ("device", "error"),
    [("tpu", ValueError), ("cuda:x", ValueError), ("meta", ValueError), (0, TypeError)],
)
def test_resolve_device_refuses_unknown_devices(device, error):
    with pytest.raises(error, match="device must be one of 'auto', 'cpu', 'cuda'"):
        resolve_device(device)


def test_resolve_device_refuses_a_gpu_that_is_not_there():
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ValueError, match="not available"):
        resolve_device(f"cuda:{count}")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="not available"):
            resolve_device("mps")


def test_an_epoch_in_memory_is_a_permutation_in_slices():
    X, y = rows(10)
    batches = as_batches((X, y), 4)
    assert isinstance(batches, TensorBatches) and len(batches) == 3
    epoch = list(batches.epoch(torch.Generator().manual_seed(0)))
    assert [len(xb) for xb, _ in epoch] == [4, 4, 2]
    seen_y = torch.cat([yb for _, yb in epoch])
    assert sorted(seen_y.tolist()) == list(range(10))
    assert not torch.equal(seen_y, y)  # shuffled
    for xb, yb in epoch:  # rows stay with their targets
        assert torch.equal(xb, X[yb])


def test_the_generator_decides_the_order():
    batches = as_batches(rows(50), 50)

    def order(seed):
        return next(batches.epoch(torch.Generator().manual_seed(seed)))[1]

    assert torch.equal(order(1), order(1))
    assert not torch.equal(order(1), order(2))


def test_numpy_arrays_become_float32_and_int64_tensors():
    X = np.ones((6, 2), dtype=np.float64)
    y = np.arange(6, dtype=np.int32)
    batches = as_batches((X, y), 6)
    assert batches.X.dtype == torch.float32 and batches.y.dtype == torch.int64
    assert torch.equal(batches.X, torch.ones(6, 2))


def test_held_out_is_in_order_and_made_of_views():
    X, y = rows(10)
    val = fixed_batches((X, y), 4, CPU)
    assert [len(yb) for _, yb in val] == [4, 4, 2]
    assert torch.equal(torch.cat([xb for xb, _ in val]), X)
    assert val[0][0].data_ptr() == X.data_ptr()  # a slice, not a copy
    assert fixed_batches(None, 4, CPU) is None


def test_loaders_and_lists_pass_through_and_cycle():
    X, y = rows(6)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batches = as_batches(loader, 999).to(CPU)
    assert isinstance(batches, LoaderBatches) and len(batches) == 2
    first, stream = peek(batches.epoch())
    assert torch.equal(first[0], X[:4])
    assert [len(xb) for xb, _ in stream] == [4, 2]  # the first batch is still in front
    stream = forever(as_batches([(X[:3], y[:3]), (X[3:], y[3:])], 1))
    taken = [next(stream)[1][0].item() for _ in range(5)]
    assert taken == [0, 3, 0, 3, 0]


def test_steps_per_epoch_needs_a_length():
    class Endless:
        def __iter__(self):
            yield rows(2)

    assert len(list(as_batches(Endless(), 1).epoch())) == 1
    with pytest.raises(TypeError, match="no len"):
        steps_per_epoch(Endless())


def test_empty_and_mismatched_data_are_refused():
    with pytest.raises(ValueError, match="empty"):
        as_batches((torch.zeros(0, 2), torch.zeros(0)), 4)
    with pytest.raises(ValueError, match="as many"):
        as_batches((torch.zeros(3, 2), torch.zeros(4)), 4)
    with pytest.raises(ValueError, match="empty"):
        peek(as_batches([], 4).epoch())
    with pytest.raises(ValueError, match="empty"):
        next(forever(as_batches([], 4)))
    with pytest.raises(TypeError, match="re-iterable"):
        as_batches(iter([rows(2)]), 4)
    with pytest.raises(TypeError, match="data must be"):
        as_batches("batches", 4)
    with pytest.raises(ValueError, match="batch_size"):
        as_batches(rows(2), 0)


def test_to_device_keeps_the_shape_of_a_batch():
    Pair = namedtuple("Pair", "x y")
    X, y = rows(3)
    batch = {"pair": Pair(X, y), "list": [X, "label"], "n": 3}
    moved = to_device(batch, CPU)
    assert isinstance(moved["pair"], Pair) and torch.equal(moved["pair"].x, X)
    assert moved["list"][1] == "label" and moved["n"] == 3
    assert to_device(batch, None) is batch


@pytest.mark.parametrize(
    ("n", "sizes"),
    [(129, [64, 65]), (130, [64, 64, 2]), (128, [64, 64]), (65, [65]), (1, [1]), (3, [3])],
)
def test_a_one_row_remainder_joins_the_batch_before(n, sizes):
    X, y = torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n)
    batches = as_batches((X, y), 64)
    got = list(batches.epoch(torch.Generator().manual_seed(0)))
    assert [len(inputs) for inputs, _ in got] == sizes
    assert len(batches) == len(sizes) == steps_per_epoch((X, y), 64)
    assert sorted(torch.cat([t for _, t in got]).tolist()) == list(range(n))  # every row once


def test_batchnorm_trains_on_data_that_leaves_one_row_over():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(129, 4, generator=g), torch.randint(0, 2, (129,), generator=g)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)
    )
    result = range_test(model, (X, y), batch_size=64, num_iter=6, end_lr=1e-2, progress=False)
    assert result.steps == 6  # three epochs of a 64-row and a 65-row batch, no crash
    history = fit(model, (X, y), schedule=1e-2, epochs=2, batch_size=64, progress=False)
    assert len(history.loss) == 4
