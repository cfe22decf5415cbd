"""A curve that cannot be trusted says so: the unreliable-curve warning, the minimum's caveats."""

import warnings

import numpy as np
import pytest

import lrwidgets
from lrwidgets.core import (
    UnreliableCurveWarning,
    ewma,
    lr_sweep,
    minimum_caveat,
    unreliable_reason,
)
from lrwidgets.core.reliability import batch_noise, turned_up
from lrwidgets.training import RangeTestResult

NUM_ITER = 100
U = np.linspace(0.0, 1.0, NUM_ITER)


def noisy(clean, sigma=0.05, seed=0):
    return clean + sigma * np.random.default_rng(seed).normal(size=len(clean))


FLAT = noisy(np.full(NUM_ITER, 0.7) - 0.02 * U)  # falls by 0.02 under a noise of 0.05
CLASSIC = noisy(2.3 - 1.5 * np.tanh(8 * np.maximum(U - 0.3, 0)) + 200 * np.maximum(U - 0.8, 0) ** 2)
STILL_FALLING = noisy(2.3 - 1.5 * U, sigma=0.01)  # falls to the very end, never turns up


def result_of(raw, start_lr=1e-7):
    lrs = lr_sweep(start_lr, 10.0, NUM_ITER)
    return RangeTestResult(lrs=lrs[: len(raw)], losses=raw, planned_lrs=lrs)


def test_batch_noise_is_the_standard_deviation_of_one_batch():
    rng = np.random.default_rng(0)
    trend = np.linspace(3.0, 1.0, 4000)  # a trend barely moves step-to-step differences
    for sigma in (0.01, 0.3):
        assert batch_noise(trend + sigma * rng.normal(size=4000)) == pytest.approx(sigma, rel=0.05)
    assert batch_noise([1.0, 2.0]) == 0.0
    assert batch_noise(np.r_[trend, np.inf, np.nan]) == batch_noise(trend)


@pytest.mark.parametrize(("shift", "scale"), [(0.0, 1.0), (-10.0, 1.0), (0.0, 1e3), (-5.0, -1.0)])
def test_the_criterion_works_for_losses_of_any_sign_and_scale(shift, scale):
    lrs = lr_sweep(1e-7, 10.0, NUM_ITER)
    for raw, expect_doubt in [(FLAT, True), (CLASSIC, False)]:
        moved = scale * raw + shift
        if scale < 0:  # a curve upside down falls where the other rises: compare with that
            expect_doubt = unreliable_reason(lrs, -raw, ewma(-raw), 10, 5) is not None
        verdict = unreliable_reason(lrs, moved, ewma(moved), 10, 5)
        assert (verdict is not None) == expect_doubt


def test_unreliable_reason_states_the_fall_and_the_noise():
    lrs = lr_sweep(1e-7, 10.0, NUM_ITER)
    smoothed = ewma(FLAT)
    why = unreliable_reason(lrs, FLAT, smoothed, 10, 5)
    fall = smoothed[10:95][0] - smoothed[10:95].min()
    assert fall <= 3 * batch_noise(FLAT)
    assert f"by {fall:.2g}" in why and f"noise of {batch_noise(FLAT):.2g}" in why
    assert unreliable_reason(lrs, CLASSIC, ewma(CLASSIC), 10, 5) is None
    exact = 2.0 - U  # no noise: any fall is clear, no fall is not
    assert unreliable_reason(lrs, exact, exact) is None
    assert unreliable_reason(lrs, np.ones(NUM_ITER), np.ones(NUM_ITER)) is not None


def test_suggestions_warn_on_a_flat_curve_only():
    assert lrwidgets.UnreliableCurveWarning is UnreliableCurveWarning
    assert issubclass(UnreliableCurveWarning, UserWarning)
    flat = result_of(FLAT)
    with pytest.warns(UnreliableCurveWarning, match="never falls clearly below its start"):
        flat.suggestion()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = flat.suggestions()
    assert len(caught) == 1 and caught[0].category is UnreliableCurveWarning
    assert caught[0].filename == __file__  # points at the caller's line
    assert found == flat.suggestions(warn=False)
    assert flat.unreliable() == str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        classic = result_of(CLASSIC)
        classic.suggestions()
        classic.suggestion("minimum")
        assert classic.unreliable() is None


def test_a_minimum_below_the_sweep_or_at_its_unturned_end_is_flagged():
    lrs = lr_sweep(1e-7, 10.0, NUM_ITER)
    early = 3.0 - np.tanh(20 * U) + 30 * np.maximum(U - 0.2, 0) ** 2  # lowest near 1e-5
    assert lrs[np.argmin(early)] / 10 < 1e-5
    caveat = minimum_caveat(lrs, early, early, start_lr=1e-5)
    assert caveat == "below the sweep's start_lr"
    assert minimum_caveat(lrs, early, early, start_lr=1e-7) is None

    falling = ewma(STILL_FALLING)
    assert not turned_up(STILL_FALLING, falling)
    assert "never turned up" in minimum_caveat(lrs, STILL_FALLING, falling, 1e-7, 10, 5)
    assert result_of(STILL_FALLING).caveats() == {
        "minimum": "at the end of a sweep that never turned up"
    }
    classic = ewma(CLASSIC)
    assert turned_up(CLASSIC, classic)
    assert minimum_caveat(lrs, CLASSIC, classic, 1e-7, 10, 5) is None
    assert result_of(CLASSIC).caveats() == {}
    blown = np.r_[STILL_FALLING[:60], np.nan]  # a loss that went NaN did turn up
    assert turned_up(blown, ewma(blown))


CONSTANT_CURVES = {
    "constant": lambda c: np.full(NUM_ITER, c),
    "constant + 1e-12 noise": lambda c: c + 1e-12 * np.random.default_rng(1).normal(size=NUM_ITER),
    "falls by 1e-12": lambda c: c - 1e-12 * U,
    "float32 loss": lambda c: np.full(NUM_ITER, c, dtype=np.float32).astype(float),
}


@pytest.mark.parametrize("level", [0.7, 2.302585, 123.456, -3.0])
@pytest.mark.parametrize("shape", list(CONSTANT_CURVES))
def test_a_constant_or_nearly_constant_curve_warns(shape, level):
    raw = CONSTANT_CURVES[shape](level)
    result = result_of(raw)
    # the debiased EWMA of a constant differs from it by rounding only: not a fall
    with pytest.warns(UnreliableCurveWarning, match="never falls clearly"):
        result.suggestion()
    with pytest.warns(UnreliableCurveWarning):
        result.suggestions()
    assert result.unreliable() is not None
    assert not turned_up(raw, result.smoothed())  # nor a blow-up


def test_a_loss_of_exactly_zero_warns():
    with pytest.warns(UnreliableCurveWarning, match="never falls clearly"):
        result_of(np.zeros(NUM_ITER)).suggestion()


def test_batch_noise_never_drops_below_float32_rounding_of_the_loss():
    assert batch_noise(np.full(50, 2.0)) == 2.0 * np.finfo(np.float32).eps
    assert batch_noise(np.full(50, 0.0)) == 0.0
    real = noisy(np.full(NUM_ITER, 2.0), sigma=1e-3)
    assert batch_noise(real) > 10 * 2.0 * np.finfo(np.float32).eps  # real noise is untouched
