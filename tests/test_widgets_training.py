"""TrainingWidget: the runs, their Histories, the table, and the link to a ScheduleWidget."""

import re

import numpy as np
import pytest

from lrwidgets.core import constant, one_cycle
from lrwidgets.problems import get_problem
from lrwidgets.training import steps_per_epoch
from lrwidgets.widgets import ScheduleWidget, TrainingWidget

QUADRATIC = get_problem("quadratic")
STEPS = 2 * steps_per_epoch(QUADRATIC.train_data, QUADRATIC.batch_size)  # two epochs


def table_rows(w):
    rows = re.findall(r"<tr>(.*?)</tr>", w.table.value)
    return [re.findall(r"<td>(.*?)</td>", row) for row in rows[1:]]


def by_gid(figure, gid):
    (line,) = [line for ax in figure.axes for line in ax.lines if line.get_gid() == gid]
    return line


def test_schedule_and_constant_runs_their_histories_and_the_table():
    schedule = one_cycle(STEPS, 0.05)
    w = TrainingWidget("quadratic", schedule=schedule, epochs=2, backend="inline", neighbours=True)
    loss_ax, val_ax = w.axes  # before Run: labelled panels and what Run will do, not a blank
    assert loss_ax.get_ylabel() == "training loss" and val_ax.get_xlabel() == "epoch"
    assert any(t.get_gid() == "waiting" and "press Run" in t.get_text() for t in loss_ax.texts)
    assert w.lr.value == 0.05  # the constant lr starts at the schedule's peak
    w.lr.value = 0.01
    histories = w.run()
    assert list(histories) == list(w.runs()) and len(histories) == 4
    np.testing.assert_array_equal(histories["OneCycleLR"].lr, schedule.lr)
    for name, lr in [("constant 0.01", 0.01), ("constant 0.03 (x 3)", 0.03)]:
        np.testing.assert_allclose(histories[name].lr, lr)
    rows = table_rows(w)
    assert [row[0] for row in rows] == list(histories)
    for row, h in zip(rows, histories.values(), strict=True):
        assert row[1:4] == [str(len(h.loss)), f"{h.loss[-1]:.4g}", f"{h.val_loss[-1]:.4g}"]
    for name, h in histories.items():
        np.testing.assert_array_equal(by_gid(w.figure, f"loss-{name}").get_ydata(), h.loss)
        np.testing.assert_array_equal(by_gid(w.figure, f"val-{name}").get_ydata(), h.val_loss)
    assert w.progress.value == 4 * STEPS
    assert "Single-seed runs (seed 0)" in w.table.value  # a comparison says it is one seed
    assert not loss_ax.texts  # the waiting note left with the first run
    w.close()


def test_every_run_starts_from_the_same_model_and_batch_order():
    w = TrainingWidget("quadratic", schedule=constant(STEPS, 0.01), epochs=2, backend="ipympl")
    histories = w.run()
    assert list(histories) == ["constant", "constant 0.01"]
    np.testing.assert_array_equal(histories["constant"].loss, histories["constant 0.01"].loss)
    w.seed.value = 1
    other = w.run()["constant"].loss
    assert not np.array_equal(other, histories["constant"].loss)
    w.close()


def test_a_linked_schedule_widget_gets_the_step_count_and_gives_the_lr():
    sw = ScheduleWidget(total_steps=5, backend="ipympl")
    w = TrainingWidget("quadratic", schedule=sw, epochs=2, backend="ipympl")
    assert sw.total_steps.value == STEPS
    w.epochs.value = 3
    w.batch_size.value = 64
    assert sw.total_steps.value == 3 * steps_per_epoch(QUADRATIC.train_data, 64)
    sw.max_lr.value = 0.2
    assert w.lr.value == 0.2
    histories = w.run()
    np.testing.assert_array_equal(histories["OneCycleLR"].lr, sw.schedule.lr)
    sw.policy.value = "triangular"
    sw.base_lr.value = 0.5  # > max_lr: no valid schedule
    with pytest.raises(ValueError, match="no valid schedule"):
        w.run()
    assert "no valid schedule" in w.message.value
    w.close()
    sw.close()


def test_a_schedule_of_the_wrong_length_is_explained():
    w = TrainingWidget("quadratic", schedule=one_cycle(10, 0.1), epochs=2, backend="ipympl")
    with pytest.raises(ValueError, match="schedule has 10 steps"):
        w.run()
    assert f"total_steps={STEPS}" in w.message.value
    assert w.histories == {}
    w.close()


def test_classification_shows_the_validation_accuracy():
    w = TrainingWidget("digits-mlp", epochs=1, backend="ipympl")
    histories = w.run()
    (h,) = histories.values()
    assert w.figure.axes[1].get_ylabel() == "validation accuracy"
    (row,) = table_rows(w)
    assert row[4] == f"{h.val_accuracy[-1]:.4g}"
    np.testing.assert_array_equal(by_gid(w.figure, f"val-{row[0]}").get_ydata(), h.val_accuracy)
    w.close()


