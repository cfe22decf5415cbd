"""divergence_reason and check_diverge_th: when a range test stops."""

import math

import numpy as np
import pytest

from lrwidgets.core import check_diverge_th, divergence_limit, divergence_reason, ewma_from_first


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
    # A sweep to lr=10 diverges. torch-lr-finder checks its from-first smoothing against the best
    # smoothed loss so far; replaying its raw losses through the same rule must stop at the
    # same step (torch-lr-finder records the step that diverged, then stops).
    _, raw = lr_finder_history(smooth_f=0.0, end_lr=10.0)
    _, stopped = lr_finder_history(smooth_f=0.25, diverge_th=2.0, end_lr=10.0)
    assert len(stopped) < len(raw)
    smoothed = ewma_from_first(raw, beta=0.75)
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


def test_positive_losses_stop_exactly_where_fastai_stops():
    # fastai: smoothed > diverge_th * best, compared as written, on random positive curves
    rng = np.random.default_rng(0)
    for _ in range(2000):
        best = float(rng.uniform(1e-3, 10))
        th = float(rng.choice([1.5, 2.0, 4.0, 10.0]))
        smoothed = best * th * float(rng.choice([1.0, np.nextafter(1.0, 2.0), 0.999, 1.001]))
        stops = divergence_reason(1.0, smoothed, best, th) is not None
        assert stops == (smoothed > th * best)


def test_negative_losses_stop_at_the_same_distance_above_the_best():
    # the case: the first step of a negative loss does not "diverge"
    assert divergence_reason(-8.857, -8.857, -8.857, 4.0) is None
    # best -8, diverge_th 4: the limit is -8 + 3 * 8 = 16
    assert divergence_reason(1.0, 15.9, -8.0, 4.0) is None
    reason = divergence_reason(1.0, 16.1, -8.0, 4.0)
    assert reason == "diverged: smoothed loss 16.1 > best -8 + 3 x |best|"
    assert divergence_limit(-8.0, 4.0) == 16.0 and divergence_limit(2.0, 4.0) == 8.0
    # a shifted loss: the limit sits as far above the best as fastai's for |best|
    for best, th in [(0.5, 4.0), (3.0, 2.0), (7.0, 10.0)]:
        assert divergence_limit(-best, th) - (-best) == divergence_limit(best, th) - best


def test_a_range_test_on_a_negative_loss_runs_until_it_really_diverges():
    import torch

    from lrwidgets.training import range_test

    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])

    def shifted(outputs, targets):  # a loss that is negative near its minimum
        return torch.nn.functional.mse_loss(outputs, targets) - 10.0

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    result = range_test(model, (X, y), shifted, num_iter=100, end_lr=10.0, seed=0, progress=False)
    assert result.losses[0] < 0
    assert result.steps > 50  # not at step 1, as "> 4 x best" would
    assert result.stopped_early and result.steps < 100  # but it does stop when lr blows it up
