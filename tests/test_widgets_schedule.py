"""ScheduleWidget: the schedule is core's for the controls' values, and it follows a range test."""

import numpy as np
import pytest
import torch

from lrwidgets.core import cyclic, fastai_one_cycle, one_cycle
from lrwidgets.training import range_test
from lrwidgets.widgets import RangeTestWidget, ScheduleWidget


def assert_same(schedule, expected):
    assert schedule.name == expected.name and schedule.params == expected.params
    np.testing.assert_array_equal(schedule.lr, expected.lr)
    if expected.momentum is None:
        assert schedule.momentum is None
    else:
        np.testing.assert_array_equal(schedule.momentum, expected.momentum)


def by_gid(figure, gid):
    (line,) = [line for ax in figure.axes for line in ax.lines if line.get_gid() == gid]
    return line


def shown_controls(w):
    return [control for row in w.controls.children for control in row.children]


@pytest.fixture
def w():
    widget = ScheduleWidget(total_steps=300, backend="ipympl")
    yield widget
    widget.close()


def test_one_cycle_is_cores_with_the_controls_values_and_its_code(w):
    w.max_lr.value = 0.3
    w.pct_start.value = 0.25
    w.anneal_strategy.value = "linear"
    w.three_phase.value = True
    expected = one_cycle(
        300,
        0.3,
        pct_start=0.25,
        anneal_strategy="linear",
        div_factor=w.div_factor.value,
        final_div_factor=w.final_div_factor.value,
        three_phase=True,
        base_momentum=w.base_momentum.value,
        max_momentum=w.max_momentum.value,
    )
    assert_same(w.schedule, expected)
    assert w.code.value == expected.to_code()
    np.testing.assert_array_equal(by_gid(w.figure, "lr").get_ydata(), expected.lr)
    np.testing.assert_array_equal(by_gid(w.figure, "momentum").get_ydata(), expected.momentum)


def test_fastai_policy_is_fastai_one_cycle_with_its_own_controls_and_code(w):
    w.policy.value = "fastai_one_cycle"
    assert w.pct_start.value == 0.25  # fastai's default
    assert w.div in shown_controls(w) and w.div_final in shown_controls(w)
    assert w.div_factor not in shown_controls(w) and w.three_phase not in shown_controls(w)
    w.max_lr.value = 0.2
    w.div_final.value = 1e4
    expected = fastai_one_cycle(300, 0.2, div_final=1e4, moms=(0.95, 0.85, 0.95))
    assert_same(w.schedule, expected)
    assert w.code.value == expected.to_code()
    np.testing.assert_array_equal(by_gid(w.figure, "lr").get_ydata(), expected.lr)
    w.policy.value = "one_cycle"
    assert w.pct_start.value == 0.3 and w.schedule.name == "OneCycleLR"


def test_cyclic_policies_take_pytorchs_momentum_defaults_and_their_own_controls(w):
    assert (w.base_momentum.value, w.max_momentum.value) == (0.85, 0.95)
    w.policy.value = "triangular2"
    assert (w.base_momentum.value, w.max_momentum.value) == (0.8, 0.9)
    assert w.gamma not in shown_controls(w) and w.step_size_up in shown_controls(w)
    w.step_size_up.value = 40
    w.step_size_down.value = 20
    expected = cyclic(300, w.base_lr.value, w.max_lr.value, 40, 20, "triangular2", w.gamma.value)
    assert_same(w.schedule, expected)
    w.policy.value = "exp_range"
    assert w.gamma in shown_controls(w)
    w.step_size_down.value = 0  # 0 means "as step_size_up"
    expected = cyclic(300, w.base_lr.value, w.max_lr.value, 40, None, "exp_range", w.gamma.value)
    assert_same(w.schedule, expected)
    w.policy.value = "one_cycle"
    assert (w.base_momentum.value, w.max_momentum.value) == (0.85, 0.95)


def test_step_size_up_is_a_quarter_of_the_steps_until_set_by_hand(w):
    assert w.step_size_up.value == 75
    w.total_steps.value = 400
    assert w.step_size_up.value == 100
    w.policy.value = "triangular"
    assert w.schedule.params["step_size_up"] == 100
    w.step_size_up.value = 30
    w.total_steps.value = 800
    assert w.step_size_up.value == 30 and w.schedule.params["step_size_up"] == 30
    fixed = ScheduleWidget(total_steps=100, step_size_up=7, backend="inline")
    fixed.total_steps.value = 200
    assert fixed.step_size_up.value == 7
    fixed.close()


def test_constant_has_no_momentum(w):
    w.policy.value = "constant"
    w.lr.value = 0.02
    assert shown_controls(w) == [w.lr]
    assert w.schedule.momentum is None and np.all(w.schedule.lr == 0.02)
    assert len(by_gid(w.figure, "momentum").get_xdata()) == 0
    assert w.code.value == w.schedule.to_code()


