"""Edge cases a careless learner hits: each is a clear error naming the argument, raised before
any work (no training step, no huge array)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from lrwidgets.core import cyclic, ewma, lr_sweep, one_cycle, suggest_lr
from lrwidgets.core.checks import MAX_STEPS
from lrwidgets.problems import get_problem
from lrwidgets.training import fit, range_test

CURVE_LRS = lr_sweep(1e-4, 1.0, 20)
CURVE_LOSSES = np.linspace(2.0, 1.0, 20)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: lr_sweep(1e-300, 1e300, 10), ValueError, "end_lr / start_lr must be a finite"),
        (lambda: lr_sweep(1e-3, 1.0, 10**9), ValueError, rf"num_iter .*\[2, {MAX_STEPS}\]"),
        (
            lambda: cyclic(2000, 1e-3, 0.1, 500, mode="exp_range", gamma=2),
            ValueError,
            r"gamma=2.0 overflows over total_steps=2000: gamma\*\*1999",
        ),
        (lambda: one_cycle(100, 0.1, div_factor=1e-308), ValueError, "div_factor must be .* >= 1"),
        (
            lambda: one_cycle(100, 1e-300, div_factor=1e10, final_div_factor=1e300),
            ValueError,
            "final_div_factor",
        ),
        (lambda: one_cycle(10**9, 0.1), ValueError, "total_steps must be an integer in"),
        (lambda: cyclic(10**9, 1e-3, 0.1), ValueError, "total_steps must be an integer in"),
        (
            lambda: suggest_lr(CURVE_LRS, CURVE_LOSSES, skip_end=25),
            ValueError,
            r"got 0 after trimming \(skip_start=0, skip_end=25\)",
        ),
        (lambda: ewma([1.0, 2.0], debias="no"), TypeError, "debias must be True or False"),
        (
            lambda: get_problem("spirals", noise=math.nan),
            ValueError,
            "noise must be a finite number >= 0, got nan",
        ),
        (lambda: get_problem("quadratic", noise=math.inf), ValueError, "noise must be a finite"),
        (
            lambda: get_problem("spirals", arms=2, n_per_arm=2, val_fraction=0.9),
            ValueError,
            "val_fraction=0.9 of 4 examples leaves no training rows",
        ),
    ],
)
def test_core_and_problem_edges(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_skip_end_inside_the_curve_still_answers():
    # the same curve trimmed by hand: the check above is about the end, not a new rule
    expected = suggest_lr(CURVE_LRS[:-5], CURVE_LOSSES[:-5], "minimum")
    assert suggest_lr(CURVE_LRS, CURVE_LOSSES, "minimum", skip_end=5) == expected


class Counted(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.linear(x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"progress": "no"}, TypeError, "progress must be True or False, got 'no'"),
        ({"num_iter": 10**9}, ValueError, rf"num_iter must be an integer in \[2, {MAX_STEPS}\]"),
        ({"seed": 2**64}, ValueError, rf"seed must be an integer in \[0, {2**64 - 1}\]"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0"),
    ],
)
def test_range_test_edges_fail_before_any_step(kwargs, error, match):
    model = Counted()
    data = (torch.randn(16, 3), torch.randn(16, 1))
    with pytest.raises(error, match=match):
        range_test(model, data, **kwargs)
    assert model.calls == 0


def test_fit_takes_progress_as_a_bool_only():
    model = Counted()
    with pytest.raises(TypeError, match="progress must be True or False"):
        fit(model, (torch.randn(16, 3), torch.randn(16, 1)), progress="no")
    assert model.calls == 0


def test_the_largest_seed_torch_takes_works_and_repeats():
    data = (torch.randn(64, 3), torch.randn(64, 1))
    torch.manual_seed(0)
    model = Counted()
    runs = [range_test(model, data, num_iter=5, batch_size=8, seed=2**64 - 1) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
