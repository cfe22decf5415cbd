"""Studies: small settings, real properties (stability limits, spreads, determinism, shapes)."""

import numpy as np
import pytest
import torch

from lrwidgets.core import SUGGESTION_METHODS
from lrwidgets.problems import get_problem
from lrwidgets.studies import (
    TrainingGrid,
    best_lr,
    curve_minimum_lr,
    range_test_gap,
    suggestion_spread,
    train_at_lrs,
)
from lrwidgets.training import range_test, repeat_range_test


def plain_sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.0)


@pytest.fixture(scope="module")
def bowl():
    return get_problem("quadratic", n=256, batch_size=64, condition=10.0)


@pytest.fixture(scope="module")
def spirals():
    return get_problem("spirals", n_per_arm=64)


def test_best_trained_lr_on_the_bowl_is_below_the_stability_limit(bowl):
    limit = bowl.extras["stability_limit"]
    lrs = limit * np.array([0.05, 0.2, 0.5, 0.8, 1.5, 3.0])
    grid = train_at_lrs(bowl, lrs, epochs=4, seeds=(0, 1), optimizer_factory=plain_sgd)
    assert best_lr(grid, "train_loss") < limit
    assert np.all(best_lr(grid, "train_loss", per_seed=True) < limit)
    assert grid.diverged[lrs > 2 * limit].all()
    assert not grid.diverged[lrs < limit].any()


def test_momentum_moves_the_limit_to_2_1_plus_mu_over_lambda_max():
    """Full batch: at 1.5 x 2/lambda_max plain GD blows up, heavy ball (mu = 0.9, the default)
    converges; past 2 (1 + mu) / lambda_max heavy ball blows up too."""
    bowl = get_problem("quadratic", n=256, batch_size=256, condition=10.0)
    gd_limit = bowl.extras["stability_limit"]
    heavy_ball_limit = bowl.extras["momentum_stability_limit"]
    plain = train_at_lrs(bowl, [1.5 * gd_limit], epochs=60, optimizer_factory=plain_sgd)
    heavy_ball = train_at_lrs(bowl, [1.5 * gd_limit, 1.05 * heavy_ball_limit], epochs=60)
    assert plain.diverged.all()
    assert list(heavy_ball.diverged[:, 0]) == [False, True]
    assert heavy_ball.train_loss[0, 0] < 1.05 * bowl.extras["min_loss"]


def test_grid_shapes_metrics_and_determinism(spirals):
    lrs = [0.01, 0.1, 1.0]
    a = train_at_lrs(spirals, lrs, epochs=1, seeds=(0, 1), schedule="one_cycle")
    b = train_at_lrs(spirals, lrs, epochs=1, seeds=(0, 1), schedule="one_cycle")
    for name in ("train_loss", "val_loss", "val_accuracy"):
        values = getattr(a, name)
        assert values.shape == (3, 2)
        assert np.array_equal(values, getattr(b, name), equal_nan=True)
    assert np.all((a.val_accuracy >= 0) & (a.val_accuracy <= 1))
    assert a.default_metric == "val_loss"
    assert a.mean().shape == (3,)
    assert best_lr(a) in lrs


def test_seeds_change_the_outcome(spirals):
    grid = train_at_lrs(spirals, [0.1], epochs=1, seeds=(0, 1))
    assert grid.train_loss[0, 0] != grid.train_loss[0, 1]


def test_regression_has_no_accuracy(bowl):
    grid = train_at_lrs(bowl, [0.1], epochs=1)
    assert np.isnan(grid.val_accuracy).all()
    assert np.isfinite(grid.val_loss).all()


def hand_grid(**metrics):
    shape = (3, 2)
    arrays = {name: np.full(shape, np.nan) for name in ("train_loss", "val_loss", "val_accuracy")}
    arrays.update(metrics)
    return TrainingGrid(
        lrs=np.array([0.01, 0.1, 1.0]),
        seeds=(0, 1),
        schedule="constant",
        epochs=1,
        initial_loss=np.full(2, 10.0),
        diverged=np.isnan(arrays["train_loss"]),
        **arrays,
    )


