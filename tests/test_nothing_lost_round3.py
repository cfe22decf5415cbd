"""Nothing lost, round 3 (issue 17): wrapper optimizers, lazy modules, a second Ctrl-C, a
DataLoader's own generator, grad mode, odd optimizer state, the meta device.

Each case ends one of two ways: the range test works and everything comes back bit for bit, or
it is refused up front with a ValueError naming what is wrong, and nothing has changed.
"""

import copy
import signal
import subprocess
import sys
import textwrap
import threading
from collections import defaultdict

import numpy as np
import pytest
import torch
from test_nothing_lost import assert_same, data, everything, used_model_and_optimizer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrwidgets.training import range_test
from lrwidgets.training import state as state_module
from lrwidgets.training.copies import private_copy, private_data, private_loader
from lrwidgets.training.randomness import seeded

QUICK = dict(num_iter=12, end_lr=1.0, diverge_th=1e9, progress=False)


def train_more(model, optimizer, steps=4):
    """Train a few steps and return the weights: equal weights after equal training."""
    X, y = data()
    for i in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(
            model(X[i * 16 : (i + 1) * 16]), y[i * 16 : (i + 1) * 16]
        ).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


# -- 1. a widget's private DataLoader ---------------------------------------------------------
class Uncopyable(torch.utils.data.Sampler):
    def __init__(self, n):
        self.n, self.lock = n, threading.Lock()  # a lock cannot be deep-copied

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_a_private_loader_shares_the_dataset_and_nothing_that_moves():
    X, y = data()
    generator = torch.Generator().manual_seed(3)
    loader = DataLoader(
        TensorDataset(X, y), batch_size=16, shuffle=True, generator=generator, num_workers=1,
        persistent_workers=True,
    )  # fmt: skip
    next(iter(loader))  # the learner's worker iterator exists
    state = generator.get_state()
    mine = private_loader(loader)
    assert mine.dataset is loader.dataset and mine.collate_fn is loader.collate_fn
    assert mine._iterator is None and mine.generator is not generator
    assert mine.sampler.generator is mine.generator
    assert sum(len(xb) for xb, _ in mine) == 64  # its own workers read it all ...
    assert torch.equal(generator.get_state(), state)  # ... and the learner's stream stays
    assert private_data((X, y))[0] is X  # tensors are only read: no copy
    with pytest.raises(TypeError, match="data: the run reads a private copy"):
        private_loader(DataLoader(TensorDataset(X, y), sampler=Uncopyable(64)))


