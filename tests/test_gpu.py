"""The range test and fit on a CUDA device; skipped where there is none."""

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrwidgets.core import one_cycle
from lrwidgets.training import fit, range_test, resolve_device, steps_per_epoch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))


def data(n=256):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 8, generator=g), torch.randint(0, 4, (n,), generator=g)


def used_adam(model):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, y = data(32)
    for _ in range(2):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return optimizer


def same_tensors(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].device == b[k].device and torch.equal(a[k], b[k]) for k in a
    )


def test_auto_picks_cuda():
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cpu_model_tested_on_cuda_comes_back_bitwise_on_the_cpu(device):
    model = net()
    optimizer = used_adam(model)
    params = copy.deepcopy(model.state_dict())
    state = copy.deepcopy(optimizer.state_dict())
    result = range_test(
        model, data(), optimizer=optimizer, device=device, num_iter=30, progress=False
    )
    assert result.steps > 1
    assert next(model.parameters()).device.type == "cpu"
    assert same_tensors(params, model.state_dict())
    after = optimizer.state_dict()
    assert after["param_groups"] == state["param_groups"]
    for key, saved in state["state"].items():
        assert same_tensors(saved, after["state"][key])


def test_a_cuda_model_tested_on_the_cpu_comes_back_on_cuda():
    model = net().cuda()
    params = copy.deepcopy(model.state_dict())
    range_test(model, data(), device="cpu", num_iter=10, progress=False)
    assert next(model.parameters()).is_cuda
    assert same_tensors(params, model.state_dict())


def test_cuda_curve_is_close_to_the_cpu_curve_and_loaders_work():
    X, y = data()
    kwargs = dict(num_iter=20, end_lr=1e-2, seed=0, progress=False)
    cpu = range_test(net(), (X, y), device="cpu", **kwargs)
    gpu = range_test(net(), (X, y), device="cuda", **kwargs)
    assert np.allclose(cpu.losses, gpu.losses, rtol=1e-3)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, pin_memory=True)
    result = range_test(net(), loader, device="cuda", **kwargs)
    assert result.steps == 20 and np.isfinite(result.losses).all()


def test_amp_runs_in_bfloat16_on_cuda():
    X, y = data()
    kwargs = dict(num_iter=20, end_lr=1e-2, seed=0, device="cuda", progress=False)
    plain = range_test(net(), (X, y), **kwargs)
    amp = range_test(net(), (X, y), amp=True, **kwargs)
    assert np.isfinite(amp.losses).all()
    assert not np.array_equal(plain.losses, amp.losses)  # bf16 rounding shows
    assert np.allclose(plain.losses, amp.losses, rtol=5e-2)


def test_fit_on_cuda_trains_and_returns_the_model_to_the_cpu():
    X, y = data()
    model = net()
    before = model[0].weight.detach().clone()
    steps = 3 * steps_per_epoch((X, y), 32)
    history = fit(
        model,
        (X, y),
        epochs=3,
        schedule=one_cycle(steps, 0.1),
        val_data=(X, y),
        batch_size=32,
        device="cuda",
        progress=False,
    )
    assert next(model.parameters()).device.type == "cpu"
    assert not torch.equal(before, model[0].weight)
    assert len(history.loss) == steps and np.isfinite(history.val_loss).all()


def test_fp16_with_a_grad_scaler_on_cuda_keeps_skipped_steps_apart():
    """float16 autocast + GradScaler: the scaler starts at 2**16 and skips the steps whose
    scaled gradients overflow float16; those are not points of the curve, and the model comes
    back bitwise."""
    X, y = data()
    model = net()
    optimizer = used_adam(model)
    params = copy.deepcopy(model.state_dict())
    kwargs = dict(num_iter=40, end_lr=1.0, seed=0, device="cuda", progress=False)
    plain = range_test(net(), (X, y), **kwargs)
    targets = 1e3 * nn.functional.one_hot(y, 4).float()
    half = range_test(model, (X, targets), nn.MSELoss(), optimizer, amp="fp16", **kwargs)
    assert half.skipped_lrs.size > 0  # squared errors of 1e6 overflow at the start
    taken = np.sort(np.concatenate([half.lrs, half.skipped_lrs]))
    assert np.array_equal(taken, half.planned_lrs[: len(taken)])  # each lr once, in one list
    assert np.isfinite(half.losses).all()
    assert same_tensors(params, model.state_dict())
    fp16 = range_test(net(), (X, y), amp="fp16", **kwargs)
    assert np.allclose(plain.losses[:10], fp16.losses[:10], rtol=5e-2)


def test_fit_runs_fp16_with_a_grad_scaler_on_cuda():
    X, y = data()
    history = fit(net(), (X, y), schedule=0.05, amp="fp16", device="cuda", progress=False)
    assert np.isfinite(history.loss).all()
