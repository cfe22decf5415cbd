"""fastai_one_cycle against fastai's fit_one_cycle, its formulas written out here as fastai's
fastai/callback/schedule.py has them (fastai itself is not installed)."""

import math

import numpy as np
import pytest
import torch

from lrwidgets import fastai_one_cycle
from lrwidgets.core import one_cycle


def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combine_scheds(pcts, scheds):
    """fastai's combine_scheds: the phase bounds are a float32 tensor."""
    assert sum(pcts) == 1.0
    pcts = torch.tensor([0] + list(pcts))
    pcts = torch.cumsum(pcts, 0)
    pct_lim = len(pcts) - 2

    def inner(pos):
        idx = min((pos >= pcts).nonzero().max(), pct_lim)
        actual_pos = (pos - pcts[idx]) / (pcts[idx + 1] - pcts[idx])
        return scheds[idx](actual_pos.item())

    return inner


def combined_cos(pct, start, middle, end):
    return combine_scheds(
        [pct, 1 - pct],
        [lambda p: sched_cos(start, middle, p), lambda p: sched_cos(middle, end, p)],
    )


def fastai_positions(n_epoch, n_iter):
    """pct_train before each batch, as TrainEvalCallback keeps it: epoch / n_epoch at the start
    of an epoch, then += 1 / (n_iter * n_epoch) after every batch."""
    positions = []
    for epoch in range(n_epoch):
        pct_train = epoch / n_epoch
        for _ in range(n_iter):
            positions.append(pct_train)
            pct_train += 1.0 / (n_iter * n_epoch)
    return positions


def fit_one_cycle(positions, lr_max, div=25.0, div_final=1e5, pct_start=0.25, moms=None):
    """The lr and momentum ParamScheduler sets before each batch (one param group)."""
    lr_max = np.array([lr_max])
    lr = combined_cos(pct_start, lr_max / div, lr_max, lr_max / div_final)
    mom = combined_cos(pct_start, *(moms or (0.95, 0.85, 0.95)))
    return np.array([lr(p)[0] for p in positions]), np.array([mom(p) for p in positions])


@pytest.mark.parametrize(
    ("n_epoch", "n_iter", "lr_max", "kwargs"),
    [
        (1, 100, 1e-2, {}),
        (4, 25, 3e-3, {}),
        (3, 17, 0.1, dict(div=10.0, div_final=1e4, pct_start=0.3, moms=(0.9, 0.8, 0.9))),
        (5, 7, 2.0, dict(pct_start=0.99)),
    ],
)
def test_equals_fit_one_cycle(n_epoch, n_iter, lr_max, kwargs):
    total = n_epoch * n_iter
    schedule = fastai_one_cycle(total, lr_max, **kwargs)
    # i / N, as the docstring says: fastai's formulas give the same numbers to the last bit
    lrs, moms = fit_one_cycle([i / total for i in range(total)], lr_max, **kwargs)
    np.testing.assert_array_equal(schedule.lr, lrs)
    np.testing.assert_array_equal(schedule.momentum, moms)
    # fastai's own accumulated positions: the same to float32 precision
    lrs, moms = fit_one_cycle(fastai_positions(n_epoch, n_iter), lr_max, **kwargs)
    np.testing.assert_allclose(schedule.lr, lrs, rtol=1e-6)
    np.testing.assert_allclose(schedule.momentum, moms, rtol=1e-6)


def test_where_it_differs_from_onecycle_lr():
    """The same peak and floor given to OneCycleLR: its peak comes one step earlier and its
    last rate is the floor itself, fastai's ~44x above it."""
    fastai = fastai_one_cycle(100, 1.0)
    torch_like = one_cycle(100, 1.0, pct_start=0.25, div_factor=25.0, final_div_factor=4000.0)
    assert np.argmax(fastai.lr) == 25 and fastai.lr[25] == 1.0
    assert np.argmax(torch_like.lr) == 24
    assert fastai.lr[0] == pytest.approx(torch_like.lr[0], rel=1e-12)  # both start at 1 / 25
    assert torch_like.lr[-1] == pytest.approx(1e-5, rel=1e-9)
    assert 40 < fastai.lr[-1] / torch_like.lr[-1] < 50


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_to_code_sets_the_same_lr_and_momentum(kind):
    schedule = fastai_one_cycle(40, 0.3, pct_start=0.3, moms=(0.9, 0.8, 0.95))
    namespace = {}
    exec(schedule.to_code(), namespace)
    params = [torch.nn.Parameter(torch.zeros(2))]
    if kind == "adam":
        opt = torch.optim.Adam(params, lr=0.1)
    else:
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    group = opt.param_groups[0]
    lrs, moms = [], []
    for step in range(40):
        namespace["set_fastai_one_cycle"](opt, step)
        lrs.append(group["lr"])
        moms.append(group["betas"][0] if kind == "adam" else group["momentum"])
        opt.step()
    np.testing.assert_array_equal(lrs, schedule.lr)
    np.testing.assert_array_equal(moms, schedule.momentum)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(total_steps=0), ValueError, "total_steps"),
        (dict(lr_max=-1.0), ValueError, "lr_max"),
        (dict(div=0.0), ValueError, "div"),
        (dict(div_final=math.inf), ValueError, "div_final"),
        (dict(pct_start=1.0), ValueError, "pct_start"),
        (dict(moms=(0.9, 0.8)), TypeError, "moms"),
        (dict(moms=(0.9, 1.5, 0.9)), ValueError, r"moms\[1\]"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    args = dict(total_steps=10, lr_max=0.1) | kwargs
    with pytest.raises(error, match=match):
        fastai_one_cycle(args.pop("total_steps"), args.pop("lr_max"), **args)
