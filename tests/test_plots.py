"""lrwidgets.plots on results, schedules and histories built from arrays (no training)."""

import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lrwidgets import plots
from lrwidgets.core import constant, lr_sweep, one_cycle, smooth
from lrwidgets.training import History, RangeTestResult


def curve(mode: str = "exp", n: int = 60, stop: int | None = None) -> RangeTestResult:
    """A range-test-like curve: flat, a valley around lr=1e-2, then a blow-up."""
    planned = lr_sweep(1e-5, 1.0, n, mode)
    x = np.log10(planned)
    rng = np.random.default_rng(0)
    losses = 1.0 + 0.5 * np.tanh(-(x + 3)) + np.exp(3 * (x + 1)) + 0.05 * rng.standard_normal(n)
    taken = n if stop is None else stop
    return RangeTestResult(
        lrs=planned[:taken],
        losses=losses[:taken],
        planned_lrs=planned,
        mode=mode,
        stopped_early=stop is not None,
        stop_reason=None if stop is None else "diverged: smoothed loss 9 > 4 x best 2",
    )


def by_gid(ax, gid):
    (line,) = [line for line in ax.lines if line.get_gid() == gid]
    return line


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


@pytest.fixture
def ax():
    return Figure().add_subplot()


def test_raw_and_smoothed_lines_hold_the_results_numbers(ax):
    result = curve()
    plots.plot_range_test(result, ax, beta=0.9)
    raw = by_gid(ax, "raw")
    np.testing.assert_array_equal(raw.get_xdata(), result.lrs)
    np.testing.assert_array_equal(raw.get_ydata(), result.losses)
    smoothed = by_gid(ax, "smoothed-debiased")
    np.testing.assert_array_equal(smoothed.get_ydata(), result.smoothed(0.9))
    assert smoothed.get_visible() and not by_gid(ax, "smoothed-biased").get_visible()
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "loss"


def test_biased_curve_and_all_three_conventions(ax):
    result = curve()
    artists = plots.draw_range_test(ax)
    plots.update_range_test(artists, result, plots.CurveView(beta=0.95, debias=False))
    biased = artists.smoothed["biased"]
    assert biased.get_visible() and not artists.smoothed["debiased"].get_visible()
    np.testing.assert_array_equal(biased.get_ydata(), result.smoothed(0.95, debias=False))
    plots.update_range_test(artists, result, plots.CurveView(beta=0.95, conventions=True))
    for convention, line in artists.smoothed.items():
        assert line.get_visible()
        np.testing.assert_array_equal(line.get_ydata(), smooth(result.losses, 0.95, convention))


def test_suggestion_markers_sit_at_the_suggestions_on_the_curve(ax):
    result = curve()
    artists = plots.draw_range_test(ax)
    found = plots.update_range_test(artists, result, plots.CurveView(beta=0.8))
    assert found == result.suggestions(0.8)
    smoothed = result.smoothed(0.8)
    for method, lr in found.items():
        marker = artists.suggestions[method]
        assert marker.get_xdata()[0] == lr
        y = marker.get_ydata()[0]
        assert smoothed.min() <= y <= smoothed.max()
        assert any(plots.format_lr(lr) in text for text in legend_texts(ax))
    plots.update_range_test(artists, result, plots.CurveView(suggestions=("valley",)))
    assert artists.suggestions["valley"].get_visible()
    assert not artists.suggestions["steep"].get_visible()
    assert all("steep" not in text for text in legend_texts(ax))


def test_hidden_lines_leave_the_legend(ax):
    artists = plots.draw_range_test(ax)
    plots.update_range_test(artists, curve(), plots.CurveView(show_raw=False, show_smoothed=False))
    assert not artists.raw.get_visible()
    assert not any(line.get_visible() for line in artists.smoothed.values())
    assert "raw loss" not in legend_texts(ax)


def test_early_stop_is_marked_where_the_test_stopped(ax):
    result = curve(stop=40)
    plots.plot_range_test(result, ax)
    stop = by_gid(ax, "stop")
    assert stop.get_visible()
    assert list(stop.get_xdata()) == [result.lrs[-1]] * 2
    assert any(text.startswith("stopped at") and "diverged" in text for text in legend_texts(ax))
    plots.plot_range_test(curve(), ax2 := Figure().add_subplot())
    assert not by_gid(ax2, "stop").get_visible()


def test_steps_skipped_by_a_grad_scaler_are_ticks_not_points_of_the_curve(ax):
    from dataclasses import replace

    result = curve()
    skipped = np.array([1e-4, 1e-3])
    plots.plot_range_test(replace(result, skipped_lrs=skipped, skipped_losses=[3.0, 3.0]), ax)
    ticks = by_gid(ax, "skipped")
    assert ticks.get_visible()
    np.testing.assert_array_equal(ticks.get_xdata(), skipped)
    np.testing.assert_array_equal(by_gid(ax, "raw").get_xdata(), result.lrs)  # not on the curve
    assert "step skipped by the GradScaler (2)" in legend_texts(ax)
    plots.plot_range_test(result, ax2 := Figure().add_subplot())
    assert not by_gid(ax2, "skipped").get_visible()