def test_invalid_combinations_show_a_message_and_no_schedule(w):
    w.policy.value = "triangular"
    w.base_lr.value = 0.1
    w.max_lr.value = 0.01
    assert w.schedule is None and w.code.value == ""
    assert "max_lr must be &gt;= base_lr" in w.message.value
    w.max_lr.value = 0.5
    assert w.schedule is not None and w.message.value == ""
    w.total_steps.value = 0
    assert w.schedule is None and "total_steps must be an integer &gt;= 1" in w.message.value
    w.total_steps.value = 1  # a cycle can be one step long, one-cycle cannot
    assert len(w.schedule) == 1
    w.policy.value = "one_cycle"
    assert w.schedule is None and "total_steps must be an integer &gt;= 2" in w.message.value


def test_an_overflowing_exp_range_says_why_and_shows_no_stale_plot(w):
    w.total_steps.value = 2000
    w.policy.value = "exp_range"
    assert len(by_gid(w.figure, "lr").get_xdata()) == 2000
    w.gamma.value = 2.0
    assert w.schedule is None and w.code.value == ""
    assert "gamma=2.0 overflows over total_steps=2000" in w.message.value
    assert len(by_gid(w.figure, "lr").get_xdata()) == 0  # the old schedule is gone
    assert len(by_gid(w.figure, "momentum").get_xdata()) == 0
    w.gamma.value = 0.999
    assert w.message.value == "" and len(by_gid(w.figure, "lr").get_xdata()) == 2000


def test_max_lr_follows_the_range_test_widgets_suggestion():
    X = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    y = X.sum(1, keepdim=True)
    rt = RangeTestWidget(
        model=torch.nn.Linear(3, 1), data=(X, y), backend="ipympl", num_iter=40, end_lr=1.0
    )
    sw = ScheduleWidget(total_steps=200, range_test=rt, backend="ipympl")
    default = sw.max_lr.value
    rt.run()
    assert sw.max_lr.value == rt.suggested_lr != default
    assert sw.schedule.params["max_lr"] == rt.suggested_lr
    rt.beta.value = 0.5
    assert sw.max_lr.value == rt.result.suggestions(0.5)["valley"]
    rt.method.value = "minimum"
    assert sw.max_lr.value == rt.result.suggestions(0.5)["minimum"]
    pinned = ScheduleWidget(total_steps=200, range_test=rt, method="steep", backend="inline")
    assert pinned.max_lr.value == rt.suggestions["steep"]
    rt.beta.value = 0.8
    assert pinned.max_lr.value == rt.result.suggestions(0.8)["steep"]
    assert sw.max_lr.value == rt.result.suggestions(0.8)["minimum"]
    for widget in (pinned, sw, rt):
        widget.close()


def test_a_range_test_result_sets_max_lr_once():
    X = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    result = range_test(
        torch.nn.Linear(3, 1), (X, X.sum(1, keepdim=True)), num_iter=40, progress=False
    )
    w = ScheduleWidget(total_steps=100, range_test=result, backend="inline")
    assert w.max_lr.value == result.suggestion("valley")
    w.close()


def test_bad_arguments():
    with pytest.raises(ValueError, match="policy must be one of"):
        ScheduleWidget(policy="cosine", backend="inline")
    with pytest.raises(ValueError, match="pct_start must be in"):
        ScheduleWidget(pct_start=1.5, backend="inline")
    with pytest.raises(TypeError, match="range_test must be"):
        ScheduleWidget(range_test=0.1, backend="inline")
    with pytest.raises(ValueError, match="method must be one of"):
        ScheduleWidget(method="lowest", backend="inline")


def test_a_linked_cyclic_schedule_moves_base_lr_with_max_lr():
    X = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    y = X.sum(1, keepdim=True)
    rt = RangeTestWidget(
        model=torch.nn.Linear(3, 1), data=(X, y), backend="ipympl", num_iter=40, end_lr=1.0
    )
    sw = ScheduleWidget(total_steps=200, range_test=rt, policy="triangular", backend="ipympl")
    ratio = sw.base_lr.value / sw.max_lr.value
    rt.run()
    for method in ("valley", "slide", "minimum", "steep"):
        rt.method.value = method
        lr = rt.suggestions[method]
        assert sw.schedule is not None, (method, sw.message.value)
        assert sw.max_lr.value == lr
        assert sw.base_lr.value == pytest.approx(lr * ratio)  # the ratio kept
        assert sw.schedule.params["base_lr"] == pytest.approx(lr * ratio)
    for widget in (sw, rt):
        widget.close()


def test_base_lr_above_max_lr_by_hand_says_what_to_change(w):
    w.policy.value = "triangular"
    w.base_lr.value = 0.1
    w.max_lr.value = 0.01
    assert w.schedule is None
    assert "lower base_lr (e.g. max_lr / 10 = 0.001) or raise max_lr" in w.message.value
