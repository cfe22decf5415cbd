"""range_test where practitioners train: param groups at different rates, gradient
accumulation, gradient clipping, fp16 with a GradScaler, and applying the suggestion; each
against the plain computation written out here."""

import importlib
import math

import numpy as np
import pytest
import torch
from torch import nn

from lrwidgets.core import fastai_one_cycle, lr_sweep, one_cycle
from lrwidgets.training import range_test

QUIET = dict(progress=False, device="cpu")
# the module (lrwidgets.training's range_test attribute is the function of the same name)
range_test_module = importlib.import_module("lrwidgets.training.range_test")


def mlp(seed: int = 0) -> nn.Module:
    """No batch-dependent layer (no BatchNorm, no dropout): a batch's mean loss is the mean of
    its parts' mean losses."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))


def batches(n_batches: int, size: int, seed: int = 0) -> list:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n_batches * size, 4, generator=g)
    y = torch.randint(0, 3, (n_batches * size,), generator=g)
    return [(X[i : i + size], y[i : i + size]) for i in range(0, len(X), size)]


def test_every_group_is_swept_at_its_ratio_read_inside_optimizer_step():
    model = mlp()
    optimizer = torch.optim.Adam(
        [
            {"params": model[0].parameters(), "lr": 1e-3},  # a backbone at a tenth
            {"params": model[2].parameters(), "lr": 1e-2},
        ]
    )
    seen = []
    optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: seen.append([g["lr"] for g in opt.param_groups])
    )
    result = range_test(model, batches(4, 16), None, optimizer, num_iter=12, **QUIET)
    assert result.group_ratios == (1.0, 10.0)
    assert len(seen) == result.steps
    assert [lrs[0] for lrs in seen] == result.lrs.tolist()  # x axis: group 0's lr
    for lrs in seen:
        assert lrs[1] / lrs[0] == pytest.approx(10.0, rel=1e-12)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-3, 1e-2]


def test_group_zero_needs_a_rate_to_keep_ratios_to():
    model = mlp()
    optimizer = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.0}, {"params": model[2].parameters()}], lr=0.1
    )
    with pytest.raises(ValueError, match="param group 0 has lr=0.0"):
        range_test(model, batches(2, 8), optimizer=optimizer, num_iter=5, **QUIET)


def whole(parts: list, k: int) -> list:
    """Every k consecutive batches concatenated into one."""
    return [
        (torch.cat([x for x, _ in parts[i : i + k]]), torch.cat([y for _, y in parts[i : i + k]]))
        for i in range(0, len(parts), k)
    ]


def test_four_accumulated_batches_of_16_are_one_batch_of_64():
    parts = batches(4 * 6, 16)
    steps = []
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer.register_step_pre_hook(lambda opt, a, k: steps.append(opt.param_groups[0]["lr"]))
    kwargs = dict(num_iter=20, end_lr=1.0, diverge_th=math.inf, **QUIET)
    accumulated = range_test(model, parts, None, optimizer, accumulation_steps=4, **kwargs)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    plain = range_test(model, whole(parts, 4), None, optimizer, **kwargs)
    assert steps == accumulated.lrs.tolist()  # one step, one lr per 4 batches
    assert np.array_equal(accumulated.lrs, plain.lrs)
    np.testing.assert_allclose(accumulated.losses, plain.losses, rtol=1e-5, atol=1e-7)


def test_the_recorded_loss_is_the_mean_of_the_accumulated_batches():
    seen = []

    def loss_fn(outputs, targets):
        loss = nn.functional.cross_entropy(outputs, targets)
        seen.append(loss.item())
        return loss

    result = range_test(
        mlp(), batches(6, 8), loss_fn, accumulation_steps=3, num_iter=8, end_lr=1e-2, **QUIET
    )
    means = np.array(seen[1:]).reshape(-1, 3).mean(axis=1)  # seen[0]: check_first_batch's trial
    np.testing.assert_allclose(result.losses, means, rtol=1e-6)


def plain_clipped_loop(max_norm: float, lrs: np.ndarray, parts: list) -> tuple[list, list]:
    """The user's training loop: set lr, backward, clip, step; the loss before each step."""
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    losses, norms = [], []
    for lr, (x, y) in zip(lrs.tolist(), parts * 10, strict=False):
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm)))
        optimizer.step()
        losses.append(loss.item())
    return losses, norms


def test_clipping_is_the_plain_loops_clip_grad_norm():
    parts = batches(5, 16)
    kwargs = dict(num_iter=40, start_lr=1e-3, end_lr=30.0, diverge_th=math.inf, **QUIET)
    make = lambda: torch.optim.SGD  # noqa: E731
    model = mlp()
    clipped = range_test(
        model, parts, None, make()(model.parameters(), lr=1.0, momentum=0.9),
        clip_grad_norm=0.5, **kwargs,
    )  # fmt: skip
    model = mlp()
    free = range_test(
        model, parts, None, make()(model.parameters(), lr=1.0, momentum=0.9), **kwargs
    )
    losses, norms = plain_clipped_loop(0.5, lr_sweep(1e-3, 30.0, 40), parts)
    assert clipped.losses.tolist() == losses  # bitwise: the same operations
    bites = next(i for i, norm in enumerate(norms) if norm > 0.5)
    # Until clipping first bites, the curves are the same; afterwards they part.
    assert np.array_equal(clipped.losses[: bites + 1], free.losses[: bites + 1])
    assert not np.array_equal(clipped.losses, free.losses)


