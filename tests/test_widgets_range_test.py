"""RangeTestWidget driven from Python: set controls, run, look at w.result and the figure."""

import io
import threading
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lrwidgets.core import lr_sweep, smooth
from lrwidgets.problems import get_problem
from lrwidgets.training import range_test
from lrwidgets.widgets import RangeTestWidget
from lrwidgets.widgets.pins import MAX_LABEL, pin_labels


def regression(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)
    return X, y[:, None]


class Count:
    """A counter that copies of a model share (the widget tests a deep copy of the model)."""

    value = 0

    def __deepcopy__(self, memo):
        return self


class Counted(nn.Module):
    """A linear model that counts its forward calls, its copies' included (and can be slowed
    down)."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3, 1)
        self.count = Count()
        self.delay = delay

    @property
    def calls(self) -> int:
        return self.count.value

    def forward(self, x):
        self.count.value += 1
        if self.delay:
            time.sleep(self.delay)
        return self.linear(x)


def widget(backend="ipympl", delay=0.0, **defaults):
    model = Counted(delay)
    defaults = {"num_iter": 30, "start_lr": 1e-4, "end_lr": 1.0, "batch_size": 16} | defaults
    return RangeTestWidget(model=model, data=regression(), backend=backend, **defaults), model


def by_gid(figure, gid):
    (line,) = [line for ax in figure.axes for line in ax.lines if line.get_gid() == gid]
    return line


@pytest.fixture
def ran():
    w, model = widget()
    w.run()
    yield w, model
    w.close()


def test_run_draws_the_result_of_range_test_with_the_controls_values(ran):
    w, model = ran
    result = w.result
    assert result.steps == 30 or result.stopped_early
    np.testing.assert_array_equal(result.planned_lrs, lr_sweep(1e-4, 1.0, 30, "exp"))
    np.testing.assert_array_equal(by_gid(w.figure, "raw").get_ydata(), result.losses)
    np.testing.assert_array_equal(
        by_gid(w.figure, "smoothed-debiased").get_ydata(), result.smoothed()
    )
    np.testing.assert_array_equal(by_gid(w.figure, "taken").get_ydata(), result.lrs)
    assert w.progress.value == result.steps
    assert w.message.value == ""


def test_the_custom_model_is_left_untouched():
    w, model = widget()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    w.run()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    w.close()


@pytest.mark.parametrize("backend", ["ipympl", "inline"])
def test_beta_resmooths_the_stored_losses_without_training(backend):
    w, model = widget(backend)
    w.run()
    calls, image = model.calls, bytes(getattr(w.view.widget, "value", b""))
    w.beta.value = 0.9
    assert model.calls == calls
    line = by_gid(w.figure, "smoothed-debiased")
    np.testing.assert_array_equal(line.get_ydata(), w.result.smoothed(0.9))
    assert w.suggestions == w.result.suggestions(0.9, warn=False)
    assert w.suggested_lr == w.result.suggestions(0.9, warn=False)["valley"]
    if backend == "inline":
        assert bytes(w.view.widget.value) not in (image, b"")  # a new PNG
    w.close()


def test_smoothing_checkboxes(ran):
    w, model = ran
    calls = model.calls
    w.debias.value = False
    biased = by_gid(w.figure, "smoothed-biased")
    assert biased.get_visible() and not by_gid(w.figure, "smoothed-debiased").get_visible()
    np.testing.assert_array_equal(biased.get_ydata(), w.result.smoothed(w.beta.value, debias=False))
    w.show_conventions.value = True
    for convention in ("debiased", "biased", "from-first"):
        line = by_gid(w.figure, f"smoothed-{convention}")
        assert line.get_visible()
        expected = smooth(w.result.losses, w.beta.value, convention)
        np.testing.assert_array_equal(line.get_ydata(), expected)
    w.show_raw.value = False
    assert not by_gid(w.figure, "raw").get_visible()
    w.show_smoothed.value = False
    assert not by_gid(w.figure, "smoothed-from-first").get_visible()
    assert model.calls == calls


def test_suggestion_markers_and_the_suggested_lr(ran):
    w, _ = ran
    found = w.result.suggestions(w.beta.value, warn=False)
    assert found, "the curve is long enough for every method"
    for method, lr in found.items():
        assert by_gid(w.figure, f"suggestion-{method}").get_xdata()[0] == lr
    seen = []
    w.observe(lambda change: seen.append(change["new"]), "suggested_lr")
    for method in ("minimum", "steep", "valley"):
        w.method.value = method
        assert w.suggested_lr == found[method]
    assert seen[-1] == found["valley"]
    assert "valley" in w.summary.value


def test_a_curve_too_short_for_suggestions_suggests_nothing():
    w, _ = widget(num_iter=2)
    w.run()
    assert w.suggestions == {} and w.suggested_lr is None
    assert "suggests <b>nothing</b>" in w.summary.value
    assert not any(by_gid(w.figure, f"suggestion-{m}").get_visible() for m in ("steep", "valley"))
    w.close()


def test_mode_toggle_changes_the_sweep_and_the_axes(ran):
    w, _ = ran
    loss_ax, lr_ax = w.figure.axes
    assert loss_ax.get_xscale() == "log" and lr_ax.get_yscale() == "log"
    w.mode.value = "linear"
    w.run()
    assert w.result.mode == "linear"
    np.testing.assert_array_equal(
        by_gid(w.figure, "planned").get_ydata(), lr_sweep(1e-4, 1.0, 30, "linear")
    )
    assert loss_ax.get_xscale() == "linear" and lr_ax.get_yscale() == "linear"


def test_invalid_settings_show_a_message_and_keep_the_result(ran):
    w, _ = ran
    result = w.result
    w.start_lr.value = 10.0
    with pytest.raises(ValueError, match="start_lr must be < end_lr"):
        w.run()
    assert "start_lr must be &lt; end_lr" in w.message.value
    assert w.result is result
    w.run_button.click()  # the button: the same check, no exception out of the thread
    w.runner.join(10)
    assert isinstance(w.runner.error, ValueError)
    assert "start_lr must be &lt; end_lr" in w.message.value
    assert w.result is result and not w.runner.running
    w.start_lr.value = 1e-4
    w.run()
    assert w.message.value == "" and w.result is not result


def test_the_run_button_runs_in_the_background_and_stop_stops_it():
    w, model = widget(delay=0.01, num_iter=400)
    result = w.result
    assert w.runner.start()
    assert w.runner.running and w.run_button.disabled
    deadline = time.monotonic() + 20
    while w.progress.value < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    thread = w.runner.thread
    assert not w.runner.start(), "a second Run while running starts nothing"
    w.run_button.click()
    assert w.runner.thread is thread
    with pytest.raises(RuntimeError, match="already going on"):
        w.run()
    w.stop_button.click()
    w.runner.join(20)
    assert not thread.is_alive() and not w.runner.running
    assert w.result is not result
    assert w.result.stop_reason == "stopped"  # a Stop press, not "stopped by callback"
    assert 3 <= w.result.steps < 400
    assert model.calls == w.result.steps + 1  # one run: a forward per step, one trial first
    w.close()


def test_the_plot_updates_while_the_test_runs():
    w, _ = widget()
    w.view.min_interval = 0.0
    seen = []
    draw = w.view.draw
    w.view.draw = lambda now=False, only=None, live=False: (
        seen.append(len(by_gid(w.figure, "raw").get_xdata())),
        draw(now, only, live),
    )
    w.run()
    assert len(seen) > 3 and seen == sorted(seen) and seen[-1] == w.result.steps
    w.close()


def test_a_built_in_problem_runs_what_range_test_runs():
    w = RangeTestWidget("quadratic", backend="ipympl", num_iter=20, seed=3, optimizer_name="sgd")
    assert w.batch_size.value == get_problem("quadratic").batch_size
    w.run()
    problem = get_problem("quadratic")
    model = problem.make_model(3)
    expected = range_test(
        model,
        problem.train_data,
        problem.loss_fn,
        torch.optim.SGD(model.parameters(), lr=1e-3),
        num_iter=20,
        seed=3,
        batch_size=problem.batch_size,
        progress=False,
    )
    np.testing.assert_array_equal(w.result.losses, expected.losses)
    w.problem.value = "digits-mlp"
    assert w.batch_size.value == get_problem("digits-mlp").batch_size
    w.close()


def test_a_custom_optimizer_is_used_and_the_optimizer_choice_is_off():
    model = Counted()
    steps = []

    class SpySGD(torch.optim.SGD):
        def step(self, closure=None):
            steps.append(self.param_groups[0]["lr"])
            return super().step(closure)

    optimizer = SpySGD(model.parameters(), lr=0.123)
    w = RangeTestWidget(
        model=model, data=regression(), optimizer=optimizer, backend="ipympl", num_iter=20
    )
    assert w.problem.value == "custom" and w.optimizer_name.disabled
    w.run()
    assert steps == list(w.result.lrs)
    assert optimizer.param_groups[0]["lr"] == 0.123  # restored by range_test
    w.problem.value = "quadratic"
    assert not w.optimizer_name.disabled and w.optimizer_name.layout.display is None
    w.close()


def test_bad_arguments():
    with pytest.raises(ValueError, match="beta must be in"):
        widget(beta=1.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'betta'"):
        widget(betta=0.9)
    with pytest.raises(ValueError, match="problem must be one of"):
        RangeTestWidget("mnist", backend="inline")
    with pytest.raises(ValueError, match="both model= and data="):
        RangeTestWidget(model=Counted(), backend="inline")
    with pytest.raises(ValueError, match="backend must be one of"):
        RangeTestWidget(backend="qt")


def test_close_closes_the_figure_and_every_control():
    w, _ = widget()
    canvas, beta, run_button = w.view.widget, w.beta, w.run_button
    w.close()
    for part in (w, canvas, canvas.toolbar, beta, run_button, beta.layout):
        assert part.comm is None
    assert not any(t.name == "lrwidgets-run" and t.is_alive() for t in threading.enumerate())


# -- pins, trimming, unreliable curves, the summary while running -------------------------------
def pinned_lines(w):
    return sorted(
        (line for ax in w.figure.axes for line in ax.lines if line.get_gid().startswith("pinned")),
        key=lambda line: line.get_gid(),
    )


def legend_texts(w):
    return [t.get_text() for t in w.artists.loss_ax.get_legend().get_texts()]


def test_pinned_curves_stay_to_compare_batch_sizes_and_optimizers():
    w, _ = widget(batch_size=16)
    with pytest.raises(ValueError, match="nothing to pin yet"):
        w.pin()
    first = w.run()
    w.pin()
    w.batch_size.value = 64
    second = w.run()
    (line,) = pinned_lines(w)
    np.testing.assert_array_equal(line.get_xdata(), first.lrs)
    np.testing.assert_array_equal(line.get_ydata(), first.smoothed(w.beta.value))
    assert line.get_label() == "batch 16"  # names what differs from this run, in words
    np.testing.assert_array_equal(by_gid(w.figure, "raw").get_ydata(), second.losses)

    w.pin()
    w.optimizer_name.value = "adam"
    w.run()
    assert [line.get_label() for line in pinned_lines(w)] == [
        "SGD + momentum, batch 16",  # what differs from the current run (Adam, batch 64)
        "SGD + momentum",
    ]
    w.beta.value = 0.9  # pinned curves re-smooth with the controls, without training
    np.testing.assert_array_equal(pinned_lines(w)[1].get_ydata(), second.smoothed(0.9))
    w.pin_label.value = "Adam"
    w.pin_button.click()
    assert w.pinned[-1] == ("Adam", w.result) and w.pin_label.value == ""
    assert "Adam" in legend_texts(w)
    w.clear_pins_button.click()
    assert w.pinned == [] and pinned_lines(w) == []
    w.close()


def test_skip_controls_trim_the_suggestions_and_follow_num_iter():
    w, _ = widget(num_iter=60)
    assert (w.skip_start.value, w.skip_end.value) == (6, 5)  # fastai's lr_find
    w.run()
    assert w.suggestions == w.result.suggestions(w.beta.value, warn=False)
    w.skip_start.value, w.skip_end.value = 0, 0
    assert w.suggestions == w.result.suggestions(w.beta.value, skip_start=0, skip_end=0, warn=False)
    w.skip_start.value = 200  # nothing left to look at: the summary says why
    assert w.suggestions == {} and "got 0 after trimming (skip_start=200" in w.summary.value
    w.skip_start.value = -1  # refused in words; the picture stays
    assert "skip_start must be an integer &gt;= 0" in w.message.value
    w.skip_start.value = 0
    assert w.message.value == "" and w.suggestions
    w.num_iter.value = 200
    assert w.skip_start.value == 20
    w.close()
    other, _ = widget(skip_start=3, num_iter=80)  # the keyword order does not matter
    assert other.skip_start.value == 3
    other.close()


def test_a_flat_curve_says_its_suggestions_are_unreliable():
    w, _ = widget(start_lr=1e-7, end_lr=1e-6)  # far too small to move the loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # words in the widget, no warning printed
        w.run()
    assert "Unreliable:" in w.summary.value and "never falls clearly" in w.summary.value
    assert "unreliable" in w.artists.loss_ax.get_title(loc="left")
    w.end_lr.value, w.batch_size.value = 1.0, 64  # full batch: a clear fall, no batch noise
    w.run()
    assert "Unreliable" not in w.summary.value
    w.close()


def test_the_summary_forgets_the_last_suggestion_while_a_new_run_goes():
    w, _ = widget(delay=0.01, num_iter=400)
    w.num_iter.value = 30
    w.run()
    assert w.suggested_lr is not None and "suggests" in w.summary.value
    w.num_iter.value = 400
    w.runner.start()
    deadline = time.monotonic() + 20
    while not (w.progress.max == 400 and w.progress.value >= 3) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.summary.value == "running..." and w.suggested_lr is None and w.suggestions == {}
    w.stop_button.click()
    w.runner.join(20)
    assert "; stopped" in w.summary.value and "by callback" not in w.summary.value
    assert "by callback" not in " ".join(legend_texts(w))
    w.close()


def dict_loader():
    """A DataLoader of dict batches, as a Hugging Face style dataset gives them."""
    X, y = regression(96)
    rows = [{"features": x, "label": t} for x, t in zip(X, y, strict=True)]
    return torch.utils.data.DataLoader(rows, batch_size=16)


def step_fn(model, batch):
    return nn.functional.mse_loss(model(batch["features"]), batch["label"])


def test_dict_batches_with_step_fn_accumulation_and_clipping_equal_range_test():
    """The widget's run is range_test with the same arguments; the user's model and optimizer
    come back bitwise; batch_size is hidden (a DataLoader batches itself), the new options show."""
    model = Counted()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    w = RangeTestWidget(
        model=model, data=dict_loader(), step_fn=step_fn, optimizer=optimizer, backend="inline",
        num_iter=15, end_lr=1.0, seed=0, accumulation_steps=2, clip_grad_norm=0.5,
    )  # fmt: skip
    assert w.batch_size.layout.display == "none"
    assert w.optimizer_name.layout.display == "none"  # the user's optimizer is used
    shown = [c for row in w.children if hasattr(row, "children") for c in row.children]
    assert w.accumulation_steps in shown and w.clip_grad_norm in shown
    result = w.run()
    twin = Counted()
    expected = range_test(
        twin, dict_loader(), None, torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9),
        step_fn=step_fn, num_iter=15, end_lr=1.0, seed=0, accumulation_steps=2,
        clip_grad_norm=0.5, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(result.losses, expected.losses)
    assert model.calls == 2 * result.steps + 1  # two batches per step, the first tried once
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    w.close()


def test_batch_size_shows_for_tensors_and_step_fn_needs_no_loss_fn():
    w, _ = widget("inline")
    assert w.batch_size.layout.display is None
    w.close()
    with pytest.raises(ValueError, match="loss_fn or step_fn"):
        RangeTestWidget(
            model=Counted(), data=dict_loader(), step_fn=step_fn, loss_fn=nn.MSELoss(),
            backend="inline",
        )  # fmt: skip


def test_pin_labels_are_plain_words_short_and_distinct():
    base = dict(problem="spirals", optimizer_name="sgd_momentum", batch_size=64, mode="exp")
    base.update(start_lr=1e-7, end_lr=10.0, num_iter=100, diverge_th=4.0, seed=0)
    base.update(accumulation_steps=1, clip_grad_norm=0.0)
    everything = dict(base, optimizer_name="adam", batch_size=16, mode="linear", seed=3)
    everything.update(start_lr=1e-5, end_lr=1.0, num_iter=50, clip_grad_norm=1.0)
    pins = [(None, everything), (None, dict(everything)), (None, dict(base, mode="linear"))]
    pins += [("a label a learner typed, much longer than forty characters", base)]
    labels = pin_labels(pins, base)
    assert labels[0].startswith("Adam, batch 16, linear sweep")
    assert labels[2] == "linear sweep"  # what differs from the current run, nothing else
    assert len(set(labels)) == len(labels)  # the same settings twice: told apart
    assert all(len(label) <= MAX_LABEL for label in labels)
    assert all("_" not in label and "=" not in label for label in labels[:3])
    assert pin_labels([(None, base), (None, dict(base))], base) == ["run 1", "run 2"]
    assert pin_labels([(None, dict(base, mode="linear"))], base) == ["linear sweep"]


def test_many_pins_keep_the_plot_wide_the_legend_short_and_a_beta_move_cheap():
    w = RangeTestWidget("spirals", backend="ipympl", seed=0, num_iter=60, end_lr=1.0)
    w.run()

    def beta_move(beta):  # the change, then the whole figure rendered as the browser gets it
        start = time.perf_counter()
        w.beta.value = beta
        w.figure.savefig(io.BytesIO(), format="png")
        return time.perf_counter() - start

    alone = min(beta_move(b) for b in (0.9, 0.95, 0.9))
    for _ in range(100):
        w._run_settings = dict(w._run_settings, seed=len(w._pins))  # pins told apart by seed
        w.pin()
    crowded = min(beta_move(b) for b in (0.95, 0.9, 0.95))
    assert len(pinned_lines(w)) == 100
    texts = legend_texts(w)
    assert len(texts) <= 12 and texts[-1].startswith("+") and texts[-1].endswith(" more")
    assert all(len(text) <= MAX_LABEL for text in texts)
    loss_ax = w.artists.loss_ax
    assert loss_ax.get_position().width >= 0.55  # in figure fractions, after the layout
    assert crowded < 2 * alone, (alone, crowded)
    w.close()
