"""The rules named after a peer give that peer's answer on the same recorded curve.

fastai (``fastai/callback/schedule.py``, ``fastai/learner.py``) is not installed here: its sweep,
its recorder, its four rules and the trimming of ``Learner.lr_find`` are written out below, step
for step as fastai does them, on numpy arrays instead of torch tensors. torch-lr-finder is
installed: its own ``LRFinder`` answers for ``steepest`` and its pipeline.
"""

import contextlib
import io
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidgets.core import (
    SUGGESTION_RULES,
    ewma,
    fastai_skips,
    lr_sweep,
    suggest_lr,
    torch_lr_finder_curve,
)
from lrwidgets.core.defaults import OPTIMIZER
from lrwidgets.problems import get_problem
from lrwidgets.training import RangeTestResult, make_optimizer, range_test


# -- fastai's rules, as written in fastai.callback.schedule -----------------------------------
def fastai_valley_index(losses):
    """The longest-valley rule; returns fastai's index, which may be -1 (Python: the last)."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def fastai_valley(lrs, losses):
    return float(lrs[fastai_valley_index(losses)])


def fastai_slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


def fastai_minimum(lrs, losses):
    return float(lrs[losses.argmin()]) / 10


def fastai_steep(lrs, losses):
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    return float(lrs[grads.argmin()])


FASTAI_RULES = {
    "valley": fastai_valley,
    "slide": fastai_slide,
    "minimum": fastai_minimum,
    "steep": fastai_steep,
}


def fastai_sweep(start_lr, end_lr, num_it):
    """fastai's rates: ``LRFinder.before_batch`` sets ``SchedExp(start_lr, end_lr)`` at
    pos = train_iter / num_it (train_iter = 0, 1, ...), i.e. start * (end / start) ** pos."""
    return [start_lr * (end_lr / start_lr) ** (i / num_it) for i in range(num_it)]


def fastai_record(lrs, raw, num_it):
    """What ``learn.recorder`` holds after ``lr_find``, given the loss of every batch: its
    (lrs, smoothed losses), one per batch.

    ``Recorder.after_batch`` records ``AvgSmoothLoss``'s debiased EWMA (beta 0.98; the formula
    of ``core.ewma``), then ``LRFinder.after_batch`` stops when smooth > 4 * best (best: the
    lowest so far, this batch included) or after num_it batches. A NaN stops nothing
    (``nan > 4 * best`` is False) and the EWMA stays NaN from there on.
    """
    smoothed = ewma(raw, 0.98)
    best = math.inf
    for count, smooth in enumerate(smoothed, start=1):
        if smooth < best:
            best = smooth
        if smooth > 4 * best or count >= num_it:
            break
    return np.asarray(lrs)[:count], smoothed[:count]


def fastai_record_of(result, lrs=None):
    """fastai's record for the losses ``result`` saw: the same up to its last step, and NaN
    after a NaN loss (the weights are NaN from there on). ``lrs``: fastai's rates (default:
    the result's planned ones)."""
    lrs = result.planned_lrs if lrs is None else lrs
    untaken = result.num_iter - result.steps
    raw = np.r_[result.losses, np.full(untaken, np.nan)]
    return fastai_record(lrs, raw, result.num_iter)


