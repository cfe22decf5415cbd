"""A Run-button test in the background: the learner's own model is never touched while it runs,
and Python can exit in the middle of one. It all runs in one subprocess (one import of torch),
so that a crash (a dead kernel, an abort) fails the test instead of killing the test session."""

import subprocess
import sys
import textwrap

SCRIPT = """
import atexit


def after_lrwidgets_exit_handler():  # registered before lrwidgets' own, so it runs after it
    print("at exit: running", w.runner.running, "| stop reason:", w.result.stop_reason)


atexit.register(after_lrwidgets_exit_handler)

import copy
import time

import numpy as np
import torch
from torch import nn

from lrwidgets.training import range_test
from lrwidgets.widgets import RangeTestWidget

torch.set_num_threads(1)
torch.manual_seed(0)
X, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
twin, reference = copy.deepcopy((model, optimizer)), copy.deepcopy((model, optimizer))
settings = dict(num_iter=250, end_lr=0.1, diverge_th=1e9, batch_size=32, seed=0)


def train(model, optimizer, steps=200):
    for i in range(steps):
        rows = slice(i % 8 * 32, (i % 8 + 1) * 32)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X[rows]), y[rows]).backward()
        optimizer.step()


# 1. Run, then the learner's next cell trains their own model while the test goes on.
w = RangeTestWidget(model=model, data=(X, y), optimizer=optimizer, backend="inline", **settings)
w.run_button.click()
started = w.progress.value
train(model, optimizer)
during = w.progress.value
w.runner.join(60)
assert w.runner.error is None, repr(w.runner.error)
assert not w.runner.running and w.result.steps == 250
print("steps of the test while the learner trained:", started, "->", during)
assert during > started and started < 250, "the two did not overlap"
train(*twin)
for mine, alone in zip(model.parameters(), twin[0].parameters(), strict=True):
    assert torch.equal(mine, alone), "the learner's training was changed"
expected = range_test(reference[0], (X, y), None, reference[1], progress=False, **settings)
np.testing.assert_array_equal(w.result.losses, expected.losses)
print("the learner's training and the test's curve: OK")

# 2. A long run, and the script ends in the middle of it.
w.num_iter.value, w.end_lr.value = 10**6, 1e-3
w.run_button.click()
while w.progress.value < 3:
    time.sleep(0.01)
print("leaving mid-run at step", w.progress.value)
"""


def test_a_run_button_test_leaves_the_learners_model_alone_and_python_can_exit_mid_run():
    """The learner's training ends bit for bit as that of an untouched twin trained alone, the
    widget's curve is that of range_test on a third twin; at exit the run is stopped and
    joined before the interpreter goes (no abort, exit code 0)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert "terminate called" not in done.stderr
    assert "the learner's training and the test's curve: OK" in done.stdout
    assert "leaving mid-run" in done.stdout
    assert "at exit: running False | stop reason: stopped\n" in done.stdout
