"""range_test, RangeTestResult and repeat_range_test on small models built here."""

import copy
import importlib
import math
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrwidgets.core import (
    SUGGESTION_METHODS,
    divergence_reason,
    ewma,
    lr_sweep,
    suggest_lr,
)
from lrwidgets.training import RangeTestResult, range_test, repeat_range_test
from lrwidgets.training.loop import default_loss


def make_mlp(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))


def blobs(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    X = torch.randn(n, 4, generator=g) + 2.0 * nn.functional.one_hot(y, 4).float()
    return X, y


QUIET = dict(progress=False, device="cpu")


class SpySGD(torch.optim.SGD):
    """Records the lr of every param group each time step() runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, closure=None):
        self.seen.append([group["lr"] for group in self.param_groups])
        return super().step(closure)


def test_lrs_follow_the_sweep_on_every_group_keeping_their_ratios_inside_step():
    model = make_mlp()
    groups = [{"params": model[0].parameters()}, {"params": model[3].parameters(), "lr": 5.0}]
    optimizer = SpySGD(groups, lr=1.0, momentum=0.9)
    result = range_test(model, blobs(), None, optimizer, num_iter=30, end_lr=1.0, **QUIET)
    planned = lr_sweep(1e-7, 1.0, 30)
    assert np.array_equal(result.planned_lrs, planned)
    assert np.array_equal(result.lrs, planned[: result.steps])  # the x axis: group 0's lr
    assert optimizer.seen == [[lr, lr * 5.0] for lr in result.lrs.tolist()]
    assert result.group_ratios == (1.0, 5.0)
    assert result.mode == "exp"
    assert [g["lr"] for g in optimizer.param_groups] == [1.0, 5.0]  # restored


def test_linear_mode_and_raw_losses_are_what_the_loss_saw():
    seen = []

    def loss_fn(outputs, targets):
        loss = nn.functional.cross_entropy(outputs, targets)
        seen.append(loss.item())
        return loss

    result = range_test(
        make_mlp(), blobs(), loss_fn, mode="linear", num_iter=20, end_lr=0.5, **QUIET
    )
    assert result.mode == "linear"
    assert np.array_equal(result.lrs, lr_sweep(1e-7, 0.5, 20, "linear")[: result.steps])
    # the first call is check_first_batch's trial of the first batch, before any step
    assert seen[0] == seen[1] and np.array_equal(result.losses, np.array(seen[1:]))
    assert np.array_equal(result.train_losses, result.losses)
    assert result.val_losses is None


def test_recorded_smoothing_is_core_ewma_and_smoothed_recomputes_it():
    result = range_test(make_mlp(), blobs(), beta=0.9, num_iter=40, end_lr=1.0, **QUIET)
    assert result.beta == 0.9
    assert np.array_equal(result.smoothed_losses, ewma(result.losses, 0.9))
    assert np.array_equal(result.smoothed(), ewma(result.losses, 0.9))
    assert np.array_equal(result.smoothed(beta=0.5), ewma(result.losses, 0.5))
    assert np.array_equal(result.smoothed(debias=False), ewma(result.losses, 0.9, debias=False))
    with pytest.raises(TypeError, match="debias must be True or False"):
        result.smoothed(debias="no")


def test_diverges_by_the_core_rule_and_stops():
    result = range_test(make_mlp(), blobs(), num_iter=100, end_lr=1e4, **QUIET)
    assert result.stopped_early
    assert result.steps < 100
    smoothed = result.smoothed_losses
    expected = divergence_reason(result.losses[-1], smoothed[-1], smoothed.min(), result.diverge_th)
    assert expected is not None
    assert result.stop_reason == expected
    for t in range(result.steps - 1):  # no earlier step met the rule
        assert divergence_reason(result.losses[t], smoothed[t], smoothed[: t + 1].min()) is None


def test_a_nan_loss_stops_the_test_at_that_step():
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        loss = nn.functional.cross_entropy(outputs, targets)
        return loss * math.nan if len(calls) == 8 else loss  # call 1: check_first_batch's trial

    result = range_test(make_mlp(), blobs(), loss_fn, num_iter=30, diverge_th=math.inf, **QUIET)
    assert result.steps == 7
    assert result.stopped_early
    assert "not finite" in result.stop_reason
    assert math.isnan(result.losses[-1])


def test_no_stop_rule_runs_the_whole_sweep():
    result = range_test(make_mlp(), blobs(), num_iter=25, end_lr=1e-3, **QUIET)
    assert result.steps == 25
    assert not result.stopped_early
    assert result.stop_reason is None


def test_callback_sees_every_step_and_can_stop():
    calls = []

    def callback(step, lr, loss):
        calls.append((step, lr, loss))
        return step == 5

    result = range_test(make_mlp(), blobs(), callback=callback, num_iter=30, **QUIET)
    assert result.steps == 6
    assert result.stopped_early
    assert result.stop_reason == "stopped by callback"
    assert calls == list(zip(range(6), result.lrs.tolist(), result.losses.tolist(), strict=True))


@pytest.mark.parametrize("dropout", [0.0, 0.2])  # without dropout only the batch order varies
@pytest.mark.parametrize("kind", ["in memory", "shuffling loader"])
def test_same_seed_same_curve_other_seed_other_batches(kind, dropout):
    data = blobs()
    if kind == "shuffling loader":
        data = DataLoader(TensorDataset(*data), batch_size=16, shuffle=True)
    a, b, c = (
        range_test(make_mlp(dropout=dropout), data, seed=seed, num_iter=20, **QUIET).losses
        for seed in (3, 3, 4)
    )
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_seeded_run_leaves_the_global_random_stream_alone():
    model = make_mlp(dropout=0.5)  # (make_mlp seeds the global stream itself)
    val = DataLoader(TensorDataset(*blobs(32)), batch_size=8, shuffle=True)
    state = torch.get_rng_state()
    expected = torch.rand(5)
    torch.set_rng_state(state)
    range_test(model, blobs(), val_data=val, seed=0, num_iter=10, **QUIET)
    assert torch.equal(torch.rand(5), expected)


def test_a_short_loader_is_cycled_and_a_list_of_batches_works():
    X, y = blobs(48)
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)]
    result = range_test(make_mlp(), batches, num_iter=10, end_lr=1e-2, **QUIET)
    assert result.steps == 10


def test_in_memory_arrays_and_tensors_give_the_same_curve():
    X, y = blobs()
    a = range_test(make_mlp(), (X, y), seed=0, num_iter=15, **QUIET)
    b = range_test(make_mlp(), (X.numpy(), y.numpy()), seed=0, num_iter=15, **QUIET)
    assert np.array_equal(a.losses, b.losses)


@pytest.mark.parametrize(
    ("targets", "loss"),
    [
        (torch.tensor([0, 2, 1]), nn.CrossEntropyLoss),
        (torch.tensor([0, 2, 1], dtype=torch.int32), nn.CrossEntropyLoss),
        (torch.tensor([0.5, 1.0]), nn.MSELoss),
        (torch.tensor([True, False]), nn.MSELoss),
    ],
)
def test_default_loss_rule(targets, loss):
    assert type(default_loss(targets)) is loss


def test_default_loss_in_a_run_cross_entropy_and_mse():
    """With one full batch, the first recorded loss is the initial model's loss on all data."""
    X, y = blobs(32)
    model = make_mlp()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(X), y).item()
    result = range_test(model, (X, y), batch_size=32, num_iter=5, end_lr=1e-3, **QUIET)
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)

    targets = torch.randn(32, 3)
    with torch.no_grad():
        expected = nn.functional.mse_loss(model(X), targets).item()
    result = range_test(model, (X, targets), batch_size=32, num_iter=5, end_lr=1e-3, **QUIET)
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)


