"""lr_sweep: the learning rates of a range test."""

import numpy as np
import pytest

from lrwidgets.core import lr_sweep


@pytest.mark.parametrize("mode", ["exp", "linear"])
@pytest.mark.parametrize(("start_lr", "end_lr", "num_iter"), [(1e-7, 10.0, 100), (0.3, 0.7, 2)])
def test_both_ends_exact_and_one_lr_per_step(mode, start_lr, end_lr, num_iter):
    lrs = lr_sweep(start_lr, end_lr, num_iter, mode)
    assert lrs.shape == (num_iter,)
    assert lrs[0] == start_lr
    assert lrs[-1] == end_lr
    assert np.all(np.diff(lrs) > 0)


def test_exp_is_the_geometric_formula_with_a_constant_ratio():
    start_lr, end_lr, n = 1e-6, 3.0, 57
    lrs = lr_sweep(start_lr, end_lr, n, "exp")
    # lr_i = start_lr * (end_lr / start_lr) ** (i / (n - 1)), in Python floats to the last bit
    # (the last is end_lr itself)
    expected = [start_lr * (end_lr / start_lr) ** (i / (n - 1)) for i in range(n)]
    assert lrs[:-1].tolist() == expected[:-1]
    assert lrs[-1] == pytest.approx(expected[-1], rel=1e-15)
    ratio = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratio, (end_lr / start_lr) ** (1 / (n - 1)), rtol=1e-13)


def test_linear_is_the_arithmetic_formula_with_a_constant_difference():
    start_lr, end_lr, n = 1e-3, 2.0, 41
    lrs = lr_sweep(start_lr, end_lr, n, "linear")
    expected = [start_lr + (end_lr - start_lr) * i / (n - 1) for i in range(n)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)
    np.testing.assert_allclose(np.diff(lrs), (end_lr - start_lr) / (n - 1), rtol=1e-12)


def test_exp_spends_as_many_steps_on_every_decade():
    lrs = lr_sweep(1e-6, 1.0, 61)  # 10 steps per decade
    decade = np.floor(np.round(np.log10(lrs[:-1]), 9))  # the round absorbs 1e-6 = 0.99999..e-6
    per_decade = np.unique(decade, return_counts=True)[1]
    assert list(per_decade) == [10] * 6


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_torch_lr_finder_sweeps_the_same_lrs(lr_finder_history, mode):
    recorded, _ = lr_finder_history(smooth_f=0.0, step_mode=mode)
    np.testing.assert_array_equal(lr_sweep(1e-4, 0.1, len(recorded), mode), recorded)


def test_numpy_integer_num_iter_is_accepted():
    assert len(lr_sweep(1e-3, 1.0, np.int64(5))) == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(start_lr=0.0), ValueError, "start_lr"),
        (dict(start_lr=-1e-3), ValueError, "start_lr"),
        (dict(start_lr=float("nan")), ValueError, "start_lr"),
        (dict(start_lr="1e-3"), TypeError, "start_lr"),
        (dict(end_lr=0.0), ValueError, "end_lr"),
        (dict(end_lr=-1.0), ValueError, "end_lr"),
        (dict(end_lr=float("inf")), ValueError, "end_lr"),
        (dict(start_lr=1.0, end_lr=1.0), ValueError, "start_lr must be < end_lr"),
        (dict(start_lr=2.0, end_lr=1.0), ValueError, "start_lr must be < end_lr"),
        (dict(num_iter=1), ValueError, "num_iter"),
        (dict(num_iter=0), ValueError, "num_iter"),
        (dict(num_iter=10.0), TypeError, "num_iter"),
        (dict(num_iter=True), TypeError, "num_iter"),
        (dict(mode="log"), ValueError, "mode must be one of 'exp', 'linear'"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    args = dict(start_lr=1e-5, end_lr=1.0, num_iter=10, mode="exp") | kwargs
    with pytest.raises(error, match=match):
        lr_sweep(**args)
