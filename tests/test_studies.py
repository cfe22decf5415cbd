"""Studies: small settings, real properties (stability limits, spreads, determinism, shapes)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from lrwidgets.core import SUGGESTION_METHODS
from lrwidgets.problems import get_problem
from lrwidgets.studies import (
    OPTIMIZER_CHOICES,
    Comparison,
    TrainingGrid,
    batch_size_study,
    best_lr,
    best_lr_per_seed,
    bias_and_variance,
    budget_study,
    crossed_range_tests,
    curve_minimum_lr,
    optimizer_study,
    range_test_gap,
    source_moves,
    study_settings,
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
    assert np.all(best_lr_per_seed(grid, "train_loss") < limit)
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
    a = train_at_lrs(spirals, lrs, epochs=1, seeds=(0, 1), policy="one_cycle")
    b = train_at_lrs(spirals, lrs, epochs=1, seeds=(0, 1), policy="one_cycle")
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
        policy="constant",
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
    assert list(best_lr_per_seed(grid, "train_loss")) == [0.1, 1.0]
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


def test_crossed_range_tests_change_one_source_per_seed(spirals):
    """Each seed's "init" run differs from its reference in the weights only, its "order" run
    in the batch order only; source_moves measures each against the seed's own reference."""
    kwargs = dict(loss_fn=spirals.loss_fn, num_iter=40, progress=False)
    runs = crossed_range_tests(
        spirals.make_model, spirals.train_data, seeds=(0, 3), partner=50, **kwargs
    )
    for seed, ref, init, order in zip((0, 3), *runs.values(), strict=True):
        run = lambda weights, batches: range_test(  # noqa: E731
            spirals.make_model(weights), spirals.train_data, seed=batches, **kwargs
        )
        assert np.array_equal(ref.losses, run(seed, seed).losses)
        assert np.array_equal(init.losses, run(50 + seed, seed).losses)
        assert np.array_equal(order.losses, run(seed, 50 + seed).losses)
    moves = source_moves(runs, "minimum")
    reference = np.log10([r.suggestion("minimum") for r in runs["reference"]])
    for source in ("init", "order"):
        expected = np.abs(np.log10([r.suggestion("minimum") for r in runs[source]]) - reference)
        assert np.allclose(moves[source], expected) and np.all(moves[source] >= 0)
    with pytest.raises(ValueError, match="partner"):
        crossed_range_tests(spirals.make_model, spirals.train_data, seeds=(0,), partner=0)