def test_val_data_is_the_recorded_loss_and_the_training_loss_is_kept():
    X, y = blobs(64)
    Xv, yv = blobs(40, seed=1)
    model = make_mlp(dropout=0.5)
    held_out = []

    def callback(step, lr, loss):  # runs right after the step: the model is as evaluated
        assert model.training
        model.eval()
        with torch.no_grad():
            held_out.append(nn.functional.cross_entropy(model(Xv), yv).item())
        model.train()

    result = range_test(
        model, (X, y), val_data=(Xv, yv), batch_size=16, callback=callback, num_iter=12, **QUIET
    )
    assert np.array_equal(result.losses, result.val_losses)
    assert np.allclose(result.val_losses, held_out, rtol=1e-6)
    assert not np.array_equal(result.train_losses, result.val_losses)
    assert np.array_equal(result.smoothed_losses, ewma(result.val_losses))


def test_step_fn_for_batches_that_are_not_pairs():
    X, y = blobs(48)
    batches = [{"x": X[i : i + 16], "y": y[i : i + 16]} for i in range(0, 48, 16)]

    def step_fn(model, batch):
        return nn.functional.cross_entropy(model(batch["x"]), batch["y"])

    result = range_test(make_mlp(), batches, step_fn=step_fn, num_iter=8, end_lr=1e-2, **QUIET)
    assert result.steps == 8
    with pytest.raises(TypeError, match="step_fn"):
        range_test(make_mlp(), batches, num_iter=8, **QUIET)