# -- 2. optimizers that keep their state in an inner optimizer ---------------------------------
class Lookahead(torch.optim.Optimizer):
    """Lookahead as timm and pytorch_optimizer write it: the inner optimizer (``base``) keeps
    Adam's state, the wrapper shares its param_groups and keeps the slow weights itself."""

    def __init__(self, base, alpha=0.5, k=3):
        self.base = base
        self.param_groups = base.param_groups
        self.defaults = base.defaults
        self.state = defaultdict(dict)
        self.alpha, self.k, self.steps = alpha, k, 0
        self._optimizer_step_pre_hooks, self._optimizer_step_post_hooks = {}, {}

    def zero_grad(self, set_to_none=True):
        self.base.zero_grad(set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        self.base.step()
        self.steps += 1
        for group in self.param_groups:
            group["lookahead_steps"] = group.get("lookahead_steps", 0) + 1
            for p in group["params"]:
                slow = self.state[p].setdefault("slow", p.detach().clone())
                if self.steps % self.k == 0:
                    slow.add_(p - slow, alpha=self.alpha)
                    p.copy_(slow)


def inner_state(optimizer):
    """A copy of each parameter's state (the frozen bias has none)."""
    return [{k: v.clone() for k, v in s.items()} for s in optimizer.state.values()]


def test_a_wrapper_optimizers_inner_state_comes_back_bit_for_bit():
    model, _ = used_model_and_optimizer("sgd")
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    optimizer = Lookahead(adam)
    train_more(model, optimizer, steps=4)
    twin_model, twin_optimizer = private_copy(model, optimizer)  # (tested below)
    before, inner, outer = everything(model, adam), inner_state(adam), inner_state(optimizer)
    assert all(s["step"].item() == 4 for s in inner)

    range_test(model, data(), optimizer=optimizer, batch_size=16, **QUICK)

    assert_same(before, everything(model, adam))
    assert_same(inner, inner_state(adam))  # exp_avg, exp_avg_sq and step, bit for bit
    assert_same(outer, inner_state(optimizer))  # the wrapper's slow weights
    after, untouched = train_more(model, optimizer), train_more(twin_model, twin_optimizer)
    for a, b in zip(after, untouched, strict=True):
        assert torch.equal(a, b)


def test_a_widgets_private_copy_of_a_wrapper_optimizer_wraps_a_copy_of_the_inner_one():
    """A Run-button test copies the optimizer: the copy of a Lookahead must wrap a copy of its
    Adam (optimizer state and groups of the copied model), not lose it (``deepcopy`` of an
    optimizer keeps only its groups and state)."""
    model, _ = used_model_and_optimizer("sgd")
    optimizer = Lookahead(torch.optim.Adam(model.parameters(), lr=1e-3))
    train_more(model, optimizer, steps=4)
    twin, twin_optimizer = private_copy(model, optimizer)
    assert (
        isinstance(twin_optimizer.base, torch.optim.Adam)
        and twin_optimizer.base is not optimizer.base
    )
    assert twin_optimizer.param_groups is twin_optimizer.base.param_groups  # shared, as before
    copied = [p for g in twin_optimizer.base.param_groups for p in g["params"]]
    assert [id(p) for p in copied] == [id(p) for p in twin.parameters()]
    assert_same(inner_state(optimizer.base), inner_state(twin_optimizer.base))
    for a, b in zip(train_more(model, optimizer), train_more(twin, twin_optimizer), strict=True):
        assert torch.equal(a, b)


def test_zero_redundancy_optimizers_inner_state_comes_back(tmp_path):
    """torch's ZeroRedundancyOptimizer keeps the Adam it wraps as ``.optim`` (built here in a
    one-rank gloo process group)."""
    dist = torch.distributed
    from torch.distributed.optim import ZeroRedundancyOptimizer

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        model, _ = used_model_and_optimizer("sgd")
        optimizer = ZeroRedundancyOptimizer(
            model.parameters(), optimizer_class=torch.optim.Adam, lr=1e-3
        )
        train_more(model, optimizer, steps=4)
        inner = inner_state(optimizer.optim)
        assert inner and all(s["step"].item() == 4 for s in inner)
        weights = [p.detach().clone() for p in model.parameters()]
        range_test(model, data(), optimizer=optimizer, batch_size=16, **QUICK)
        assert_same(inner, inner_state(optimizer.optim))
        assert_same(weights, [p.detach().clone() for p in model.parameters()])
    finally:
        dist.destroy_process_group()


# -- 3. lazy modules, and buffers registered as None ------------------------------------------
def test_a_lazy_module_before_its_first_forward_is_refused_and_left_lazy():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(ValueError, match="model has lazy modules"):
        range_test(model, data(), **QUICK)
    assert isinstance(model[0], nn.LazyLinear)
    assert nn.parameter.is_lazy(model[0].weight)
    assert model(data()[0]).shape == (64, 3)  # and it still works afterwards
    range_test(model, data(), **QUICK)  # once initialised, it can be tested


class Remembers(nn.Module):
    """Fills a buffer registered as None in forward, and registers a new one."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.register_buffer("last_mean", None)

    def forward(self, x):
        self.last_mean = x.mean(0)
        if "calls" not in self._buffers:
            self.register_buffer("calls", torch.zeros(()), persistent=False)
        self.calls += 1
        return self.lin(x)


def test_a_buffer_registered_as_none_is_none_again_and_a_new_one_is_gone():
    model = Remembers()
    range_test(model, data(), **QUICK)
    assert "last_mean" in model._buffers and model.last_mean is None
    assert "calls" not in model._buffers and "calls" not in model._non_persistent_buffers_set
    assert list(model.state_dict()) == ["lin.weight", "lin.bias"]


# -- 4. a second interrupt during the restore -------------------------------------------------
def test_an_interrupt_during_the_restore_waits_until_everything_is_back(monkeypatch):
    """The first Ctrl-C stops the run; a second one arrives in the middle of the restore. It
    is held until the restore is done, then raised."""
    model, optimizer = used_model_and_optimizer("adam")
    before = everything(model, optimizer)
    put_back, calls = state_module.Kept.put_back, []

    def interrupted_put_back(self):
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, half way through
        return put_back(self)

    monkeypatch.setattr(state_module.Kept, "put_back", interrupted_put_back)

    def first_interrupt(step, lr, loss):
        if step == 4:
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        range_test(model, data(), optimizer=optimizer, callback=first_interrupt, **QUICK)
    assert len(calls) > 10  # the restore went on after the second interrupt
    assert_same(before, everything(model, optimizer))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


DOUBLE_INTERRUPT = """
import copy, os, signal, sys, threading, time
import torch
from torch import nn
from lrwidgets.training import range_test

torch.set_num_threads(1)
sys.setswitchinterval(1e-4)  # the thread sending the interrupts wakes when it should
torch.manual_seed(0)
X, y = torch.randn(256, 32), torch.randint(0, 4, (256,))
layers = [m for _ in range(40) for m in (nn.Linear(32, 32), nn.ReLU())]
model = nn.Sequential(*layers, nn.Linear(32, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for i in range(3):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(X[:32]), y[:32]).backward()
    optimizer.step()
before = copy.deepcopy((model.state_dict(), optimizer.state_dict()))

def two_interrupts(gap):
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(gap)
    os.kill(os.getpid(), signal.SIGINT)

held = 0
for attempt in range(24):
    gap = 0.0002 * (attempt + 1)
    sender = threading.Thread(target=two_interrupts, args=(gap,))
    sender.start()
    try:
        range_test(model, (X, y), optimizer=optimizer, num_iter=10**6, end_lr=1e-3, progress=False)
    except KeyboardInterrupt as interrupt:
        held += interrupt.__context__ is not None  # the second, held (no call: no signal check)
    settled = False
    while not settled:  # the second Ctrl-C may come after the test: wait for both
        try:
            sender.join()
            time.sleep(0.01)
            settled = True
        except KeyboardInterrupt:
            pass
    for a, b in zip(before[0].values(), model.state_dict().values()):
        assert torch.equal(a, b), attempt
    after = optimizer.state_dict()
    for p, s in before[1]["state"].items():
        for k, v in s.items():
            assert torch.equal(v, after["state"][p][k]), (attempt, k)
    assert before[1]["param_groups"] == after["param_groups"], attempt
print("second interrupts held until the restore was done:", held)
print("restored after every double interrupt")
"""


def test_two_real_interrupts_a_few_ms_apart_leave_everything_restored():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DOUBLE_INTERRUPT)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "restored after every double interrupt" in done.stdout, done.stderr[-3000:]


# -- 6. a DataLoader with its own generator ---------------------------------------------------
def test_a_dataloaders_own_generator_is_left_where_it_was_and_the_seed_rules_the_order():
    X, y = data()
    generator = torch.Generator().manual_seed(7)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=generator)
    state = generator.get_state()
    model, optimizer = used_model_and_optimizer("sgd")
    first = range_test(model, loader, optimizer=optimizer, seed=0, **QUICK)
    assert torch.equal(generator.get_state(), state)  # the learner's next epoch is unchanged
    next(iter(loader))  # the learner trains on: the generator moves
    second = range_test(model, loader, optimizer=optimizer, seed=0, **QUICK)
    np.testing.assert_array_equal(first.losses, second.losses)


# -- 14. grad mode, odd optimizer state, the meta device ---------------------------------------
def test_inside_no_grad_the_test_runs_with_gradients_and_leaves_grad_mode_off():
    model, optimizer = used_model_and_optimizer("sgd")
    expected = range_test(copy.deepcopy(model), data(), seed=0, **QUICK)
    with torch.no_grad():
        result = range_test(model, data(), seed=0, **QUICK)
        assert not torch.is_grad_enabled()
    np.testing.assert_array_equal(result.losses, expected.losses)


def test_inside_inference_mode_the_test_is_refused_with_nothing_changed():
    model, optimizer = used_model_and_optimizer("sgd")
    before = everything(model, optimizer)
    with (
        torch.inference_mode(),
        pytest.raises(ValueError, match="grad mode is off.*inference_mode"),
    ):
        range_test(model, data(), optimizer=optimizer, **QUICK)
    assert_same(before, everything(model, optimizer))


class CountingSGD(torch.optim.SGD):
    """Keeps a global step count in its state, beside the per-parameter entries."""

    def step(self, closure=None):
        super().step(closure)
        self.state["global_step"] = self.state.get("global_step", 0) + 1


def test_optimizer_state_holding_a_number_comes_back():
    model, _ = used_model_and_optimizer("sgd")
    optimizer = CountingSGD(model.parameters(), lr=0.01, momentum=0.9)
    train_more(model, optimizer, steps=3)
    assert optimizer.state["global_step"] == 3
    before = everything(model, optimizer)  # (its state_dict skips the step count)
    range_test(model, data(), optimizer=optimizer, **QUICK)
    assert optimizer.state["global_step"] == 3
    assert_same(before, everything(model, optimizer))


def test_a_model_on_the_meta_device_is_refused():
    model = nn.Linear(4, 3, device="meta")
    with pytest.raises(ValueError, match="model is on the meta device"):
        range_test(model, data(), **QUICK)


# -- 7. random streams across threads (the widget's case is in test_widgets_nothing_lost.py) ---
def draws():
    """One draw of each kind a run makes: shuffles, dropout, a DataLoader's seeds, inits."""
    return (
        torch.rand(3),
        torch.randperm(6),
        torch.randint(0, 9, (3,)),
        torch.randn(2),
        nn.functional.dropout(torch.ones(8), 0.5),
        torch.empty((), dtype=torch.int64).random_(),
        nn.init.kaiming_uniform_(torch.empty(2, 2)),
    )


def test_seeded_in_another_thread_draws_the_main_threads_numbers_from_a_private_stream():
    """While a thread runs seeded, the global stream the main thread sees is its own (before,
    during and after); the thread draws what the main thread draws under the same seed."""
    in_thread, inside, go = [], threading.Event(), threading.Event()

    def run():
        with seeded(5):
            in_thread.extend(draws())
            inside.set()
            go.wait(10)
            in_thread.extend(draws())

    state = torch.get_rng_state()
    thread = threading.Thread(target=run)
    thread.start()
    inside.wait(10)
    assert torch.equal(torch.get_rng_state(), state)  # not seeded under the main thread's feet
    go.set()
    thread.join()
    assert torch.equal(torch.get_rng_state(), state)  # nor put back to an older state after
    with seeded(5):
        in_main = [*draws(), *draws()]
    assert_same(in_main, in_thread)