def test_curve_minimum_is_the_lowest_smoothed_point(spirals):
    result = range_test(
        spirals.make_model(0), spirals.train_data, spirals.loss_fn, seed=0, progress=False
    )
    smoothed = result.smoothed()
    finite = np.isfinite(smoothed)
    assert curve_minimum_lr(result) == result.lrs[finite][np.argmin(smoothed[finite])]
    # trimmed as fastai trims: the first num_iter // 10 and the last 5 points left out
    kept = slice(result.num_iter // 10, len(smoothed) - 5)
    lrs, curve = result.lrs[kept], smoothed[kept]
    lowest = lrs[np.isfinite(curve)][np.argmin(curve[np.isfinite(curve)])]
    assert curve_minimum_lr(result, skip_start=None, skip_end=None) == lowest
    assert curve_minimum_lr(result, skip_start=30) >= result.lrs[30]


def test_range_test_gap_on_the_bowl(bowl):
    lrs = np.logspace(-2, 1, 7)
    report = range_test_gap(bowl, seeds=(0, 1), lrs=lrs, epochs=2, num_iter=60)
    assert len(report.range_tests) == 2
    assert report.metric == "val_loss"
    assert "curve minimum" in report.gaps
    assert set(report.gaps) - {"curve minimum"} <= set(SUGGESTION_METHODS)
    best = best_lr_per_seed(report.grid, "val_loss")
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
        (dict(policy="cosine"), ValueError, "policy must be one of 'constant', 'one_cycle'"),
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


# -- comparisons, budgets, settings --------------------------------------------------------------
def test_grid_at_best_score_at_and_plateau_by_hand():
    val = np.array([[0.50, 0.70], [0.20, 0.24], [0.21, 0.30]])
    grid = hand_grid(train_loss=np.ones((3, 2)), val_loss=val)
    grid.default_metric = "val_loss"
    assert grid.best() == 0.1  # means 0.6, 0.22, 0.255
    assert list(grid.at_best()) == [0.20, 0.24]
    assert list(grid.score_at(0.09)) == [0.20, 0.24]  # nearest on a log scale
    assert list(grid.score_at(0.02)) == [0.50, 0.70]  # 2x from 0.01, 5x from 0.1
    assert np.isnan(grid.score_at(20.0)).all()  # outside the grid: not measured
    assert list(grid.plateau(0.10)) == [0.1]  # 0.255 > 0.22 * 1.1
    assert list(grid.plateau(0.20)) == [0.1, 1.0]  # 0.255 <= 0.264
    with pytest.raises(ValueError, match="margin"):
        grid.plateau(-0.1)


def test_step_costs_are_one_grid_step_either_side_of_the_best_by_hand():
    val = np.array([[0.50, 0.70], [0.20, 0.24], [0.21, 0.30]])
    grid = hand_grid(train_loss=np.ones((3, 2)), val_loss=val)
    below, above = grid.step_costs("val_loss")  # best row 1 (lr 0.1)
    assert below == pytest.approx([0.30, 0.46]) and above == pytest.approx([0.01, 0.06])
    train = np.array([[0.5, 0.5], [0.2, 0.2], [np.nan, 0.1]])  # seed 0 diverged at lr 1
    below, above = hand_grid(train_loss=train).step_costs("train_loss")  # best row 1
    assert below == pytest.approx([0.3, 0.3]) and np.isinf(above[0]) and above[1] < 0
    rising = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]])  # best at the grid's low end
    below, above = hand_grid(train_loss=rising).step_costs("train_loss")
    assert np.isnan(below).all() and above == pytest.approx([0.1, 0.1])


def test_comparison_is_each_side_at_its_own_best():
    a = hand_grid(train_loss=np.array([[0.5, 0.6], [0.2, 0.3], [0.9, 0.9]]))
    b = hand_grid(train_loss=np.array([[0.9, 0.9], [0.4, 0.4], [0.1, 0.4]]))
    comparison = Comparison({"a": a, "b": b}, "train_loss")
    assert comparison.best("a") == 0.1
    assert comparison.best("b") == 1.0  # mean 0.25 beats 0.4
    mean, std = comparison.difference("a", "b")
    assert mean == pytest.approx(np.mean([0.2 - 0.1, 0.3 - 0.4]))
    assert std == pytest.approx(np.std([0.1, -0.1]))
    table = str(comparison)
    assert "best lr" in table and "plateau" in table
    with pytest.raises(ValueError, match="grids"):
        Comparison({})


def test_costs_are_the_loss_at_the_suggestion_minus_at_the_best(bowl):
    lrs = np.logspace(-2, 1, 7)
    report = range_test_gap(bowl, seeds=(0, 1), lrs=lrs, epochs=2, num_iter=60)
    score = report.grid.score(report.metric)
    best_row = int(np.argmin(score.mean(axis=1)))
    for name, cost in report.costs().items():
        for j, lr in enumerate(report.gaps[name].suggested):
            if not lrs[0] <= lr <= lrs[-1]:
                assert np.isnan(cost[j])
                continue
            nearest = int(np.argmin(np.abs(np.log10(lrs) - np.log10(lr))))
            assert cost[j] == pytest.approx(score[nearest, j] - score[best_row, j])
    assert report.costs()  # one entry per rule
    assert "cost" in str(report)


