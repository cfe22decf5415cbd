"""fit: the schedule the optimizer really sees, the history, epochs, determinism, learning."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrwidgets.core import constant, cyclic, one_cycle
from lrwidgets.training import fit, steps_per_epoch

QUIET = dict(progress=False, device="cpu")


def classifier(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))


def two_classes(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).long()


def spy(optimizer_class):
    """A subclass that records (lr, momentum) of every group each time step() runs."""

    class Spy(optimizer_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []

        def step(self, closure=None):
            momenta = [
                g["momentum"] if "momentum" in g else g["betas"][0] for g in self.param_groups
            ]
            self.seen.append(([g["lr"] for g in self.param_groups], momenta))
            return super().step(closure)

    return Spy


def test_one_cycle_reaches_the_sgd_optimizer_step_for_step():
    model = classifier()
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
    optimizer = spy(torch.optim.SGD)(groups, lr=1.0, momentum=0.5)
    data = two_classes(100)
    steps = 3 * steps_per_epoch(data, 32)
    schedule = one_cycle(steps, max_lr=0.3)
    history = fit(model, data, None, optimizer, epochs=3, schedule=schedule, batch_size=32, **QUIET)
    assert [lrs for lrs, _ in optimizer.seen] == [[lr, lr] for lr in schedule.lr.tolist()]
    assert [m for _, m in optimizer.seen] == [[m, m] for m in schedule.momentum.tolist()]
    assert np.array_equal(history.lr, schedule.lr)
    assert np.array_equal(history.momentum, schedule.momentum)
    assert history.loss.shape == (steps,)


def test_cyclic_momentum_goes_to_adams_beta1():
    model = classifier()
    optimizer = spy(torch.optim.Adam)(model.parameters(), lr=1.0, betas=(0.9, 0.95))
    data = two_classes(64)
    schedule = cyclic(2 * steps_per_epoch(data, 16), 1e-3, 1e-2, step_size_up=3)
    history = fit(model, data, None, optimizer, epochs=2, schedule=schedule, batch_size=16, **QUIET)
    assert [m[0] for _, m in optimizer.seen] == schedule.momentum.tolist()
    assert [lrs[0] for lrs, _ in optimizer.seen] == schedule.lr.tolist()
    assert np.array_equal(history.momentum, schedule.momentum)
    assert optimizer.param_groups[0]["betas"][1] == 0.95


def test_a_number_is_a_constant_lr_and_none_keeps_the_optimizers_own():
    data = two_classes(64)
    optimizer = torch.optim.SGD(classifier().parameters(), lr=0.5, momentum=0.7)
    model = classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.7)
    history = fit(model, data, None, optimizer, epochs=2, schedule=0.05, batch_size=16, **QUIET)
    assert np.array_equal(history.lr, np.full(8, 0.05))
    assert np.array_equal(history.momentum, np.full(8, 0.7))  # not scheduled: the optimizer's
    history = fit(model, data, None, optimizer, epochs=1, batch_size=16, **QUIET)
    assert np.array_equal(history.lr, np.full(4, 0.05))  # the lr the last fit left behind

    model = classifier()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
    history = fit(model, data, None, optimizer, schedule=constant(4, 0.2), batch_size=16, **QUIET)
    assert np.array_equal(history.lr, np.full(4, 0.2))
    assert np.isnan(history.momentum).all()  # Adagrad has no momentum


def test_a_momentum_schedule_needs_an_optimizer_with_momentum():
    model = classifier()
    before = [p.clone() for p in model.parameters()]
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="schedule.*Adagrad"):
        fit(model, two_classes(64), None, optimizer, schedule=one_cycle(4, 0.1), batch_size=16)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_steps_per_epoch_rule_for_both_kinds_of_data():
    X, y = two_classes(100)
    assert steps_per_epoch((X, y), 32) == 4  # ceil(100 / 32)
    assert steps_per_epoch((X, y), 100) == 1
    assert steps_per_epoch((X.numpy(), y.numpy()), 7) == 15
    loader = DataLoader(TensorDataset(X, y), batch_size=30)
    assert steps_per_epoch(loader, 999) == len(loader) == 4

    history = fit(classifier(), (X, y), epochs=3, schedule=0.1, batch_size=32, **QUIET)
    assert history.steps_per_epoch == 4 and len(history.loss) == 12
    history = fit(classifier(), loader, epochs=2, schedule=0.1, **QUIET)
    assert history.steps_per_epoch == 4 and len(history.loss) == 8


def test_a_schedule_of_the_wrong_length_is_refused_with_both_numbers():
    data = two_classes(100)
    with pytest.raises(ValueError, match=r"has 10 steps but training takes 12 .*3 x .*4"):
        fit(classifier(), data, epochs=3, schedule=one_cycle(10, 0.1), batch_size=32, **QUIET)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(epochs=0), ValueError, "epochs"),
        (dict(schedule="fast"), TypeError, "schedule"),
        (dict(schedule=-0.1), ValueError, "schedule"),
        (dict(schedule=True), TypeError, "schedule"),
        (dict(schedule=None), ValueError, "schedule"),  # no optimizer either: no lr at all
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(device="gpu"), ValueError, "device"),
        (dict(callback=1), TypeError, "callback"),
        (dict(data=(torch.zeros(3, 2), torch.zeros(2))), ValueError, "as many"),
    ],
)
def test_bad_input_is_refused_before_training(kwargs, error, match):
    model = classifier()
    before = [p.clone() for p in model.parameters()]
    args = dict(model=model, data=two_classes(64), schedule=0.1, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fit(**args)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_same_seed_same_run_other_seed_other_run():
    data = two_classes()

    def run(seed):
        model = classifier()
        history = fit(model, data, epochs=2, schedule=0.1, seed=seed, batch_size=16, **QUIET)
        return history, [p.detach().clone() for p in model.parameters()]

    (a, wa), (b, wb), (c, _) = run(0), run(0), run(1)
    assert np.array_equal(a.loss, b.loss)
    assert all(torch.equal(x, y) for x, y in zip(wa, wb, strict=True))
    assert not np.array_equal(a.loss, c.loss)


def test_training_learns_an_easy_problem_and_changes_the_model():
    X, y = two_classes(400)
    Xv, yv = two_classes(200, seed=1)
    model = classifier()
    before = model[0].weight.detach().clone()
    with torch.no_grad():
        untrained = nn.functional.cross_entropy(model(Xv), yv).item()
    epochs, per_epoch = 6, steps_per_epoch((X, y), 32)
    history = fit(
        model,
        (X, y),
        epochs=epochs,
        schedule=one_cycle(epochs * per_epoch, max_lr=0.5),
        val_data=(Xv, yv),
        batch_size=32,
        seed=0,
        **QUIET,
    )
    assert not torch.equal(before, model[0].weight)  # fit changes the model: it is its job
    assert history.val_loss.shape == history.val_accuracy.shape == (epochs,)
    assert history.val_loss[-1] < 0.2 * untrained
    assert history.val_accuracy[-1] > 0.95
    assert history.loss[-per_epoch:].mean() < history.loss[:per_epoch].mean()
    model.eval()
    with torch.no_grad():
        outputs = model(Xv)
    assert history.val_loss[-1] == pytest.approx(nn.functional.cross_entropy(outputs, yv).item())
    accuracy = (outputs.argmax(1) == yv).float().mean().item()
    assert history.val_accuracy[-1] == pytest.approx(accuracy)
    assert not history.stopped_early and history.stop_reason is None


def test_regression_has_nan_accuracy_and_no_val_data_means_empty():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    history = fit(model, (X, y), epochs=20, schedule=0.1, val_data=(X, y), batch_size=16, **QUIET)
    assert np.isnan(history.val_accuracy).all() and len(history.val_accuracy) == 20
    assert history.val_loss[-1] < 1e-2 * history.val_loss[0]  # MSE, the default for floats
    history = fit(model, (X, y), schedule=0.1, batch_size=16, **QUIET)
    assert history.val_loss.shape == history.val_accuracy.shape == (0,)


def test_callback_stops_and_a_nan_loss_stops():
    data = two_classes(64)
    calls = []

    def callback(step, lr, loss):
        calls.append((step, lr, loss))
        return step == 5

    history = fit(
        classifier(), data, epochs=3, schedule=0.1, batch_size=16, callback=callback, **QUIET
    )
    assert len(history.loss) == 6 and history.stopped_early
    assert history.stop_reason == "stopped by callback"
    assert calls == list(zip(range(6), history.lr.tolist(), history.loss.tolist(), strict=True))
    assert len(history.val_loss) == 0

    history = fit(classifier(), data, epochs=3, schedule=1e6, batch_size=16, **QUIET)
    assert history.stopped_early and "not finite" in history.stop_reason
    assert not math.isfinite(history.loss[-1])
    assert np.isfinite(history.loss[:-1]).all()


def test_a_seeded_fit_leaves_the_global_random_stream_alone():
    model = classifier()  # (classifier seeds the global stream itself)
    state = torch.get_rng_state()
    expected = torch.rand(3)
    torch.set_rng_state(state)
    val = DataLoader(TensorDataset(*two_classes(32)), batch_size=8, shuffle=True)
    fit(model, two_classes(64), schedule=0.1, val_data=val, seed=1, batch_size=16, **QUIET)
    assert torch.equal(torch.rand(3), expected)


def test_a_schedule_keeps_the_ratios_between_param_groups():
    """Group 0 (a "backbone" at a tenth of the head) follows the schedule; group 1 keeps its
    ratio, 10x, read inside optimizer.step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(
        [
            {"params": model[0].parameters(), "lr": 0.01},
            {"params": model[1].parameters(), "lr": 0.1},
        ],
        momentum=0.9,
    )
    seen = []
    optimizer.register_step_pre_hook(
        lambda opt, *_: seen.append([g["lr"] for g in opt.param_groups])
    )
    X, y = torch.randn(32, 3), torch.randn(32, 1)
    schedule = one_cycle(steps_per_epoch((X, y), 8) * 2, max_lr=0.02)
    history = fit(model, (X, y), optimizer=optimizer, epochs=2, schedule=schedule, batch_size=8,
                  progress=False)  # fmt: skip
    np.testing.assert_allclose(np.array(seen), np.outer(schedule.lr, [1.0, 10.0]), rtol=1e-15)
    np.testing.assert_array_equal(history.lr, schedule.lr)  # the recorded lr is group 0's