def test_amp_on_cpu_warns_and_runs_in_float32():
    data = blobs()
    plain = range_test(make_mlp(), data, seed=0, num_iter=10, **QUIET)
    with pytest.warns(UserWarning, match="amp"):
        amp = range_test(make_mlp(), data, seed=0, num_iter=10, amp=True, **QUIET)
    assert np.array_equal(plain.losses, amp.losses)


def test_progress_bar_is_closed_even_on_error(monkeypatch):
    module = importlib.import_module("lrwidgets.training.run")  # the run's frame opens the bar
    bars = []

    class SpyBar:
        def __init__(self, total, desc, disable):
            self.total, self.updates, self.closed = total, 0, False
            bars.append(self)

        def update(self, n=1):
            self.updates += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(module, "tqdm", SpyBar)
    result = range_test(make_mlp(), blobs(), num_iter=9, device="cpu")
    assert bars[0].closed and bars[0].updates == result.steps

    def broken(outputs, targets):
        raise RuntimeError("broken loss")

    with pytest.raises(RuntimeError, match="broken loss"):
        range_test(make_mlp(), blobs(), broken, num_iter=9, device="cpu")
    assert bars[1].closed


# ---------------------------------------------------------------- bad input, before any work


class Untrainable(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1), requires_grad=False)

    def forward(self, x):
        return x * self.scale


def generator_of_batches():
    X, y = blobs(32)
    yield X, y


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(start_lr=0.0), ValueError, "start_lr"),
        (dict(start_lr=1.0, end_lr=0.1), ValueError, "start_lr"),
        (dict(end_lr=math.inf), ValueError, "end_lr"),
        (dict(num_iter=1), ValueError, "num_iter"),
        (dict(num_iter=2.5), TypeError, "num_iter"),
        (dict(mode="log"), ValueError, "mode"),
        (dict(beta=1.0), ValueError, "beta"),
        (dict(beta=-0.1), ValueError, "beta"),
        (dict(diverge_th=1.0), ValueError, "diverge_th"),
        (dict(device="tpu"), ValueError, "device"),
        (dict(device=3), TypeError, "device"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(callback="stop"), TypeError, "callback"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(step_fn=lambda m, b: None), ValueError, "step_fn"),
        (dict(data=(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))), ValueError, "empty"),
        (dict(data=[]), ValueError, "empty"),
        (dict(data=(torch.zeros(5, 4), torch.zeros(4))), ValueError, "as many"),
        (dict(data=generator_of_batches()), TypeError, "re-iterable"),
        (dict(data=42), TypeError, "data"),
        (dict(model=Untrainable()), ValueError, "trainable"),
        (dict(model="mlp"), TypeError, "model"),
        (dict(optimizer="sgd"), TypeError, "optimizer"),
        (dict(optimizer="foreign"), ValueError, "optimizer"),
        (dict(val_data=(torch.zeros(3, 4), torch.zeros(2))), ValueError, "val_data .*as many"),
        (dict(val_data=[]), ValueError, "val_data is empty"),
    ],
)
def test_bad_input_is_refused_before_any_training(kwargs, error, match):
    model = make_mlp()
    before = copy.deepcopy(model.state_dict())
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        return nn.functional.cross_entropy(outputs, targets)

    args = dict(model=model, data=blobs(32), loss_fn=loss_fn, **QUIET)
    if "step_fn" in kwargs:
        args["loss_fn"] = loss_fn
    args.update(kwargs)
    if args.get("optimizer") == "foreign":
        args["optimizer"] = torch.optim.SGD(make_mlp().parameters(), lr=0.1)
    with pytest.raises(error, match=match):
        range_test(**args)
    assert calls == []
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


