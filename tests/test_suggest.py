"""suggest_lr on curves with known answers, fastai's valley rule, trimming, and bad input.

tests/test_peer_rules.py checks every rule against the peer it is named after."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidgets.core import SUGGESTION_METHODS, lr_sweep, suggest_lr

# loss(u) = 2 - tanh(k (u - u_steep)) + a * max(0, u - u_rise)**2   with u = log10(lr):
# a logistic step down, steepest at u_steep, then a quadratic rise after u_rise.
CURVES = [
    # (sweep, u_steep, u_rise, k, a)
    (dict(start_lr=1e-6, end_lr=1.0, num_iter=61), -4.0, -2.0, 2.0, 5.0),
    (dict(start_lr=1e-7, end_lr=10.0, num_iter=100), -3.3, -1.5, 1.5, 3.0),
    (dict(start_lr=1e-3, end_lr=1.0, num_iter=200, mode="linear"), -1.0, -0.5, 3.0, 5.0),
]


def curve(u, u_steep, u_rise, k, a):
    return 2 - np.tanh(k * (u - u_steep)) + a * np.maximum(0.0, u - u_rise) ** 2


def slope(u, u_steep, u_rise, k, a):
    """d loss / d log10(lr), by hand."""
    return -k / np.cosh(k * (u - u_steep)) ** 2 + 2 * a * np.maximum(0.0, u - u_rise)


def nearest(lrs, lr):
    return int(np.argmin(np.abs(np.log(lrs) - np.log(lr))))


@pytest.mark.parametrize(("sweep", "u_steep", "u_rise", "k", "a"), CURVES)
def test_known_minimum_steepest_point_and_valley(sweep, u_steep, u_rise, k, a):
    lrs = lr_sweep(**sweep)
    losses = curve(np.log10(lrs), u_steep, u_rise, k, a)
    fine = np.linspace(np.log10(lrs[0]), np.log10(lrs[-1]), 200_001)
    lr_min = 10 ** fine[np.argmin(curve(fine, u_steep, u_rise, k, a))]
    lr_steep = 10 ** fine[np.argmin(slope(fine, u_steep, u_rise, k, a))]

    minimum = suggest_lr(lrs, losses, "minimum")
    assert minimum == lrs[np.argmin(losses)] / 10  # the definition, exactly
    assert abs(nearest(lrs, minimum * 10) - nearest(lrs, lr_min)) <= 1  # one grid step

    steep = suggest_lr(lrs, losses, "steep")
    assert abs(nearest(lrs, steep) - nearest(lrs, lr_steep)) <= 1

    valley = suggest_lr(lrs, losses, "valley")
    assert lrs[0] < valley < lr_min
    assert slope(np.log10(valley), u_steep, u_rise, k, a) < 0  # on the falling part


@pytest.mark.parametrize("method", SUGGESTION_METHODS)
def test_a_diverged_tail_does_not_change_the_answer(method):
    lrs = lr_sweep(1e-6, 1.0, 61)
    losses = curve(np.log10(lrs), -4.0, -2.0, 2.0, 5.0)
    expected = suggest_lr(lrs[:50], losses[:50], method)
    for tail in (np.nan, np.inf, -np.inf):
        diverged = losses.copy()
        diverged[50:] = tail
        assert suggest_lr(lrs, diverged, method) == expected
    diverged[50] = np.nan  # everything after the first non-finite loss is dropped
    diverged[51:] = -100.0
    assert suggest_lr(lrs, diverged, method) == expected


finite_losses = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=40)


@settings(max_examples=80, deadline=None)
@given(losses=finite_losses, tail=st.lists(st.sampled_from([np.nan, np.inf, -np.inf]), max_size=5))
def test_non_finite_tails_are_trimmed(losses, tail):
    lrs = lr_sweep(1e-5, 1.0, len(losses) + len(tail) + 1)
    for method in SUGGESTION_METHODS:
        if method == "slide" and len(losses) < 16:  # slide needs 16 points
            continue
        expected = suggest_lr(lrs[: len(losses)], losses, method)
        assert suggest_lr(lrs[:-1], losses + tail, method) == expected


def test_valley_sits_halfway_along_a_straight_fall():
    # A fall of n points is one valley from -1 to n-1: index -1 + int(n/3) + int(n/6).
    lrs = np.arange(1.0, 13)
    assert suggest_lr(lrs, -lrs, "valley") == lrs[-1 + 4 + 2]


@settings(max_examples=60, deadline=None)
@given(losses=finite_losses)
def test_steepest_is_the_most_negative_central_difference(losses):
    lrs = lr_sweep(1e-4, 1.0, len(losses))
    h = np.log(lrs[1] / lrs[0])
    x = np.array(losses)
    # One-sided at the ends, central inside; the grid in log(lr) is uniform.
    written = np.r_[x[1] - x[0], (x[2:] - x[:-2]) / 2, x[-1] - x[-2]] / h
    chosen = written[np.flatnonzero(lrs == suggest_lr(lrs, losses, "steepest"))[0]]
    assert chosen <= written.min() + 1e-9 * (1 + np.abs(x).max()) / h


@pytest.mark.parametrize("method", SUGGESTION_METHODS)
@pytest.mark.parametrize(("skip_start", "skip_end"), [(0, 0), (5, 0), (0, 7), (3, 4)])
def test_skip_start_and_skip_end_drop_points(method, skip_start, skip_end):
    rng = np.random.default_rng(0)
    lrs = lr_sweep(1e-5, 1.0, 30)
    losses = rng.normal(size=30)
    expected = suggest_lr(
        lrs[skip_start : 30 - skip_end], losses[skip_start : 30 - skip_end], method
    )
    assert suggest_lr(lrs, losses, method, skip_start=skip_start, skip_end=skip_end) == expected


LRS = [1e-3, 1e-2, 1e-1, 1.0]
LOSSES = [1.0, 0.5, 0.4, 2.0]


@pytest.mark.parametrize(
    ("lrs", "losses", "kwargs", "error", "match"),
    [
        (LRS[:2], LOSSES[:2], {}, ValueError, "need at least 3 finite losses"),
        (
            LRS,
            [1.0, 0.5, np.nan, 0.1],
            {},
            ValueError,
            "need at least 3 finite losses.*got 2 after",
        ),
        (LRS, LOSSES, dict(skip_start=2), ValueError, "got 2 after trimming"),
        (LRS, LOSSES[:3], {}, ValueError, "lrs and losses must have the same length, got 4 and 3"),
        ([0.0, *LRS[1:]], LOSSES, {}, ValueError, "lrs must be finite and > 0"),
        ([-1e-3, *LRS[1:]], LOSSES, {}, ValueError, "lrs must be finite and > 0"),
        ([np.nan, *LRS[1:]], LOSSES, {}, ValueError, "lrs must be finite and > 0"),
        ([LRS], [LOSSES], {}, ValueError, "lrs and losses must be 1-D"),
        (LRS, LOSSES, dict(method="best"), ValueError, "method must be one of 'valley', 'slide', "),
        (LRS, LOSSES, dict(skip_start=-1), ValueError, "skip_start must be an integer >= 0"),
        (LRS, LOSSES, dict(skip_end=1.0), TypeError, "skip_end must be an integer"),
    ],
)
def test_bad_curves_are_explained(lrs, losses, kwargs, error, match):
    with pytest.raises(error, match=match):
        suggest_lr(lrs, losses, **kwargs)