def test_best_lr_averages_seeds_and_rules_out_divergence():
    train = np.array([[1.0, 1.0], [0.5, np.nan], [0.6, 0.4]])
    accuracy = np.array([[0.5, 0.9], [0.8, 0.8], [0.7, 0.6]])
    grid = hand_grid(train_loss=train, val_accuracy=accuracy)
    assert best_lr(grid, "train_loss") == 1.0  # lr 0.1 lost a seed to divergence
    assert list(best_lr(grid, "train_loss", per_seed=True)) == [0.1, 1.0]
    assert best_lr(grid, "val_accuracy") == 0.01  # the highest mean accuracy among valid lrs


def test_spread_is_zero_for_identical_results(spirals):
    result = range_test(
        spirals.make_model(0), spirals.train_data, spirals.loss_fn, seed=0, progress=False
    )
    spreads = suggestion_spread([result, result, result])
    assert set(spreads) <= set(SUGGESTION_METHODS)
    assert spreads
    for spread in spreads.values():
        assert spread.decades == 0.0
        assert spread.log10_std == 0.0
        assert spread.geometric_mean == pytest.approx(spread.values[0])


def test_spread_over_seeds(spirals):
    results = repeat_range_test(
        spirals.make_model,
        spirals.train_data,
        seeds=(0, 1, 2),
        vary="init",
        loss_fn=spirals.loss_fn,
        progress=False,
    )
    spreads = suggestion_spread(results)
    for method, spread in spreads.items():
        values = np.array([r.suggestions().get(method, np.nan) for r in results])
        assert np.array_equal(spread.values, values, equal_nan=True)
        finite = values[np.isfinite(values)]
        assert spread.decades >= 0.0
        assert spread.decades == pytest.approx(np.log10(finite.max() / finite.min()))
        assert finite.min() <= spread.geometric_mean * (1 + 1e-12)
        assert spread.geometric_mean <= finite.max() * (1 + 1e-12)
    assert any(s.decades > 0 for s in spreads.values())


def test_curve_minimum_is_the_lowest_smoothed_point(spirals):
    result = range_test(
        spirals.make_model(0), spirals.train_data, spirals.loss_fn, seed=0, progress=False
    )
    smoothed = result.smoothed()
    finite = np.isfinite(smoothed)
    assert curve_minimum_lr(result) == result.lrs[finite][np.argmin(smoothed[finite])]


def test_range_test_gap_on_the_bowl(bowl):
    lrs = np.logspace(-2, 1, 7)
    report = range_test_gap(bowl, seeds=(0, 1), lrs=lrs, epochs=2, num_iter=60)
    assert len(report.range_tests) == 2
    assert report.metric == "val_loss"
    assert "curve minimum" in report.gaps
    assert set(report.gaps) - {"curve minimum"} <= set(SUGGESTION_METHODS)
    best = best_lr(report.grid, "val_loss", per_seed=True)
    for gap in report.gaps.values():
        assert np.array_equal(gap.best, best)
        assert np.allclose(gap.gap, np.log10(gap.suggested / gap.best), equal_nan=True)
        assert gap.mean_gap == pytest.approx(np.nanmean(gap.gap))
    # the best lr trains stably: below the heavy-ball limit 2 (1 + 0.9) / lambda_max
    assert np.all(best < bowl.extras["momentum_stability_limit"])
    assert "gap (decades)" in str(report)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(schedule="cosine"), ValueError, "schedule must be one of 'constant', 'one_cycle'"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(seeds=()), ValueError, "seeds"),
        (dict(lrs=[]), ValueError, "lrs"),
        (dict(lrs=[0.1, -1.0]), ValueError, "lrs"),
    ],
)
def test_train_at_lrs_rejects_bad_arguments(bowl, kwargs, error, match):
    kwargs = {"lrs": [0.1], **kwargs}
    with pytest.raises(error, match=match):
        train_at_lrs(bowl, **kwargs)


def test_bad_metric_and_empty_results():
    grid = hand_grid(train_loss=np.ones((3, 2)))
    with pytest.raises(ValueError, match="metric must be one of 'train_loss'"):
        best_lr(grid, "accuracy")
    with pytest.raises(ValueError, match="results"):
        suggestion_spread([])
