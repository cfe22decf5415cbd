"""one_cycle, cyclic and constant against the lr and momentum PyTorch's schedulers set."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidgets.core import constant, cyclic, one_cycle


def optimizer(kind):
    params = [torch.nn.Parameter(torch.zeros(2))]
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1)
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def run_scheduler(opt, make_scheduler, total_steps):
    """The lr and momentum (SGD's ``momentum`` / Adam's ``betas[0]``) the optimizer holds at each
    of ``total_steps`` steps: read before each ``scheduler.step()``."""
    scheduler = make_scheduler(opt)
    group = opt.param_groups[0]
    lrs, momenta = [], []
    for _ in range(total_steps):
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        opt.step()  # no gradients: changes nothing, but keeps the step order PyTorch expects
        scheduler.step()
    return np.array(lrs), np.array(momenta)


@st.composite
def one_cycle_args(draw):
    # From 2: OneCycleLR takes one step (at its final lr), one_cycle refuses it (not a cycle).
    total_steps = draw(st.integers(2, 300))
    # Fractions k / total_steps put phase ends on steps. OneCycleLR divides by zero where a
    # phase is empty: the warm-up at 1 / total_steps, the last of three phases at
    # (total_steps + 1) / (2 total_steps) (hit by the run's last scheduler.step()).
    empty = [1 / total_steps, (total_steps + 1) / (2 * total_steps)]
    fractions = [k / total_steps for k in range(1, total_steps)]
    pct_start = draw(
        st.one_of(
            st.floats(0.01, 0.99),
            st.sampled_from([p for p in empty if p < 1]),
            st.sampled_from(fractions),
        )
    )
    return dict(
        total_steps=total_steps,
        max_lr=draw(st.floats(1e-4, 10.0)),
        pct_start=pct_start,
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.floats(1.0, 1e3)),
        final_div_factor=draw(st.floats(1.0, 1e5)),
        three_phase=draw(st.booleans()),
        base_momentum=draw(st.floats(0.0, 0.9)),
        max_momentum=draw(st.floats(0.9, 0.99)),
    )


@settings(max_examples=100, deadline=None)
@given(args=one_cycle_args(), kind=st.sampled_from(["sgd", "adam"]))
def test_one_cycle_is_onecycle_lr_step_for_step(args, kind):
    total_steps = args["total_steps"]
    try:
        lrs, momenta = run_scheduler(
            optimizer(kind),
            lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, **args),
            total_steps,
        )
    except ZeroDivisionError:  # a phase of zero length: one_cycle says so instead
        with pytest.raises(ValueError, match="leaves an empty phase"):
            one_cycle(**args)
        return
    schedule = one_cycle(**args)
    # Exact: the core evaluates PyTorch's formulas in PyTorch's order, with Python floats.
    np.testing.assert_array_equal(schedule.lr, lrs)
    np.testing.assert_array_equal(schedule.momentum, momenta)
    assert len(schedule) == schedule.total_steps == total_steps


@st.composite
def cyclic_args(draw):
    base_lr = draw(st.floats(1e-5, 1.0))
    return dict(
        base_lr=base_lr,
        max_lr=base_lr * draw(st.floats(1.0, 1e3)),
        step_size_up=draw(st.integers(1, 50)),
        step_size_down=draw(st.one_of(st.none(), st.integers(1, 50))),
        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        gamma=draw(st.floats(0.9, 1.0)),
        base_momentum=draw(st.floats(0.0, 0.9)),
        max_momentum=draw(st.floats(0.9, 0.99)),
    )


@settings(max_examples=100, deadline=None)
@given(args=cyclic_args(), total_steps=st.integers(1, 300), kind=st.sampled_from(["sgd", "adam"]))
def test_cyclic_is_cyclic_lr_step_for_step(args, total_steps, kind):
    lrs, momenta = run_scheduler(
        optimizer(kind), lambda opt: torch.optim.lr_scheduler.CyclicLR(opt, **args), total_steps
    )
    schedule = cyclic(total_steps, **args)
    np.testing.assert_array_equal(schedule.lr, lrs)  # exact, as for one_cycle
    np.testing.assert_array_equal(schedule.momentum, momenta)
    assert len(schedule) == total_steps


def test_one_cycle_written_out_for_a_linear_two_phase_case():
    total_steps, max_lr, div, final_div = 20, 1.0, 10.0, 100.0
    schedule = one_cycle(
        total_steps, max_lr, pct_start=0.25, anneal_strategy="linear", div_factor=div,
        final_div_factor=final_div, base_momentum=0.85, max_momentum=0.95,
    )  # fmt: skip
    initial, final = max_lr / div, max_lr / div / final_div
    peak = 0.25 * total_steps - 1  # the step at max_lr: 4
    lr, momentum = [], []
    for t in range(total_steps):
        if t <= peak:  # up from initial to max_lr, momentum down from 0.95 to 0.85
            pct = t / peak
            lr.append(initial + (max_lr - initial) * pct)
            momentum.append(0.95 + (0.85 - 0.95) * pct)
        else:  # down from max_lr to initial / final_div_factor on the last step
            pct = (t - peak) / (total_steps - 1 - peak)
            lr.append(max_lr + (final - max_lr) * pct)
            momentum.append(0.85 + (0.95 - 0.85) * pct)
    np.testing.assert_allclose(schedule.lr, lr, rtol=1e-12)
    np.testing.assert_allclose(schedule.momentum, momentum, rtol=1e-12)
    assert schedule.lr[0] == pytest.approx(0.1)
    assert schedule.lr[4] == max_lr
    assert schedule.lr[-1] == pytest.approx(1e-3)


def test_one_cycle_cos_peaks_and_ends_where_it_should():
    schedule = one_cycle(100, 0.5)  # PyTorch's defaults: pct_start 0.3, div 25, final_div 1e4
    assert schedule.lr[0] == pytest.approx(0.5 / 25)
    assert schedule.lr.max() == pytest.approx(0.5)
    assert np.argmax(schedule.lr) == 29
    assert schedule.lr[-1] == pytest.approx(0.5 / 25 / 1e4)
    assert schedule.momentum[29] == pytest.approx(0.85)
    assert schedule.momentum[0] == schedule.momentum[-1] == pytest.approx(0.95)


def test_cyclic_triangular_is_smiths_formula():
    # Smith (2017): cycle = floor(1 + t / (2 s)), x = |t / s - 2 cycle + 1|,
    # lr = base + (max - base) * max(0, 1 - x).
    base, top, s = 0.01, 0.1, 7
    schedule = cyclic(50, base, top, step_size_up=s)
    t = np.arange(50)
    cycle = np.floor(1 + t / (2 * s))
    x = np.abs(t / s - 2 * cycle + 1)
    np.testing.assert_allclose(schedule.lr, base + (top - base) * np.maximum(0, 1 - x), rtol=1e-12)


def test_cyclic_triangular2_halves_and_exp_range_decays():
    tri2 = cyclic(40, 0.0001, 1.0001, step_size_up=5, mode="triangular2")
    peaks = tri2.lr[5::10] - 0.0001  # heights at the top of each cycle
    np.testing.assert_allclose(peaks, [1.0, 0.5, 0.25, 0.125], rtol=1e-10)
    exp = cyclic(40, 0.0001, 1.0001, step_size_up=5, mode="exp_range", gamma=0.9)
    np.testing.assert_allclose(exp.lr[5::10] - 0.0001, 0.9 ** np.arange(5, 40, 10), rtol=1e-10)


def test_constant_is_constant_and_leaves_momentum_alone():
    schedule = constant(7, 0.03)
    np.testing.assert_array_equal(schedule.lr, np.full(7, 0.03))
    assert schedule.momentum is None
    assert len(schedule) == 7


@pytest.mark.parametrize(
    "schedule",
    [
        one_cycle(50, 0.3, pct_start=0.2, anneal_strategy="linear", three_phase=True),
        one_cycle(37, 2.0, div_factor=5.0, final_div_factor=1e3, base_momentum=0.8),
        cyclic(60, 1e-3, 0.1, step_size_up=7, step_size_down=13, mode="exp_range", gamma=0.97),
        cyclic(30, 1e-3, 0.1, step_size_up=4, mode="triangular2", max_momentum=0.95),
        constant(12, 0.05),
    ],
    ids=lambda schedule: schedule.name,
)
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_to_code_runs_the_same_schedule(schedule, kind):
    code = schedule.to_code()
    opt = optimizer(kind)
    namespace = {"optimizer": opt}
    lrs, momenta = run_scheduler(
        opt, lambda _: exec(code, namespace) or namespace["scheduler"], len(schedule)
    )
    np.testing.assert_array_equal(lrs, schedule.lr)
    if schedule.momentum is not None:
        np.testing.assert_array_equal(momenta, schedule.momentum)
    assert isinstance(namespace["scheduler"], torch.optim.lr_scheduler.LRScheduler)


@pytest.mark.parametrize(
    ("total_steps", "pct_start", "three_phase"),
    [
        (4, 0.25, False),  # pct_start * total_steps == 1: the warm-up ends at step 0
        (3, 2 / 3, True),  # the last phase starts and ends at step 2; the last
        (9, 5 / 9, True),  # scheduler.step() computes step total_steps inside it
    ],
)
def test_an_empty_phase_is_a_value_error_where_pytorch_divides_by_zero(
    total_steps, pct_start, three_phase
):
    args = dict(max_lr=0.1, total_steps=total_steps, pct_start=pct_start, three_phase=three_phase)
    with pytest.raises(ZeroDivisionError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_scheduler(
            optimizer("sgd"),
            lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, **args),
            total_steps,
        )
    with pytest.raises(ValueError, match=f"leaves an empty phase for total_steps={total_steps}"):
        one_cycle(**args)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(total_steps=1), ValueError, "total_steps must be an integer >= 2"),
        (dict(total_steps=0), ValueError, "total_steps must be an integer >= 2"),
        (dict(total_steps=10.0), TypeError, "total_steps must be an integer"),
        (dict(max_lr=0.0), ValueError, "max_lr must be a finite number > 0"),
        (dict(max_lr=-0.1), ValueError, "max_lr must be a finite number > 0"),
        (dict(max_lr=math.inf), ValueError, "max_lr must be a finite number > 0"),
        (dict(pct_start=0.0), ValueError, r"pct_start must be in \(0, 1\)"),
        (dict(pct_start=1.0), ValueError, r"pct_start must be in \(0, 1\)"),
        (dict(anneal_strategy="exp"), ValueError, "anneal_strategy must be one of 'cos', 'linear'"),
        (dict(div_factor=0.0), ValueError, "div_factor must be a finite number > 0"),
        (dict(final_div_factor=-1.0), ValueError, "final_div_factor must be a finite number > 0"),
        (dict(three_phase="yes"), TypeError, "three_phase must be True or False"),
        (dict(base_momentum=1.0), ValueError, r"base_momentum must be in \[0, 1\)"),
        (dict(max_momentum=-0.1), ValueError, r"max_momentum must be in \[0, 1\)"),
    ],
)
def test_one_cycle_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        one_cycle(**(dict(total_steps=100, max_lr=0.1) | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(total_steps=0), ValueError, "total_steps must be an integer >= 1"),
        (dict(base_lr=0.0), ValueError, "base_lr must be a finite number > 0"),
        (dict(max_lr=-1.0), ValueError, "max_lr must be a finite number > 0"),
        (dict(max_lr=1e-4), ValueError, "max_lr must be >= base_lr"),
        (dict(step_size_up=0), ValueError, "step_size_up must be an integer >= 1"),
        (dict(step_size_up=2.5), TypeError, "step_size_up must be an integer"),
        (dict(step_size_down=0), ValueError, "step_size_down must be an integer >= 1"),
        (dict(mode="cosine"), ValueError, "mode must be one of 'triangular', 'triangular2'"),
        (dict(gamma=0.0), ValueError, "gamma must be a finite number > 0"),
        (dict(base_momentum=1.2), ValueError, r"base_momentum must be in \[0, 1\)"),
        (dict(max_momentum="0.9"), TypeError, "max_momentum must be a number"),
    ],
)
def test_cyclic_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        cyclic(**(dict(total_steps=100, base_lr=1e-3, max_lr=0.1) | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(total_steps=0), ValueError, "total_steps must be an integer >= 1"),
        (dict(lr=0.0), ValueError, "lr must be a finite number > 0"),
        (dict(lr=None), TypeError, "lr must be a number"),
    ],
)
def test_constant_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        constant(**(dict(total_steps=10, lr=0.1) | kwargs))
