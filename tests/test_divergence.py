"""divergence_reason and check_diverge_th: when a range test stops."""

import math

import numpy as np
import pytest

from lrwidgets.core import check_diverge_th, divergence_reason, ewma_seeded


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_a_loss_that_is_not_a_number_stops(loss):
    # Even when the smoothed loss still looks fine.
    reason = divergence_reason(loss, smoothed_loss=1.0, best_smoothed_loss=1.0)
    assert reason == f"loss is not finite ({loss})"


def test_above_the_threshold_stops_and_says_by_how_much():
    reason = divergence_reason(1.0, smoothed_loss=4.5, best_smoothed_loss=1.0, diverge_th=4.0)
    assert reason is not None
    assert "4.5" in reason
    assert "4 x best 1" in reason


@pytest.mark.parametrize("smoothed", [4.0, 3.999, 1.0, 0.5])
def test_at_or_below_the_threshold_goes_on(smoothed):
    assert divergence_reason(2.0, smoothed, best_smoothed_loss=1.0, diverge_th=4.0) is None


def test_the_threshold_scales_with_the_best_loss():
    assert divergence_reason(1.0, 0.21, best_smoothed_loss=0.1, diverge_th=2.0) is not None
    assert divergence_reason(1.0, 0.19, best_smoothed_loss=0.1, diverge_th=2.0) is None
    assert divergence_reason(1.0, 0.21, best_smoothed_loss=0.1, diverge_th=3.0) is None


def test_stops_where_torch_lr_finder_stops(lr_finder_history):
    # A sweep to lr=10 diverges. torch-lr-finder checks its seeded smoothing against the best
    # smoothed loss so far; replaying its raw losses through the same rule must stop at the
    # same step (torch-lr-finder records the step that diverged, then stops).
    _, raw = lr_finder_history(smooth_f=0.0, end_lr=10.0)
    _, stopped = lr_finder_history(smooth_f=0.25, diverge_th=2.0, end_lr=10.0)
    assert len(stopped) < len(raw)
    smoothed = ewma_seeded(raw, beta=0.75)
    best = np.minimum.accumulate(smoothed)
    steps = zip(raw, smoothed, best, strict=True)
    reasons = [divergence_reason(*step, diverge_th=2.0) for step in steps]
    first = next(i for i, reason in enumerate(reasons) if reason is not None)
    assert first == len(stopped) - 1
    assert reasons[first].startswith("diverged")


@pytest.mark.parametrize("value", [4, 4.0, 1.5, np.float64(10.0)])
def test_diverge_th_above_one_is_accepted(value):
    assert check_diverge_th(value) == float(value)


@pytest.mark.parametrize("value", [1.0, 0.5, 0, -3.0, math.nan])
def test_diverge_th_at_or_below_one_is_refused(value):
    with pytest.raises(ValueError, match="diverge_th must be a number > 1"):
        check_diverge_th(value)


@pytest.mark.parametrize("value", ["4", None, True])
def test_diverge_th_must_be_a_number(value):
    with pytest.raises(TypeError, match="diverge_th must be a number"):
        check_diverge_th(value)