def test_linear_sweep_gets_linear_axes_and_the_lr_panel_shows_the_sweep():
    figure = Figure()
    ax, lr_ax = figure.subplots(1, 2)
    artists = plots.draw_range_test(ax, lr_ax)
    for mode, scale in (("linear", "linear"), ("exp", "log")):
        result = curve(mode, stop=30)
        plots.update_range_test(artists, result)
        assert ax.get_xscale() == scale and lr_ax.get_yscale() == scale
        np.testing.assert_array_equal(artists.planned.get_ydata(), result.planned_lrs)
        np.testing.assert_array_equal(artists.taken.get_ydata(), result.lrs)
        assert ax.get_xlim() == pytest.approx((result.planned_lrs[0], result.planned_lrs[-1]))


def test_loss_limits_keep_the_blow_up_out_of_view():
    curve_ = np.array([2.0, 1.5, 1.0, 0.5, 0.6, 50.0, np.inf])
    low, high = plots.loss_limits([curve_], diverge_th=4.0)
    assert low < 0.5 and 2.0 < high < 50.0
    assert plots.loss_limits([np.array([np.nan, np.inf])], 4.0) is None


def test_plot_without_axes_makes_a_pyplot_figure_and_result_plot_delegates():
    result = curve()
    before = plt.get_fignums()
    ax = result.plot(beta=0.5, suggestions=())
    try:
        assert len(plt.get_fignums()) == len(before) + 1
        np.testing.assert_array_equal(
            by_gid(ax, "smoothed-debiased").get_ydata(), result.smoothed(0.5)
        )
        assert not any(line.get_visible() for line in ax.lines if "suggestion" in line.get_gid())
    finally:
        plt.close(ax.figure)


def test_schedule_plot_shows_lr_and_momentum_per_step():
    schedule = one_cycle(200, 0.1)
    figure = Figure()
    lr_ax, momentum_ax = figure.subplots(2, 1)
    artists = plots.draw_schedule(lr_ax, momentum_ax)
    plots.update_schedule(artists, schedule)
    np.testing.assert_array_equal(artists.lr.get_xdata(), np.arange(200))
    np.testing.assert_array_equal(artists.lr.get_ydata(), schedule.lr)
    np.testing.assert_array_equal(artists.momentum.get_ydata(), schedule.momentum)
    assert lr_ax.get_ylim()[1] >= 0.1
    plots.update_schedule(artists, constant(50, 0.01))
    assert len(artists.momentum.get_xdata()) == 0
    assert "leaves the momentum" in artists.no_momentum.get_text()


def test_training_plot_draws_each_history():
    def history(scale):
        return History(
            lr=np.full(20, 0.1),
            momentum=np.full(20, 0.9),
            loss=scale * np.linspace(2, 1, 20),
            val_loss=scale * np.array([1.5, 1.0]),
            val_accuracy=np.array([0.5, 0.7]) / scale,
            steps_per_epoch=10,
        )

    histories = {"a": history(1.0), "b": history(2.0)}
    figure = Figure()
    loss_ax, val_ax = plots.plot_training(histories, figure.subplots(1, 2))
    for name, h in histories.items():
        np.testing.assert_array_equal(by_gid(loss_ax, f"loss-{name}").get_ydata(), h.loss)
        np.testing.assert_array_equal(by_gid(val_ax, f"val-{name}").get_ydata(), h.val_accuracy)
        np.testing.assert_array_equal(by_gid(val_ax, f"val-{name}").get_xdata(), [1, 2])
    assert val_ax.get_ylabel() == "validation accuracy"
    for h in histories.values():
        h.val_accuracy = np.full(2, np.nan)  # regression: the validation loss instead
    assert [t.get_text() for t in val_ax.get_legend().get_texts()] == ["a", "b"]
    assert loss_ax.get_legend() is None  # one legend for both panels, under the lower one
    _, val_ax = plots.plot_training(histories, Figure().subplots(1, 2))
    assert val_ax.get_ylabel() == "validation loss"
    np.testing.assert_array_equal(by_gid(val_ax, "val-b").get_ydata(), histories["b"].val_loss)


def test_colours_come_from_the_okabe_ito_palette(ax):
    plots.plot_range_test(curve(), ax, conventions=True)
    palette = {c.lower() for c in plots.OKABE_ITO.values()}
    for line in ax.lines:
        assert matplotlib.colors.to_hex(line.get_color()) in palette