@pytest.mark.parametrize("name, value, error", [
    ("accumulation_steps", 0, ValueError),
    ("accumulation_steps", 2.0, TypeError),
    ("clip_grad_norm", -1.0, ValueError),
    ("clip_grad_norm", "1", TypeError),
    ("amp", "fp8", ValueError),
])  # fmt: skip
def test_bad_new_arguments_are_named_before_any_work(name, value, error):
    model = mlp()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(error, match=name):
        range_test(model, batches(2, 8), num_iter=5, **{name: value}, **QUIET)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def regression(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets around 1000: squared errors of 1e6, gradients that overflow a huge loss scale."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    return X, 1000.0 + X @ torch.tensor([[1.0], [2.0], [-1.0], [0.5]])


def cpu_scaler() -> torch.amp.GradScaler:
    """A real GradScaler on the CPU starting at 2**120: the first steps overflow and are
    skipped, halving the scale each time, as fp16 training on CUDA does at its start."""
    return torch.amp.GradScaler("cpu", init_scale=2.0**120)


def test_steps_the_grad_scaler_skips_are_kept_apart_from_the_curve(monkeypatch):
    """The bookkeeping of amp="fp16", with a real GradScaler on the CPU (fp16 autocast itself
    needs CUDA: tests/test_gpu.py)."""
    monkeypatch.setattr(range_test_module, "grad_scaler", lambda device, amp: cpu_scaler())
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    start = [p.clone() for p in model.parameters()]
    planned = lr_sweep(1e-9, 1e-6, 30)
    with pytest.warns(UserWarning, match="CUDA only"):
        result = range_test(
            model, [regression()], nn.MSELoss(), start_lr=1e-9, end_lr=1e-6, num_iter=30,
            diverge_th=math.inf, amp="fp16", **QUIET,
        )  # fmt: skip

    # The plain loop with the same scaler: which steps it skips, and the losses of the others.
    torch.manual_seed(0)
    reference = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(reference.parameters(), lr=1.0, momentum=0.9)
    scaler = cpu_scaler()
    X, y = regression()
    skipped, kept, losses = [], [], []
    for lr in planned.tolist():
        optimizer.param_groups[0]["lr"] = lr
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(reference(X), y)
        scaler.scale(loss).backward()
        scale = scaler.get_scale()
        scaler.step(optimizer)
        scaler.update()
        (skipped if scaler.get_scale() < scale else kept).append(lr)
        if scaler.get_scale() >= scale:
            losses.append(loss.item())
    assert 3 <= len(skipped) < 30  # the case is real: some steps skipped, not all
    assert result.skipped_lrs.tolist() == skipped
    assert result.lrs.tolist() == kept
    assert result.losses.tolist() == losses
    assert len(result.skipped_losses) == len(skipped)
    assert all(torch.equal(a, b) for a, b in zip(start, model.parameters(), strict=True))


def test_fp16_off_cuda_warns_and_runs_in_float32():
    kwargs = dict(num_iter=10, seed=0, **QUIET)
    plain = range_test(mlp(), batches(4, 16), **kwargs)
    with pytest.warns(UserWarning, match="CUDA only"):
        half = range_test(mlp(), batches(4, 16), amp="fp16", **kwargs)
    assert np.array_equal(plain.losses, half.losses)
    assert half.skipped_lrs.size == 0


def test_apply_sets_the_suggestion_on_every_group_at_the_tested_ratios():
    model = mlp()
    optimizer = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[2].parameters()}],
        lr=0.04,
        momentum=0.9,
    )
    result = range_test(model, batches(8, 16), None, optimizer, num_iter=60, **QUIET)
    lr = result.apply(optimizer, method="minimum")
    assert lr == result.suggestion("minimum")
    assert optimizer.param_groups[0]["lr"] == lr
    assert optimizer.param_groups[1]["lr"] == lr * 4.0
    with pytest.raises(ValueError, match="1 param groups but the range test swept 2"):
        result.apply(torch.optim.Adam(mlp().parameters()))  # which group is group 0 then?
    one_group = range_test(mlp(), batches(8, 16), num_iter=60, **QUIET)
    groups = torch.optim.SGD([{"params": [p]} for p in mlp().parameters()], lr=0.1)
    lr = one_group.apply(groups)
    assert [g["lr"] for g in groups.param_groups] == [lr] * 4


def test_schedule_from_the_suggestion_is_the_schedule_built_by_hand():
    result = range_test(mlp(), batches(8, 16), num_iter=60, **QUIET)
    lr = result.suggestion("valley")
    built = result.schedule(200, pct_start=0.25)
    assert np.array_equal(built.lr, one_cycle(200, lr, pct_start=0.25).lr)
    fastai = result.schedule(200, "fastai_one_cycle", method="minimum")
    assert np.array_equal(fastai.lr, fastai_one_cycle(200, result.suggestion("minimum")).lr)
    assert np.all(result.schedule(10, "constant").lr == lr)
    with pytest.raises(ValueError, match="policy"):
        result.schedule(10, "cosine")