def test_stop_ends_the_runs():
    w = TrainingWidget("digits-mlp", epochs=30, backend="ipympl", neighbours=True)
    total = 3 * 30 * steps_per_epoch(get_problem("digits-mlp").train_data, 64)
    assert w.runner.start()
    w.stop_button.click()
    w.runner.join(60)
    assert not w.runner.running and w.runner.error is None
    assert sum(len(h.loss) for h in w.histories.values()) < total
    assert all(h.stop_reason == "stopped" for h in w.histories.values())
    legends = [ax.get_legend() for ax in w.figure.axes if ax.get_legend() is not None]
    listed = [t.get_text() for legend in legends for t in legend.get_texts()]
    assert listed == list(w.histories)  # runs that never trained are not listed
    assert len(w.histories) < len(w.runs())
    w.close()


def test_bad_arguments():
    with pytest.raises(ValueError, match="problem must be one of"):
        TrainingWidget("imagenet", backend="inline")
    with pytest.raises(TypeError, match="schedule must be"):
        TrainingWidget(schedule="one-cycle", backend="inline")
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        TrainingWidget(learning_rate=0.1, backend="inline")


def test_your_own_model_dict_batches_and_optimizer_left_as_they_were():
    import copy

    import torch
    from torch import nn

    from lrwidgets.training import fit

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X = torch.randn(64, 3)
    y = X.sum(dim=1, keepdim=True)
    rows = [{"x": a, "y": b} for a, b in zip(X, y, strict=True)]
    loader = torch.utils.data.DataLoader(rows, batch_size=16)

    def step_fn(model, batch):
        return nn.functional.mse_loss(model(batch["x"]), batch["y"])

    optimizer.zero_grad()
    step_fn(model, next(iter(loader))).backward()
    optimizer.step()  # the optimizer has state (Adam's moments) to carry into every run
    params = copy.deepcopy(model.state_dict())
    state = copy.deepcopy(optimizer.state_dict())

    w = TrainingWidget(
        model=model, data=loader, step_fn=step_fn, optimizer=optimizer, val_data=loader,
        epochs=2, backend="inline", lr=0.01, neighbours=True,
    )  # fmt: skip
    assert w.problem.value == "custom"
    assert w.batch_size.layout.display == "none" and w.optimizer_name.layout.display == "none"
    assert w.steps_info.value.startswith("= 8 steps")
    histories = w.run()
    assert len(histories) == 3

    # The user's objects: bitwise as they were.
    assert all(torch.equal(params[k], v) for k, v in model.state_dict().items())
    after = optimizer.state_dict()
    assert after["param_groups"] == state["param_groups"]
    for key, saved in state["state"].items():
        assert all(torch.equal(saved[n], after["state"][key][n]) for n in saved)

    # Each run is fit() on a copy of the model and the optimizer with its state.
    twin = copy.deepcopy(model)
    twin_optimizer = torch.optim.Adam(twin.parameters())
    twin_optimizer.load_state_dict(copy.deepcopy(state))
    expected = fit(
        twin, loader, None, twin_optimizer, epochs=2, schedule=3 * w.lr.value, val_data=loader,
        step_fn=step_fn, seed=0, progress=False,
    )  # fmt: skip
    got = histories["constant 0.03 (x 3)"]
    np.testing.assert_array_equal(got.loss, expected.loss)
    np.testing.assert_array_equal(got.val_loss, expected.val_loss)
    w.close()


def test_accumulation_and_clipping_controls_reach_fit():
    """The widget trains as fit(..., accumulation_steps=, clip_grad_norm=) does; the step count
    and a linked ScheduleWidget follow the accumulation."""
    from lrwidgets.training import fit

    sw = ScheduleWidget(backend="inline")
    w = TrainingWidget("quadratic", schedule=sw, epochs=2, backend="inline")
    w.accumulation_steps.value, w.clip_grad_norm.value, w.lr.value = 2, 0.5, 0.01
    per_epoch = steps_per_epoch(QUADRATIC.train_data, QUADRATIC.batch_size, 2)
    assert sw.total_steps.value == 2 * per_epoch
    assert f"({per_epoch} per epoch)" in w.steps_info.value
    history = w.run()["constant 0.01"]
    model = QUADRATIC.make_model(0)
    expected = fit(
        model,
        QUADRATIC.train_data,
        QUADRATIC.loss_fn,
        epochs=2,
        schedule=0.01,
        val_data=QUADRATIC.val_data,
        batch_size=QUADRATIC.batch_size,
        seed=0,
        progress=False,
        accumulation_steps=2,
        clip_grad_norm=0.5,
    )
    np.testing.assert_array_equal(history.loss, expected.loss)
    w.close()
    sw.close()