def test_budget_study_shares_the_range_tests_and_counts_steps(bowl):
    lrs = np.logspace(-2, 0.5, 5)
    study = budget_study(bowl, (1, 2), lrs=lrs, seeds=(0, 1), num_iter=40, progress=False)
    assert study.steps == {1: 4, 2: 8}  # 256 examples / batch 64 = 4 steps per epoch
    assert study.range_test_steps == 40
    curves = [r.losses for r in study.reports[1].range_tests]
    for a, b in zip(curves, [r.losses for r in study.reports[2].range_tests], strict=True):
        assert np.array_equal(a, b)
    # each budget's grid is exactly train_at_lrs with that many epochs
    reference = train_at_lrs(bowl, lrs, epochs=2, seeds=(0, 1), policy="one_cycle")
    assert np.array_equal(study.reports[2].grid.val_loss, reference.val_loss)
    assert "2 epochs = 8 steps" in str(study)
    with pytest.raises(ValueError, match="epochs"):
        budget_study(bowl, (0,), lrs=lrs, progress=False)
    # another schedule judged against the same range tests: given, not run again
    constant = budget_study(
        bowl,
        (1,),
        lrs=lrs,
        seeds=(0, 1),
        policy="constant",
        range_tests=study.range_tests,
        progress=False,
    )
    assert all(a is b for a, b in zip(constant.range_tests, study.range_tests, strict=True))
    assert constant.reports[1].grid.policy == "constant"
    with pytest.raises(ValueError, match="one range test per seed"):
        budget_study(bowl, (1,), lrs=lrs, seeds=(0, 1), range_tests=study.range_tests[:1])


def test_settings_are_plain_range_tests_and_trainings(bowl):
    """study_settings = repeat_range_test + train_at_lrs with the setting's problem and
    optimizer, nothing more: compared with those calls written out."""
    lrs = [0.05, 0.5]
    small = replace(bowl, batch_size=16)
    study = batch_size_study(
        bowl, (16,), lrs=lrs, epochs=1, seeds=(0, 1), num_iter=30, progress=False
    )
    assert list(study.grids) == ["batch 16"]
    reference = train_at_lrs(small, lrs, epochs=1, seeds=(0, 1))
    assert np.array_equal(study.grids["batch 16"].train_loss, reference.train_loss)
    for seed, result in zip((0, 1), study.range_tests["batch 16"], strict=True):
        expected = range_test(
            small.make_model(seed),
            small.train_data,
            small.loss_fn,
            batch_size=16,
            num_iter=30,
            seed=seed,
            progress=False,
        )
        assert np.array_equal(result.losses, expected.losses)
    minima = [curve_minimum_lr(r) for r in study.range_tests["batch 16"]]
    assert study.curve_minimum("batch 16") == pytest.approx(np.sqrt(minima[0] * minima[1]))
    assert study.best("batch 16") == best_lr(reference, "val_loss")
    assert "batch 16" in str(study)


def test_setting_moves_are_per_seed_log_ratios(bowl):
    """moves(a, b): seed by seed, log10 of how far the best lr and the curve minimum move."""
    lrs = [0.02, 0.2, 2.0]
    study = batch_size_study(
        bowl, (16, 128), lrs=lrs, epochs=2, seeds=(0, 1, 2), num_iter=40, progress=False
    )
    best, curve = study.moves("batch 16", "batch 128")
    assert best.shape == curve.shape == (3,)
    for name in ("batch 16", "batch 128"):
        grid = study.grids[name]
        assert np.array_equal(study.best_per_seed(name), best_lr_per_seed(grid, study.metric))
        minima = [curve_minimum_lr(r) for r in study.range_tests[name]]
        assert np.array_equal(study.curve_minima(name), minima)
    own = {n: study.best_per_seed(n) for n in study.grids}
    assert np.allclose(best, np.log10(own["batch 128"] / own["batch 16"]))
    minima = {n: study.curve_minima(n) for n in study.grids}
    assert np.allclose(curve, np.log10(minima["batch 128"] / minima["batch 16"]))
    assert set(np.round(best, 9)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}  # the grid is a decade apart


