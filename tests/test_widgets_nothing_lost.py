"""Nothing lost with the widgets' Run button (issue 17): a run in the background while the
learner goes on in the notebook shares nothing with the learner's objects: not a DataLoader's
workers, not the weights it starts from, not torch's random stream; and the suggestions shown
(and a linked ScheduleWidget's max_lr) belong to the beta shown, whenever beta moves."""

import copy
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lrwidgets.widgets.range_test as range_test_widget
from lrwidgets.core.defaults import OPTIMIZER
from lrwidgets.training import fit, range_test
from lrwidgets.training.optimizers import make_optimizer
from lrwidgets.widgets import RangeTestWidget, ScheduleWidget, TrainingWidget


def problem(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(n, 8, generator=g), torch.randint(0, 3, (n,), generator=g)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    return X, y, model


def train_step(model, optimizer, X, y):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    optimizer.step()


# -- 1. a DataLoader with persistent workers, read by the learner and by a Run at once ----------
PERSISTENT_WORKERS = """
import copy
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from lrwidgets.training import range_test
from lrwidgets.widgets import RangeTestWidget

torch.set_num_threads(1)
torch.manual_seed(0)
X, y = torch.randn(512, 8), torch.randint(0, 3, (512,))
def make_loader():
    return DataLoader(
        TensorDataset(X, y), batch_size=16, shuffle=True, num_workers=1, persistent_workers=True
    )

loader = make_loader()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
start = copy.deepcopy((model, optimizer))
settings = dict(num_iter=150, end_lr=0.01, diverge_th=1e9, seed=0)
w = RangeTestWidget(model=model, data=loader, optimizer=optimizer, backend="inline", **settings)
w.run_button.click()
epochs = batches = 0
while w.runner.running or epochs < 2:  # the learner's own epochs, meanwhile
    for xb, yb in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
        batches += 1
    epochs += 1
w.runner.join(60)
assert w.runner.error is None, repr(w.runner.error)
assert w.result.steps == 150, w.result.steps
assert batches == epochs * len(loader), (batches, epochs)  # every epoch whole
print("learner's epochs during the run:", epochs)
# the same test alone, on a twin of the loader as it was (not yet read: no worker iterator)
alone = range_test(start[0], make_loader(), None, start[1], progress=False, **settings)
np.testing.assert_array_equal(w.result.losses, alone.losses)
print("both read the loader whole, the curve is the solo run's")
"""


def test_a_run_and_the_learner_read_one_persistent_worker_loader_without_sharing_it():
    """Run in the background on the learner's DataLoader (``num_workers=1``,
    ``persistent_workers=True``) while the learner trains on it: both read every batch of
    their epochs, and the widget's curve is that of the same test run alone."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PERSISTENT_WORKERS)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "the curve is the solo run's" in done.stdout, (done.stdout, done.stderr[-3000:])


# -- 5. TrainingWidget(model=m) while the learner trains m -------------------------------------
def test_every_training_run_starts_from_the_model_as_it_was_when_run_was_pressed():
    X, y, model = problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = copy.deepcopy((model, optimizer))
    w = TrainingWidget(model=model, data=(X, y), optimizer=optimizer, epochs=3, backend="inline")
    w.neighbours.value = True  # three runs, one after the other
    runs = w.runs()
    w.run_button.click()
    while w.runner.running:  # the learner trains their model meanwhile
        train_step(model, optimizer, X[:32], y[:32])
    assert w.runner.error is None, repr(w.runner.error)
    assert list(w.histories) == list(runs)
    for name, lr in runs.items():
        twin, twin_optimizer = copy.deepcopy(start)
        alone = fit(
            twin,
            (X, y),
            optimizer=twin_optimizer,
            epochs=3,
            schedule=lr,
            seed=0,
            progress=False,
        )
        np.testing.assert_array_equal(w.histories[name].loss, alone.loss, err_msg=name)


# -- 7. torch's random stream: the learner's thread and a seeded run in the background ----------
def test_a_seeded_background_run_and_the_learners_random_draws_do_not_see_each_other():
    """While a Run (seed=0, a model with dropout) goes on, the learner draws torch.rand in the
    kernel's thread: the draws are those of their own stream, before, during and after the
    run, and the widget's curve is that of the same test run alone."""
    X, y, model = problem()
    twin = copy.deepcopy(model)
    settings = dict(num_iter=200, end_lr=0.1, diverge_th=1e9, seed=0)
    w = RangeTestWidget(model=model, data=(X, y), backend="inline", **settings)
    torch.manual_seed(123)
    expected = torch.Generator().manual_seed(123)  # the learner's stream, drawn alone
    w.run_button.click()
    draws = 0
    while w.runner.running or draws < 50:
        assert torch.equal(torch.rand(4), torch.rand(4, generator=expected)), draws
        draws += 1
    assert w.runner.error is None, repr(w.runner.error)
    for _ in range(10):  # the stream was not put back to an older state after the run
        assert torch.equal(torch.rand(4), torch.rand(4, generator=expected))
    optimizer = make_optimizer(OPTIMIZER, twin.parameters())  # the widget's default
    alone = range_test(twin, (X, y), optimizer=optimizer, progress=False, **settings)
    np.testing.assert_array_equal(w.result.losses, alone.losses)


# -- 8. beta moved while a background run ends ---------------------------------------------------
def test_the_suggestions_and_the_schedules_max_lr_follow_the_beta_shown(monkeypatch):
    """Drawing is slowed down so that beta moves while the run's last drawing goes on; after
    every run the suggestions, the summary and the linked ScheduleWidget's max_lr belong to the
    beta the slider shows."""
    draw = range_test_widget.update_range_test

    def slow_draw(*args, **kwargs):
        time.sleep(0.003)
        return draw(*args, **kwargs)

    monkeypatch.setattr(range_test_widget, "update_range_test", slow_draw)
    X, y, model = problem()
    w = RangeTestWidget(model=model, data=(X, y), backend="inline", num_iter=40, seed=0)
    schedule = ScheduleWidget(range_test=w, backend="inline")
    betas = [0.5, 0.9, 0.7, 0.98, 0.6]
    for run in range(6):
        w.run_button.click()
        i = run
        while w.runner.running:
            w.beta.value = betas[i % len(betas)]
            i += 1
            time.sleep(0.005)
        assert w.runner.error is None, repr(w.runner.error)
        beta = w.beta.value
        expected = w.result.suggestions(
            beta, skip_start=w.skip_start.value, skip_end=w.skip_end.value, warn=False
        )
        assert w.suggestions == expected, (run, beta)
        assert w.suggested_lr == expected["valley"]
        assert schedule.max_lr.value == w.suggested_lr
        assert f"(beta={beta:.3g})" in w.summary.value


# -- 14. batch_size with a DataLoader ------------------------------------------------------------
@pytest.mark.parametrize("widget", [RangeTestWidget, TrainingWidget])
def test_batch_size_with_a_dataloader_is_refused_not_ignored(widget):
    X, y, model = problem()
    loader = DataLoader(TensorDataset(X, y), batch_size=32)
    with pytest.raises(ValueError, match="batch_size applies to data given as"):
        widget(model=model, data=loader, batch_size=16, backend="inline")
    widget(model=model, data=(X, y), batch_size=16, backend="inline").close()  # (X, y): fine