# ---------------------------------------------------------------- the result


def test_suggestions_are_the_core_rules_on_the_smoothed_curve():
    result = range_test(make_mlp(), blobs(), num_iter=60, **QUIET)
    curve = ewma(result.losses, result.beta)
    suggestions = result.suggestions(warn=False)
    assert set(suggestions) == set(SUGGESTION_METHODS)
    assert result.num_iter == 60 and result.skips() == (6, 5)  # fastai's lr_find trimming
    for method, lr in suggestions.items():
        assert lr == suggest_lr(result.lrs, curve, method, skip_start=6, skip_end=5)
        assert result.suggestion(method, warn=False) == lr
        whole = result.suggestion(method, skip_start=0, skip_end=0, warn=False)
        assert whole == suggest_lr(result.lrs, curve, method)
    other = suggest_lr(result.lrs, ewma(result.losses, 0.5), "minimum", skip_start=6, skip_end=5)
    assert result.suggestion("minimum", beta=0.5, warn=False) == other
    assert result.suggestion(warn=False) == suggestions["valley"]
    assert result.suggestions(skip_start=20, skip_end=1, warn=False) == {
        m: suggest_lr(result.lrs, curve, m, skip_start=20, skip_end=1) for m in suggestions
    }


def test_suggestions_leave_out_methods_that_cannot_answer():
    result = range_test(make_mlp(), blobs(), callback=lambda *a: True, num_iter=20, **QUIET)
    assert result.steps == 1
    assert result.suggestions() == {}
    with pytest.raises(ValueError, match="at least"):
        result.suggestion()


def test_plot_delegates_to_plots_module(monkeypatch):
    calls = []
    fake = types.ModuleType("lrwidgets.plots")
    fake.plot_range_test = lambda result, ax=None, **kwargs: calls.append((result, ax, kwargs))
    monkeypatch.setitem(sys.modules, "lrwidgets.plots", fake)
    result = RangeTestResult(lrs=np.ones(3), losses=np.ones(3), planned_lrs=np.ones(3))
    result.plot("axes", beta=0.5)
    assert calls == [(result, "axes", {"beta": 0.5})]


# ---------------------------------------------------------------- repeat_range_test


def test_repeat_range_test_varies_what_it_says():
    data = blobs()
    kwargs = dict(num_iter=15, **QUIET)
    for vary, model_seed, order_seed in [
        ("init", lambda s: s, lambda s: 0),
        ("order", lambda s: 0, lambda s: s),
        ("both", lambda s: s, lambda s: s),
    ]:
        results = repeat_range_test(make_mlp, data, seeds=(0, 1), vary=vary, **kwargs)
        assert len(results) == 2
        for seed, result in zip((0, 1), results, strict=True):
            alone = range_test(make_mlp(model_seed(seed)), data, seed=order_seed(seed), **kwargs)
            assert np.array_equal(result.losses, alone.losses), vary
        assert not np.array_equal(results[0].losses, results[1].losses)


def test_repeat_range_test_builds_each_optimizer_and_checks_its_arguments():
    built = []

    def optimizer_factory(model):
        built.append(model)
        return torch.optim.Adam(model.parameters())

    results = repeat_range_test(
        make_mlp, blobs(), seeds=(0, 1, 2), optimizer_factory=optimizer_factory, num_iter=5,
        **QUIET,
    )  # fmt: skip
    assert len(results) == 3 and len(built) == 3
    assert len({id(m) for m in built}) == 3
    with pytest.raises(ValueError, match="vary"):
        repeat_range_test(make_mlp, blobs(), vary="data")
    with pytest.raises(ValueError, match="seeds"):
        repeat_range_test(make_mlp, blobs(), seeds=())
    with pytest.raises(TypeError, match="seeds="):
        repeat_range_test(make_mlp, blobs(), seed=1)
    with pytest.raises(TypeError, match="optimizer_factory"):
        repeat_range_test(make_mlp, blobs(), optimizer=None)
