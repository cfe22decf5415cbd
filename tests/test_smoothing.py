"""ewma, ewma_from_first and smooth: the three smoothing conventions of a loss curve."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidgets.core import SMOOTHING_CONVENTIONS, ewma, ewma_from_first, smooth

losses = st.lists(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=1, max_size=60
)
betas = st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.98, 0.999]), st.floats(0.0, 0.9999))


def fastai_ewma(values, beta, debias):
    """avg_0 = 0, avg_t = beta*avg_{t-1} + (1-beta)*x_t, divided by 1 - beta**t if debias."""
    out, avg = [], 0.0
    for t, x in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * x
        out.append(avg / (1 - beta**t) if debias else avg)
    return np.array(out)


def from_first_ewma(values, beta):
    """torch-lr-finder: s_1 = x_1, s_t = (1-smooth_f)*s_{t-1} + smooth_f*x_t, smooth_f = 1-beta."""
    smooth_f = 1 - beta
    out = [values[0]]
    for x in values[1:]:
        out.append((1 - smooth_f) * out[-1] + smooth_f * x)
    return np.array(out)


def close(actual, expected, values):
    """Equal up to rounding: 1e-12 relative to the largest |loss| (averages of mixed signs)."""
    scale = max(1.0, float(np.max(np.abs(values))))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


@settings(max_examples=80, deadline=None)
@given(values=losses, beta=betas, debias=st.booleans())
def test_ewma_is_the_written_out_loop(values, beta, debias):
    close(ewma(values, beta, debias=debias), fastai_ewma(values, beta, debias), values)


@settings(max_examples=80, deadline=None)
@given(values=losses, beta=betas)
def test_ewma_from_first_is_torch_lr_finders_rule(values, beta):
    close(ewma_from_first(values, beta), from_first_ewma(values, beta), values)


@settings(max_examples=40, deadline=None)
@given(values=losses)
def test_beta_zero_does_not_smooth(values):
    for convention in SMOOTHING_CONVENTIONS:
        np.testing.assert_array_equal(smooth(values, 0.0, convention), values)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98, 0.999])
def test_bias_correction_gives_back_a_constant(beta):
    c = 2.5
    values = np.full(200, c)
    np.testing.assert_allclose(ewma(values, beta), c, rtol=1e-12)
    np.testing.assert_allclose(ewma_from_first(values, beta), c, rtol=1e-12)
    biased = ewma(values, beta, debias=False)
    # Without the correction the average starts at (1 - beta) * c, far below c, and creeps up:
    # avg_t = c * (1 - beta**t).
    assert biased[0] == pytest.approx((1 - beta) * c, rel=1e-12)
    np.testing.assert_allclose(biased, c * (1 - beta ** np.arange(1, 201)), rtol=1e-10)
    assert np.all(np.diff(biased) >= 0)
    assert np.all(biased[:10] < c)


def test_from_first_weighs_the_first_loss_too_much():
    # One high first loss, then ones: the from-first curve keeps beta**(t-1) of it, the debiased
    # one only its share of the weights, (1-beta)*beta**(t-1) / (1 - beta**t).
    beta, values = 0.9, np.r_[10.0, np.ones(20)]
    t = np.arange(1, 22)
    np.testing.assert_allclose(ewma_from_first(values, beta) - 1, 9 * beta ** (t - 1), rtol=1e-10)
    share = (1 - beta) * beta ** (t - 1) / (1 - beta**t)
    np.testing.assert_allclose(ewma(values, beta) - 1, 9 * share, rtol=1e-10)
    assert np.all(ewma(values, beta)[1:] < ewma_from_first(values, beta)[1:])


def test_ewma_from_first_matches_torch_lr_finders_range_test(lr_finder_history):
    # smooth_f=0 records the raw losses; the same run with smooth_f > 0 records its smoothing.
    _, raw = lr_finder_history(smooth_f=0.0)
    _, smoothed = lr_finder_history(smooth_f=0.25)
    # 0.25 and 1 - 0.25 are exact in binary, so both codes multiply the same numbers: bit-equal.
    np.testing.assert_array_equal(ewma_from_first(raw, beta=0.75), smoothed)
    # torch-lr-finder's default smooth_f=0.05: 1 - 0.95 is not exactly 0.05, hence rtol.
    _, smoothed = lr_finder_history(smooth_f=0.05)
    np.testing.assert_allclose(ewma_from_first(raw, beta=0.95), smoothed, rtol=1e-13)


def test_smooth_dispatches_by_name():
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
    np.testing.assert_array_equal(smooth(values, 0.7, "debiased"), ewma(values, 0.7))
    np.testing.assert_array_equal(smooth(values, 0.7, "biased"), ewma(values, 0.7, debias=False))
    np.testing.assert_array_equal(smooth(values, 0.7, "from-first"), ewma_from_first(values, 0.7))
    assert len({tuple(smooth(values, 0.7, c)) for c in SMOOTHING_CONVENTIONS}) == 3


def test_unknown_convention_lists_the_choices():
    with pytest.raises(
        ValueError, match="convention must be one of 'debiased', 'biased', 'from-first'"
    ):
        smooth([1.0, 2.0], 0.9, "fastai")


def test_empty_input_gives_an_empty_curve():
    for convention in SMOOTHING_CONVENTIONS:
        assert smooth([], 0.9, convention).shape == (0,)


@pytest.mark.parametrize("function", [ewma, ewma_from_first])
@pytest.mark.parametrize("beta", [-0.1, 1.0, 1.5, float("nan")])
def test_beta_outside_zero_one_is_named(function, beta):
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        function([1.0, 2.0], beta)


@pytest.mark.parametrize("function", [ewma, ewma_from_first])
def test_beta_must_be_a_number(function):
    with pytest.raises(TypeError, match="beta must be a number"):
        function([1.0, 2.0], "0.9")


@pytest.mark.parametrize("function", [ewma, ewma_from_first])
def test_two_dimensional_input_is_refused(function):
    with pytest.raises(ValueError, match=r"values must be one-dimensional, got shape \(2, 3\)"):
        function(np.ones((2, 3)), 0.9)