def plain_loop(model, optimizer, batches, epochs, k, max_norm):
    """The user's own loop: per step the mean loss of k batches, clipped, one step; an epoch's
    batches that make no whole step are left out, as fit leaves them out."""
    losses = []
    for _ in range(epochs):
        usable = batches[: len(batches) // k * k]
        for i in range(0, len(usable), k):
            optimizer.zero_grad()
            parts = [nn.functional.cross_entropy(model(x), y) for x, y in usable[i : i + k]]
            for part in parts:
                (part / k).backward()
            if max_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            losses.append(torch.stack([p.detach() for p in parts]).float().mean().item())
    return losses


@pytest.mark.parametrize(("k", "max_norm"), [(3, None), (1, 0.05), (2, 0.05)])
def test_accumulation_and_clipping_train_as_the_plain_loop_does(k, max_norm):
    X, y = two_classes(n=224)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 224, 32)]  # 7 batches, in order
    ours, theirs = classifier(), classifier()
    opt = torch.optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
    history = fit(
        ours, batches, None, opt, epochs=2, accumulation_steps=k, clip_grad_norm=max_norm, **QUIET
    )
    plain = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
    expected = plain_loop(theirs, plain, batches, 2, k, max_norm)
    assert history.steps_per_epoch == 7 // k == steps_per_epoch(batches, accumulation_steps=k)
    np.testing.assert_array_equal(history.loss, expected)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_clipping_changes_the_training_and_bad_values_are_refused():
    X, y = two_classes()
    free, clipped = classifier(), classifier()
    fit(free, (X, y), schedule=1.0, seed=0, **QUIET)
    fit(clipped, (X, y), schedule=1.0, seed=0, clip_grad_norm=1e-3, **QUIET)
    assert not torch.equal(free[0].weight, clipped[0].weight)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        fit(classifier(), (X, y), schedule=1.0, clip_grad_norm=0.0, **QUIET)
    with pytest.raises(ValueError, match="accumulation_steps=9 is more than the 4 batches"):
        fit(classifier(), (X, y), schedule=1.0, accumulation_steps=9, **QUIET)