def test_y_limits_keep_the_raw_dip_in_view_and_the_smoothed_curve_whole(ax):
    result = curve("linear")
    result.losses[20] = -5.0  # one batch's dip far below everything else
    artists = plots.draw_range_test(ax)
    plots.update_range_test(artists, result)
    low, high = ax.get_ylim()
    assert low < -5.0  # the dip is in view: its gap to the smoothed curve is the lag
    smoothed = result.smoothed()
    assert np.mean((smoothed >= low) & (smoothed <= high)) >= 0.9
    plots.update_range_test(artists, result, plots.CurveView(show_raw=False))
    assert ax.get_ylim()[0] > -1.0  # the raw loss hidden: its dip no longer sets the bottom


def test_skips_reach_the_suggestions_drawn(ax):
    result = curve()
    artists = plots.draw_range_test(ax)
    found = plots.update_range_test(artists, result, plots.CurveView(skip_start=0, skip_end=0))
    assert found == result.suggestions(skip_start=0, skip_end=0, warn=False)
    found = plots.update_range_test(artists, result)
    assert found == result.suggestions(warn=False)  # None: fastai's trimming
    assert by_gid(ax, "suggestion-valley").get_xdata()[0] == found["valley"]


def test_an_unreliable_curve_and_a_minimum_that_is_not_firm_say_so(ax):
    rng = np.random.default_rng(0)
    planned = lr_sweep(1e-7, 10.0, 100)
    flat = RangeTestResult(
        lrs=planned, losses=0.7 + 0.05 * rng.standard_normal(100), planned_lrs=planned
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the picture says it in words; it does not warn
        plots.plot_range_test(flat, ax)
    assert "unreliable" in ax.get_title(loc="left").lower()
    falling = RangeTestResult(
        lrs=planned, losses=3.0 - np.linspace(0, 2, 100), planned_lrs=planned
    )  # never turns up: the minimum is at the end of the sweep
    plots.plot_range_test(falling, ax2 := Figure().add_subplot())
    marker = by_gid(ax2, "suggestion-minimum")
    assert marker.get_markerfacecolor() == "none"
    assert any(t.startswith("minimum / 10") and "(not firm)" in t for t in legend_texts(ax2))
    assert (
        ax2.get_title(loc="left")
        == "minimum / 10 not firm: at the end of a sweep that never turned up"
    )
    assert by_gid(ax2, "suggestion-valley").get_markerfacecolor() != "none"


def test_pinned_curves_are_drawn_smoothed_and_replaced(ax):
    first, second = curve(), curve(stop=40)
    artists = plots.draw_range_test(ax)
    plots.update_range_test(
        artists, second, plots.CurveView(beta=0.9), pinned=[("batch_size=16", first)]
    )
    line = by_gid(ax, "pinned-0")
    np.testing.assert_array_equal(line.get_xdata(), first.lrs)
    np.testing.assert_array_equal(line.get_ydata(), first.smoothed(0.9))
    assert "batch_size=16" in legend_texts(ax)
    plots.update_range_test(artists, second)
    assert not [line for line in ax.lines if line.get_gid().startswith("pinned")]


def test_the_legend_sits_below_the_curves():
    figure = Figure(figsize=(6.0, 5.0), layout="constrained")
    ax = figure.add_subplot()
    plots.plot_range_test(curve(stop=50), ax, conventions=True)
    FigureCanvasAgg(figure).draw()  # constrained layout places everything
    legend = ax.get_legend().get_window_extent()
    axes = ax.get_window_extent()
    assert legend.y1 < axes.y0  # entirely under the Axes: it covers no curve
    assert figure.bbox.contains(legend.x0, legend.y0) and figure.bbox.contains(legend.x1, legend.y1)


def test_the_training_legend_lists_only_runs_that_trained():
    figure = Figure(figsize=(5.8, 6.0), layout="constrained")
    loss_ax, val_ax = figure.subplots(2, 1)
    artists = plots.draw_training(loss_ax, val_ax, ["one-cycle", "constant 0.1", "x 3"])
    assert val_ax.get_legend() is None  # nothing trained yet
    plots.update_training(artists, "one-cycle", np.linspace(2, 1, 30), np.array([0.6, 0.8]))
    plots.update_training(artists, "constant 0.1", np.linspace(2, 1.5, 5))  # stopped early
    assert [t.get_text() for t in val_ax.get_legend().get_texts()] == [
        "one-cycle",
        "constant 0.1",
    ]
    FigureCanvasAgg(figure).draw()
    legend = val_ax.get_legend().get_window_extent()
    assert legend.y1 < val_ax.get_window_extent().y0  # under the curves, not on them
    assert legend.y0 >= 0


# -- study results -------------------------------------------------------------------------------
def study_grid(train_loss: np.ndarray):
    from lrwidgets.studies import TrainingGrid

    n_lrs, n_seeds = train_loss.shape
    nan = np.full(train_loss.shape, np.nan)
    return TrainingGrid(
        lrs=np.logspace(-2, 0, n_lrs),
        seeds=tuple(range(n_seeds)),
        policy="constant",
        epochs=1,
        train_loss=train_loss,
        val_loss=nan,
        val_accuracy=nan,
        initial_loss=np.full(n_seeds, 1.0),
        diverged=~np.isfinite(train_loss) | (train_loss > 1.0),
    )


def test_plot_grids_draws_the_mean_over_seeds_and_marks_each_best():
    a = study_grid(np.array([[0.5, 0.7], [0.2, 0.4], [0.35, 0.35]]))
    b = study_grid(np.array([[0.9, 0.8], [0.6, 0.6], [np.nan, 0.1]]))
    ax = plots.plot_grids({"a": a, "b": b}, metric="train_loss", baseline=0.1)
    line_a, line_b = by_gid(ax, "grid-a"), by_gid(ax, "grid-b")
    assert np.allclose(line_a.get_ydata(), [0.5, 0.2, 0.25])  # mean - baseline
    assert np.isnan(line_b.get_ydata()[2])  # a diverged seed leaves a gap
    assert legend_texts(ax) == ["a (best 0.1)", "b (best 0.1)"]
    assert ax.get_xscale() == "log"
    plt.close(ax.figure)


def test_plot_curves_one_colour_per_group_and_limits_from_the_smoothed_curves():
    runs = {"first": [curve(), curve(n=80)], "second": [curve(stop=50)]}
    ax = plots.plot_curves(runs)
    assert len(ax.lines) == 3
    colours = [line.get_color() for line in ax.lines]
    assert colours[0] == colours[1] != colours[2]
    assert legend_texts(ax) == ["first", "second"]
    low, high = ax.get_ylim()
    smoothed = np.concatenate([r.smoothed() for rs in runs.values() for r in rs])
    assert low <= np.nanmin(smoothed)
    plots.mark_lrs(ax, {"here": 0.01, "there": 0.1})
    assert legend_texts(ax)[-2:] == ["here", "there"]
    plots.mark_lrs(ax, {"styled": 0.05}, styles={"styled": {"color": "red", "ls": ":"}})
    assert (ax.lines[-1].get_color(), ax.lines[-1].get_linestyle()) == ("red", ":")
    plt.close(ax.figure)


def flat_curve() -> RangeTestResult:
    rng = np.random.default_rng(0)
    planned = lr_sweep(1e-7, 10.0, 100)
    return RangeTestResult(
        lrs=planned, losses=0.7 + 0.05 * rng.standard_normal(100), planned_lrs=planned
    )


def test_a_plot_leaves_no_style_behind_for_the_learners_own_title():
    ax = flat_curve().plot()  # its doubts go in the warning colour, in the left title
    assert "unreliable" in ax.get_title(loc="left").lower()
    ax.set_title("my experiment")
    default = matplotlib.rcParams["axes.titlecolor"]
    default = matplotlib.rcParams["text.color"] if default == "auto" else default
    assert matplotlib.colors.same_color(ax.title.get_color(), default)
    other = plt.figure().add_subplot()
    other.set_title("another")
    assert matplotlib.colors.same_color(other.title.get_color(), default)
    plt.close("all")


def test_warnings_point_at_the_learners_line():
    from lrwidgets.studies.curves import suggestions_by_run

    result = flat_curve()
    calls = [
        lambda: result.suggestion(),
        lambda: result.suggestions(),
        lambda: result.schedule(100),  # two calls deeper inside lrwidgets
        lambda: suggestions_by_run([result], "valley", None),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught, call
        assert {w.filename for w in caught} == {__file__}


def test_marked_lrs_are_never_dotted_like_the_stop_line_and_panels_share_the_lr_range():
    top, bottom = Figure(layout="constrained").subplots(2, 1)
    plots.plot_range_test(curve(stop=50), bottom)
    marks = {"2/λmax": 0.3, "2(1+μ)/λmax": 0.6, "curve minimum": 0.01, "another": 0.02}
    plots.mark_lrs(bottom, marks)
    stop = by_gid(bottom, "stop")
    for name in marks:
        line = by_gid(bottom, f"mark-{name}")
        assert (line.get_linestyle(), line.get_color()) != (stop.get_linestyle(), stop.get_color())
    legend = bottom.get_legend()
    assert legend.get_bbox_to_anchor().y0 < bottom.get_window_extent().y0  # below the Axes
    top.plot([0.01, 3.2], [1.0, 2.0])
    top.set_xscale("log")
    low, high = plots.align_lr_axes([top, bottom])
    assert top.get_xlim() == bottom.get_xlim() == (low, high)
    assert low <= 1e-5 and high >= 3.2