def fastai_window(recorded_lrs, recorded_losses, num_it):
    """``lr_find``'s trimming: ``recorder.lrs[num_it//10:-5]`` and the same of its losses,
    then everything from the first NaN on dropped."""
    lrs = np.asarray(recorded_lrs)[num_it // 10 : -5]
    losses = np.asarray(recorded_losses)[num_it // 10 : -5]
    nan_idxs = np.flatnonzero(np.isnan(losses))
    if len(nan_idxs) > 0:
        drop_idx = nan_idxs.min()
        lrs, losses = lrs[:drop_idx], losses[:drop_idx]
    return lrs, losses


def fastai_lr_find_suggestion(recorded_lrs, recorded_losses, num_it, rule):
    """What ``Learner.lr_find(num_it=num_it, suggest_funcs=(rule,))`` returns for a recorder
    holding these lrs and (smoothed) losses."""
    return FASTAI_RULES[rule](*fastai_window(recorded_lrs, recorded_losses, num_it))


def expected_answer(recorded_lrs, recorded_losses, num_it, rule):
    """fastai's answer, except where its valley index is -1: we clamp to the first point."""
    lrs, losses = fastai_window(recorded_lrs, recorded_losses, num_it)
    if rule == "valley" and fastai_valley_index(losses) == -1:
        return float(lrs[0])
    return FASTAI_RULES[rule](lrs, losses)


# -- recorded curves ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded():
    """Range tests on the course problems (digits-mlp, spirals, the bowl), three seeds each."""
    from lrwidgets import get_problem, range_test

    results = []
    for name, num_iter in [("digits-mlp", 100), ("spirals", 100), ("quadratic", 150)]:
        problem = get_problem(name)
        for seed in range(3):
            results.append(
                range_test(
                    problem.make_model(seed),
                    problem.train_data,
                    problem.loss_fn,
                    num_iter=num_iter,
                    batch_size=problem.batch_size,
                    seed=seed,
                    progress=False,
                    device="cpu",
                )
            )
    return results


@pytest.mark.parametrize("rule", list(FASTAI_RULES))
def test_fastai_rules_give_lr_finds_answer_on_recorded_curves(recorded, rule):
    for result in recorded:
        # fastai's Recorder keeps the debiased EWMA (beta 0.98) that its divergence rule saw.
        lrs, curve = fastai_record_of(result)
        np.testing.assert_array_equal(curve, result.smoothed_losses)  # it stops where we stop
        ours = result.suggestion(rule, warn=False)
        assert ours == expected_answer(lrs, curve, result.num_iter, rule)


def test_default_trimming_is_lr_finds_and_changes_the_answer(recorded):
    assert fastai_skips(100) == (10, 5)
    assert fastai_skips(250) == (25, 5)
    changed = 0
    for result in recorded:
        assert result.skips() == (result.num_iter // 10, 5)
        whole = result.suggestion("valley", skip_start=0, skip_end=0, warn=False)
        assert whole == suggest_lr(result.lrs, result.smoothed(), "valley")
        changed += whole != result.suggestion("valley", warn=False)
    assert changed >= 1  # the issue found 1.4-2x apart on most curves


# -- synthetic curves ------------------------------------------------------------------------
def synthetic_losses(rng, num_iter):
    """The loss of every batch of a sweep: a plateau, a fall, a blow-up, batch noise, and in
    half the runs NaN from a random step on (the weights went NaN)."""
    u = np.linspace(0.0, 1.0, num_iter)
    fall, rise = np.sort(rng.uniform(0.1, 1.0, 2))
    clean = 2.0 - rng.uniform(0.2, 1.5) * np.tanh(rng.uniform(3, 30) * (u - fall))
    clean += rng.uniform(0, 50) * np.maximum(0.0, u - rise) ** 2
    raw = clean * np.exp(rng.uniform(0.0, 0.3) * rng.normal(size=num_iter)) * rng.uniform(0.1, 3)
    if rng.random() < 0.5:
        raw[int(rng.integers(0, num_iter)) :] = np.nan
    return raw


def recorded_by_range_test(raw, num_iter):
    """What ``range_test`` records of these losses: every step up to the first non-finite loss
    or the first smoothed loss above 4x its best, that step included."""
    smoothed = ewma(raw, 0.98)
    stops = ~np.isfinite(raw) | (smoothed > 4 * np.fmin.accumulate(smoothed))
    steps = int(np.argmax(stops)) + 1 if stops.any() else num_iter
    planned = lr_sweep(1e-7, 10.0, num_iter)
    return RangeTestResult(lrs=planned[:steps], losses=raw[:steps], planned_lrs=planned)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), num_iter=st.sampled_from([60, 100, 137, 200]))
def test_fastai_rules_give_lr_finds_answer_on_synthetic_runs(seed, num_iter):
    raw = synthetic_losses(np.random.default_rng(seed), num_iter)
    result = recorded_by_range_test(raw, num_iter)
    lrs, curve = fastai_record(result.planned_lrs, raw, num_iter)  # fastai goes on after a NaN
    usable = len(fastai_window(lrs, curve, num_iter)[1])
    for rule in FASTAI_RULES:
        needed = 16 if rule == "slide" else 3  # fewer: fastai fails with an IndexError
        if usable < needed:
            with pytest.raises(ValueError, match="after trimming"):
                result.suggestion(rule, warn=False)
            continue
        assert result.suggestion(rule, warn=False) == expected_answer(lrs, curve, num_iter, rule)


# -- a loss that turns NaN -------------------------------------------------------------------
def regression_batches(num_batches, nan_at):
    """Batches of a linear regression, in order; the targets of batch ``nan_at`` are NaN, so
    the loss turns NaN at that step."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for i in range(num_batches):
        x = torch.randn(16, 3, generator=g)
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3 * torch.randn(16, 1, generator=g)
        batches.append((x, torch.full_like(y, math.nan) if i == nan_at else y))
    return batches


def nan_run(nan_at):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    batches = regression_batches(100, nan_at)
    return range_test(model, batches, torch.nn.MSELoss(), start_lr=1e-5, end_lr=0.5, progress=False)


@pytest.mark.parametrize("nan_at", [40, 70, 90, 94, 95, 97, 99])
def test_a_loss_that_turns_nan_is_trimmed_as_lr_find_trims_it(nan_at):
    result = nan_run(nan_at)
    assert result.steps == nan_at + 1 and np.isnan(result.losses[-1])  # stopped at the NaN
    assert result.stop_reason == "loss is not finite (nan)"
    lrs, curve = fastai_record_of(result)  # fastai: NaN to step 100, [10:-5], cut at the NaN
    assert len(curve) == 100 and np.isnan(curve[nan_at:]).all()
    kept = fastai_window(lrs, curve, 100)[1]
    assert len(kept) == min(nan_at, 95) - 10  # every finite point before the NaN, up to -5
    for rule in FASTAI_RULES:
        assert result.suggestion(rule, warn=False) == expected_answer(lrs, curve, 100, rule)
    # the steps not taken come off skip_end first, also for an explicit skip_end
    assert result.skips() == result.skips(10, 5) == (10, max(0, 5 - (99 - nan_at)))
    assert result.skips(0, 0) == (0, 0)


def test_dropping_the_last_5_recorded_points_after_a_nan_would_differ():
    result = nan_run(60)
    lrs, curve = fastai_record_of(result)
    naive = {
        rule: suggest_lr(result.lrs, result.smoothed(), rule, skip_start=10, skip_end=5)
        for rule in FASTAI_RULES
    }
    fastai = {rule: expected_answer(lrs, curve, 100, rule) for rule in FASTAI_RULES}
    ours = result.suggestions(warn=False)
    assert {rule: ours[rule] for rule in FASTAI_RULES} == fastai
    assert naive != fastai  # the 4 finite points before the NaN move the answers


@settings(max_examples=100, deadline=None)
@given(losses=st.lists(st.integers(0, 20).map(float), min_size=3, max_size=40))
def test_rules_equal_fastais_on_any_curve_given_whole(losses):
    lrs = lr_sweep(1e-4, 1.0, len(losses))
    x = np.array(losses)
    for rule, fastai_rule in FASTAI_RULES.items():
        if rule == "slide" and len(x) < 16:
            continue
        if rule == "valley" and fastai_valley_index(x) == -1:
            assert suggest_lr(lrs, x, "valley") == lrs[0]  # the documented clamp
            continue
        assert suggest_lr(lrs, x, rule) == fastai_rule(lrs, x), rule


def test_valley_clamps_where_fastai_wraps_to_the_last_point():
    lrs = lr_sweep(1e-4, 1.0, 5)
    # The longest valley is the first two points: fastai's index is -1 + int(2/3) + int(1/3).
    rising = np.array([2.0, 1.0, 3.0, 4.0, 5.0])
    assert fastai_valley_index(rising) == -1
    assert fastai_valley(lrs, rising) == lrs[-1]
    assert suggest_lr(lrs, rising, "valley") == lrs[0]


def test_steep_is_a_forward_difference_returning_the_left_point():
    lrs = lr_sweep(1e-3, 1.0, 7)
    losses = np.array([5.0, 5.0, 5.0, 2.0, 0.0, 0.0, 0.0])  # steepest step: index 2 to 3
    assert suggest_lr(lrs, losses, "steep") == lrs[2]
    # the central difference (torch-lr-finder) is steepest at 3: (0 - 5) / 2 < (2 - 5) / 2
    assert suggest_lr(lrs, losses, "steepest") == lrs[3]


def test_slide_needs_its_window():
    lrs = lr_sweep(1e-3, 1.0, 15)
    with pytest.raises(ValueError, match="slide needs at least 16 points, got 15"):
        suggest_lr(lrs, np.linspace(2, 1, 15), "slide")


def test_rules_are_one_table_of_documented_functions():
    for name, rule in SUGGESTION_RULES.items():
        assert rule.__name__ == name
        assert rule.__doc__ and ("fastai" in rule.__doc__ or "torch-lr-finder" in rule.__doc__)


# -- fastai's sweep: endpoint=False ----------------------------------------------------------
def test_endpoint_false_is_fastais_sweep_to_the_last_bit():
    for start_lr, end_lr, num_iter in [(1e-7, 10.0, 100), (1e-5, 1.0, 37), (1e-3, 3.0, 250)]:
        fastai = fastai_sweep(start_lr, end_lr, num_iter)
        assert lr_sweep(start_lr, end_lr, num_iter, endpoint=False).tolist() == fastai
    assert fastai_sweep(1e-7, 10.0, 100)[-1] == pytest.approx(8.318, abs=1e-3)  # never 10
    linear = lr_sweep(1e-3, 1.0, 10, "linear", endpoint=False)
    assert linear.tolist() == [1e-3 + (1.0 - 1e-3) * (i / 10) for i in range(10)]
    with pytest.raises(TypeError, match="endpoint must be True or False"):
        lr_sweep(1e-3, 1.0, 10, endpoint="fastai")


def digits_range_test(**kwargs):
    problem = get_problem("digits-mlp")
    return range_test(
        problem.make_model(0),
        problem.train_data,
        problem.loss_fn,
        batch_size=problem.batch_size,
        seed=0,
        progress=False,
        device="cpu",
        **kwargs,
    )


def test_fastais_arguments_give_fastais_rates_and_answers():
    result = digits_range_test(endpoint=False)  # lr_find's defaults: 1e-7 to 10 in 100 steps
    rates = fastai_sweep(1e-7, 10.0, 100)
    assert result.planned_lrs.tolist() == rates
    assert result.lrs.tolist() == rates[: result.steps]
    lrs, curve = fastai_record_of(result, rates)
    for rule in FASTAI_RULES:
        assert result.suggestion(rule, warn=False) == expected_answer(lrs, curve, 100, rule)
    default = digits_range_test()  # torch-lr-finder's sweep: the same arguments reach 10
    assert default.planned_lrs[-1] == 10.0
    assert default.suggestions(warn=False) != result.suggestions(warn=False)


def test_the_widget_and_the_command_line_pass_endpoint_through(capsys):
    from lrwidgets.__main__ import main
    from lrwidgets.widgets import RangeTestWidget

    w = RangeTestWidget("quadratic", backend="inline", num_iter=20, endpoint=False)
    w.run()
    assert w.result.planned_lrs.tolist() == fastai_sweep(1e-7, 10.0, 20)
    w.close()
    assert main(["range-test", "--problem", "quadratic", "--num-iter", "40", "--no-endpoint"]) == 0
    out = capsys.readouterr().out
    problem = get_problem("quadratic")
    model = problem.make_model(0)
    expected = range_test(
        model,
        problem.train_data,
        problem.loss_fn,
        make_optimizer(OPTIMIZER, model.parameters()),
        num_iter=40,
        endpoint=False,
        batch_size=problem.batch_size,
        seed=0,
        progress=False,
    )
    for method, lr in expected.suggestions(warn=False).items():
        assert f"{method:>8}: {lr:.3g}" in out


# -- torch-lr-finder's steepest --------------------------------------------------------------
def torch_lr_finder_suggestion(lrs, losses, skip_start, skip_end):
    """torch-lr-finder's own ``LRFinder.plot(suggest_lr=True)`` on a history we give it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    import torch_lr_finder

    model = torch.nn.Linear(1, 1)
    finder = torch_lr_finder.LRFinder(
        model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss(), device="cpu"
    )
    finder.history = {"lr": list(lrs), "loss": list(losses)}
    fig, ax = plt.subplots()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        _, lr = finder.plot(skip_start=skip_start, skip_end=skip_end, suggest_lr=True, ax=ax)
    plt.close(fig)
    return lr


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_steepest_is_torch_lr_finders_rule(mode):
    rng = np.random.default_rng(1)
    for num_iter in (40, 100):
        lrs = lr_sweep(1e-5, 1.0, num_iter, mode)
        losses = 2 - np.tanh(np.linspace(-3, 3, num_iter)) + 0.05 * rng.normal(size=num_iter)
        for skip_start, skip_end in [(10, 5), (0, 0), (3, 1)]:
            expected = torch_lr_finder_suggestion(lrs, losses, skip_start, skip_end)
            ours = suggest_lr(lrs, losses, "steepest", skip_start=skip_start, skip_end=skip_end)
            assert ours == expected


def range_test_on(parts, **kwargs):
    """``range_test`` on ``tiny_regression()``'s model, optimizer and batches, from 1e-4."""
    model, optimizer, loader = parts
    mse = torch.nn.MSELoss()
    return range_test(model, loader, mse, optimizer, start_lr=1e-4, progress=False, **kwargs)


@pytest.mark.parametrize(("end_lr", "num_iter"), [(10.0, 100), (3.0, 100), (1.0, 60)])
def test_torch_lr_finder_suggestion_is_torch_lr_finders_number(
    tiny_regression, lr_finder_history, end_lr, num_iter
):
    # torch-lr-finder's defaults: smooth_f 0.05, stop at 5x, plot(suggest_lr=True) trims 10 / 5
    lrs, losses = lr_finder_history(0.05, diverge_th=5, end_lr=end_lr, num_iter=num_iter)
    theirs = torch_lr_finder_suggestion(lrs, losses, 10, 5)
    # the same model, optimizer and batches
    result = range_test_on(tiny_regression(), end_lr=end_lr, num_iter=num_iter, diverge_th=5)
    assert result.torch_lr_finder_suggestion() == theirs
    curve, stopped = torch_lr_finder_curve(result.losses)
    np.testing.assert_allclose(curve, losses, rtol=1e-12)  # its record, step for step
    assert stopped == (len(losses) < num_iter)
    np.testing.assert_array_equal(result.lrs[: len(lrs)], lrs)  # the same rates, to the bit
    if stopped:  # our own stop (debiased EWMA) came later: steepest on our curve differs
        assert result.suggestion("steepest", warn=False) != theirs


def test_torch_lr_finder_suggestion_refuses_a_test_that_ended_first(tiny_regression):
    # diverge_th 1.5 stops in the first noisy steps, long before torch-lr-finder's 5x
    result = range_test_on(tiny_regression(), end_lr=10.0, diverge_th=1.5)
    assert result.stopped_early and not torch_lr_finder_curve(result.losses)[1]
    with pytest.raises(ValueError, match="before torch-lr-finder would have stopped"):
        result.torch_lr_finder_suggestion()
