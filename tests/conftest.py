"""Shared test helpers, and one thread per test process.

On a busy machine (CI has 2 cores; a laptop runs other things) torch's thread pool makes tests
10-100x slower when another process holds a core, and timings swing with the load. So the suite
pins torch to one thread, here and, through the environment, in every process it starts
(notebook kernels under nbval, the subprocess tests, the browser tests' Jupyter kernels).
"""

import os

import numpy as np
import pytest

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def pytest_configure(config):
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_regression():
    """A factory of the same (model, SGD optimizer with momentum 0.9 at lr 1e-4, DataLoader of
    8 batches in a fixed order) on every call: a linear model on 3 features, seed 0."""
    import torch

    def make():
        torch.manual_seed(0)
        x = torch.randn(64, 3)
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(64, 1)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
        return model, optimizer, loader

    return make


@pytest.fixture
def lr_finder_history(tiny_regression):
    """Run torch-lr-finder's own range test on ``tiny_regression`` and return (lrs, losses).

    The model, data and batch order are the same on every call (seed 0, no shuffling), so two
    calls differ only in the arguments: ``smooth_f=0`` gives the raw losses of the run that
    ``smooth_f > 0`` smooths, step for step. Imported here, so only the tests that use it pay.
    """
    import torch
    import torch_lr_finder

    def run(smooth_f, diverge_th=1e30, end_lr=0.1, step_mode="exp", num_iter=30):
        model, optimizer, loader = tiny_regression()
        finder = torch_lr_finder.LRFinder(model, optimizer, torch.nn.MSELoss())
        finder.range_test(
            loader,
            start_lr=1e-4,
            end_lr=end_lr,
            num_iter=num_iter,
            step_mode=step_mode,
            smooth_f=smooth_f,
            diverge_th=diverge_th,
        )
        return np.array(finder.history["lr"]), np.array(finder.history["loss"])

    return run
