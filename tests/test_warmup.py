"""warmup_cosine against the lr PyTorch's LinearLR + CosineAnnealingLR in a SequentialLR set."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidgets.core import warmup_cosine


def torch_lrs(total_steps, max_lr, warmup_steps, start_factor, min_lr):
    """The lr the optimizer holds at each step, read before each ``scheduler.step()``."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=max_lr)
    warmup = LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
    cosine = CosineAnnealingLR(opt, T_max=total_steps - warmup_steps, eta_min=min_lr)
    scheduler = SequentialLR(opt, [warmup, cosine], milestones=[warmup_steps])
    lrs = []
    for _ in range(total_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(lrs)


@settings(max_examples=60, deadline=None)
@given(
    total_steps=st.integers(2, 400),
    max_lr=st.floats(1e-5, 10.0),
    warmup_share=st.floats(0.0, 1.0),
    start_factor=st.floats(1e-3, 1.0),
    min_share=st.sampled_from([0.0, 0.01, 0.1]),
)
def test_warmup_cosine_is_pytorch_step_for_step(
    total_steps, max_lr, warmup_share, start_factor, min_share
):
    warmup_steps = min(total_steps - 1, max(1, round(warmup_share * total_steps)))
    args = (total_steps, max_lr, warmup_steps, start_factor, min_share * max_lr)
    np.testing.assert_array_equal(warmup_cosine(*args).lr, torch_lrs(*args))  # to the last bit


def test_warmup_cosine_written_out():
    s = warmup_cosine(12, 0.4, warmup_steps=4, start_factor=0.25, min_lr=0.01)
    rise = [0.4 * (0.25 + 0.75 * t / 4) for t in range(4)]
    fall = [0.01 + 0.39 * (1 + math.cos(math.pi * e / 8)) / 2 for e in range(8)]
    np.testing.assert_allclose(s.lr, rise + fall, rtol=1e-12)
    assert s.momentum is None and len(s) == 12 and s.lr.argmax() == 4


def test_to_code_runs_the_same_schedule():
    schedule = warmup_cosine(30, 3e-3, warmup_steps=5, start_factor=0.1)
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1.0)
    namespace = {"optimizer": opt}
    exec(schedule.to_code(), namespace)
    lrs = []
    for _ in range(30):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        namespace["scheduler"].step()
    np.testing.assert_array_equal(lrs, schedule.lr)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(warmup_steps=10), ValueError, "warmup_steps"),
        (dict(warmup_steps=0), ValueError, "warmup_steps"),
        (dict(warmup_steps=2.5), TypeError, "warmup_steps"),
        (dict(start_factor=1.5), ValueError, "start_factor"),
        (dict(start_factor=0.0), ValueError, "start_factor"),
        (dict(min_lr=0.2), ValueError, "min_lr"),
        (dict(max_lr=-1.0), ValueError, "max_lr"),
        (dict(total_steps=1), ValueError, "total_steps"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        warmup_cosine(**(dict(total_steps=10, max_lr=0.1, warmup_steps=3) | kwargs))