def test_optimizer_choices_and_study(bowl):
    model = torch.nn.Linear(3, 1)
    built = {name: factory(model) for name, factory in OPTIMIZER_CHOICES.items()}
    assert built["SGD, momentum 0.9"].defaults["momentum"] == 0.9
    assert built["SGD, momentum 0"].defaults["momentum"] == 0.0
    assert isinstance(built["Adam"], torch.optim.Adam)
    study = optimizer_study(
        bowl,
        {"plain": plain_sgd},
        lrs=[0.1, 1.0],
        epochs=1,
        seeds=(0,),
        num_iter=30,
        progress=False,
    )
    reference = train_at_lrs(bowl, [0.1, 1.0], epochs=1, optimizer_factory=plain_sgd)
    assert np.array_equal(study.grids["plain"].train_loss, reference.train_loss)
    with pytest.raises(TypeError, match="optimizers"):
        optimizer_study(bowl, {"bad": 3}, progress=False)
    with pytest.raises(ValueError, match="settings"):
        study_settings({}, progress=False)
    with pytest.raises(ValueError, match="batch_sizes"):
        batch_size_study(bowl, (0,), progress=False)


def test_batch_size_moves_the_best_lr_on_the_bowl():
    """The gradient-noise floor: with a larger batch (less noise per step) the best constant lr
    over the same number of steps is at least as large."""
    bowl = get_problem("quadratic", n=256, condition=10.0)
    lrs = np.logspace(-2, 0, 9)
    study = study_settings(
        {
            "batch 8": (replace(bowl, batch_size=8), None),
            "full batch": (replace(bowl, batch_size=256), None),
        },
        lrs,
        epochs=1,
        seeds=(0, 1),
        metric="train_loss",
        num_iter=30,
        progress=False,
    )
    assert study.best("full batch") > study.best("batch 8")


def test_bias_and_variance_formulas(spirals):
    results = repeat_range_test(
        spirals.make_model,
        spirals.train_data,
        seeds=range(6),
        loss_fn=spirals.loss_fn,
        progress=False,
    )
    report = bias_and_variance(results, best=0.1, pool=3)
    for rule, bias in report.bias.items():
        logs = np.log10([r.suggestion(rule) for r in results])
        assert report.single_std[rule] == pytest.approx(logs.std())
        assert report.pooled_std[rule] == pytest.approx(np.std([logs[:3].mean(), logs[3:].mean()]))
        assert bias == pytest.approx(logs.mean() + 1.0)
    assert "bias" in str(report)
    with pytest.raises(ValueError, match="pool"):
        bias_and_variance(results, best=0.1, pool=4)
    with pytest.raises(ValueError, match="best"):
        bias_and_variance(results, best=0.0)


def test_a_study_counts_its_flat_curves_in_one_warning_instead_of_one_per_curve():
    from lrwidgets.core import UnreliableCurveWarning, lr_sweep
    from lrwidgets.studies import suggestions_by_run
    from lrwidgets.training import RangeTestResult

    lrs = lr_sweep(1e-5, 1.0, 100)
    noise = np.random.default_rng(0).normal(0, 0.05, size=(3, 100))
    falling = np.linspace(2.0, 0.5, 100)
    curves = [2.0 + noise[0], 2.0 + noise[1], falling + noise[2]]  # two flat, one that falls
    results = [RangeTestResult(lrs=lrs, losses=c, planned_lrs=lrs) for c in curves]
    assert [r.unreliable() is not None for r in results] == [True, True, False]
    with pytest.warns(UnreliableCurveWarning) as caught:
        found = suggestions_by_run(results, "minimum", None)
    assert [str(w.message)[:48] for w in caught] == [
        "2 of 3 range tests never fall clearly below thei"
    ]
    expected = [r.suggestions(warn=False)["minimum"] for r in results]
    np.testing.assert_array_equal(found, expected)
