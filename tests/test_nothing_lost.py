"""After a range test the model and the optimizer are bit for bit what they were before.

Every way a test can end is covered: a normal run, a stop from the callback, divergence, a
NaN loss, a KeyboardInterrupt and an exception from the user's loss function.
"""

import copy
import importlib
import math

import pytest
import torch
from torch import nn

from lrwidgets.training import range_test
from lrwidgets.training.state import restore, snapshot


class Net(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear, with a frozen bias and an odd mode."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(8, 3)
        self.out.bias.requires_grad_(False)

    def forward(self, x):
        return self.out(self.drop(torch.relu(self.bn(self.inp(x)))))


def data(n=64):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def used_model_and_optimizer(kind: str):
    """A model and an optimizer that already trained a few steps: state, grads, stats."""
    torch.manual_seed(0)
    model = Net()
    if kind == "sgd":
        optimizer = torch.optim.SGD(
            [
                {"params": model.inp.parameters(), "lr": 0.05, "weight_decay": 1e-3},
                {"params": [*model.bn.parameters(), model.out.weight], "momentum": 0.5},
            ],
            lr=0.01,
            momentum=0.9,
            nesterov=True,
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    X, y = data()
    for i in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(
            model(X[i * 16 : (i + 1) * 16]), y[i * 16 : (i + 1) * 16]
        ).backward()
        optimizer.step()
    # leave gradients behind, and a mixed mode: the model in train mode, its dropout in eval
    nn.functional.cross_entropy(model(X[:16]), y[:16]).backward()
    model.drop.eval()
    return model, optimizer


def everything(model, optimizer):
    """All that must come back: tensors (cloned) and flags, by name."""
    out = {"modes": [m.training for m in model.modules()]}
    for name, p in model.named_parameters():
        out[f"param {name}"] = (p.detach().clone(), p.requires_grad, p.device, p.dtype)
        out[f"grad {name}"] = None if p.grad is None else p.grad.clone()
    for name, b in model.named_buffers():
        out[f"buffer {name}"] = (b.clone(), b.device, b.dtype)
    out["optimizer"] = copy.deepcopy(optimizer.state_dict())
    out["groups"] = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    out["group params"] = [[id(p) for p in g["params"]] for g in optimizer.param_groups]
    out["model params"] = [id(p) for p in model.parameters()]
    return out


def assert_same(a, b, path="state"):
    """Bitwise equality of nested tensors, numbers, flags."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), path
        assert a.dtype == b.dtype and a.device == b.device and a.shape == b.shape, path
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_the_fixture_has_all_there_is_to_lose():
    model, optimizer = used_model_and_optimizer("sgd")
    state = everything(model, optimizer)
    assert state["buffer bn.num_batches_tracked"][0].item() == 4  # 4 forwards in train mode
    assert state["grad inp.weight"] is not None
    assert not state["param out.bias"][1]
    assert any(s.get("momentum_buffer") is not None for s in optimizer.state.values())
    assert state["modes"].count(False) == 1
    model, optimizer = used_model_and_optimizer("adam")
    assert all(s["step"].item() == 3 for s in optimizer.state.values())


class Boom(Exception):
    pass


def ending(how: str):
    """Keyword arguments for range_test that end the run the way ``how`` says."""
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        loss = nn.functional.cross_entropy(outputs, targets)
        if len(calls) == 5:
            if how == "nan":
                return loss * math.nan
            if how == "interrupt":
                raise KeyboardInterrupt
            if how == "exception":
                raise Boom("from the user's loss")
        return loss

    kwargs = dict(loss_fn=loss_fn, num_iter=20, end_lr=1e-2, diverge_th=math.inf)
    if how == "callback":
        kwargs["callback"] = lambda step, lr, loss: step == 4
    if how == "diverge":
        kwargs.update(end_lr=1e6, diverge_th=4.0, num_iter=60)
    return kwargs


HOW = ["normal", "callback", "diverge", "nan", "interrupt", "exception"]
# The paths of range_test (the sgd optimizer has two groups at different rates: ratios kept).
PATHS = {
    "plain": {},
    "accumulation": {"accumulation_steps": 3},
    "clipping": {"clip_grad_norm": 0.1},
    "fp16 scaler": {"amp": "fp16"},  # with a real GradScaler on the CPU, see below
}


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("in_memory", [True, False])
@pytest.mark.parametrize("path", PATHS)
def test_nothing_lost(kind, how, in_memory, path, monkeypatch):
    if path == "fp16 scaler":  # fp16 autocast needs CUDA; the scaler's path runs on the CPU
        module = importlib.import_module("lrwidgets.training.range_test")
        scaler = lambda device, amp: torch.amp.GradScaler("cpu")  # noqa: E731
        monkeypatch.setattr(module, "grad_scaler", scaler)
        monkeypatch.setattr("warnings.warn", lambda *args, **kwargs: None)
    model, optimizer = used_model_and_optimizer(kind)
    before = everything(model, optimizer)
    X, y = data()
    train = (X, y) if in_memory else [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    kwargs = ending(how) | PATHS[path]
    raised = {"interrupt": KeyboardInterrupt, "exception": Boom}.get(how)
    if raised:
        with pytest.raises(raised) as info:
            range_test(model, train, optimizer=optimizer, batch_size=16, progress=False, **kwargs)
        if how == "exception":
            assert str(info.value) == "from the user's loss"  # unchanged, not wrapped
    else:
        result = range_test(
            model, train, optimizer=optimizer, batch_size=16, progress=False, **kwargs
        )
        assert result.stopped_early == (how != "normal")
        if how == "diverge":
            assert result.stop_reason.startswith("diverged")
    assert_same(before, everything(model, optimizer))


def test_nothing_lost_with_the_default_optimizer_val_data_and_a_seed():
    model, _ = used_model_and_optimizer("sgd")
    before = everything(model, torch.optim.SGD(model.parameters(), lr=0.1))
    rng = torch.get_rng_state()
    range_test(model, data(), val_data=data(24), seed=5, num_iter=15, progress=False)
    assert_same(before, everything(model, torch.optim.SGD(model.parameters(), lr=0.1)))
    assert torch.equal(torch.get_rng_state(), rng)


def test_the_run_really_trained_and_the_tensors_are_the_same_objects():
    """Restoring must undo real changes, into the very tensors the user holds."""
    model, optimizer = used_model_and_optimizer("adam")
    weight, running_mean = model.inp.weight, model.bn.running_mean
    view = model.inp.weight.data  # shares storage with the parameter
    seen = []

    def callback(step, lr, loss):
        seen.append(model.inp.weight.detach().clone())

    range_test(model, data(), optimizer=optimizer, callback=callback, num_iter=5, progress=False)
    assert not torch.equal(seen[-1], view)  # it trained ...
    assert model.inp.weight is weight and model.bn.running_mean is running_mean
    assert torch.equal(view, weight)  # ... and the storage the user holds is back too
    assert [p for g in optimizer.param_groups for p in g["params"]] == list(model.parameters())


def test_flags_a_step_fn_changes_come_back():
    """A step_fn may freeze a layer or switch modes half way (gradual unfreezing and the like)."""
    model, optimizer = used_model_and_optimizer("sgd")
    before = everything(model, optimizer)

    def step_fn(model, batch):
        model.out.weight.requires_grad_(False)
        model.bn.eval()
        inputs, targets = batch
        return nn.functional.cross_entropy(model(inputs), targets)

    range_test(model, data(), optimizer=optimizer, step_fn=step_fn, num_iter=4, progress=False)
    assert_same(before, everything(model, optimizer))


def test_restore_undoes_a_conversion_of_the_whole_model():
    """module.to() swaps parameter storage and replaces buffers, as on a move to a GPU; a change
    of dtype takes the same path on any machine."""
    model, optimizer = used_model_and_optimizer("adam")
    before = everything(model, optimizer)
    saved = snapshot(model, optimizer)
    model.double()
    optimizer.load_state_dict(optimizer.state_dict())  # new state objects, cast to float64
    assert model.bn.running_mean.dtype == torch.float64
    assert next(iter(optimizer.state.values()))["exp_avg"].dtype == torch.float64
    X, y = data()
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(X.double()), y).backward()
    optimizer.step()
    restore(saved)
    assert_same(before, everything(model, optimizer))


def trained(optimizer_class, dtype=torch.float64, steps=3, **kwargs):
    """A float64 (or ``dtype``) model and its optimizer after a few steps, grads left behind."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
    optimizer = optimizer_class(model.parameters(), **kwargs)
    X, y = data()
    for i in range(steps + 1):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X[:16].to(dtype)).float(), y[:16]).backward()
        if i < steps:
            optimizer.step()
    return model, optimizer


def train_more(model, optimizer, steps=5):
    X, y = data()
    for i in range(steps):
        optimizer.zero_grad()
        x = X[i * 8 : (i + 1) * 8].to(next(model.parameters()).dtype)
        nn.functional.cross_entropy(model(x).float(), y[i * 8 : (i + 1) * 8]).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


class MasterWeightSGD(torch.optim.Optimizer):
    """Plain SGD that keeps float32 master weights for low-precision parameters."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    master = self.state[p].setdefault("master", p.float().clone())
                    master.add_(p.grad.float(), alpha=-group["lr"])
                    p.copy_(master)


OPTIMIZERS_WITH_ODD_STATE = [
    (torch.optim.NAdam, torch.float64, {"lr": 1e-2}),  # mu_product stays float32
    (torch.optim.ASGD, torch.float64, {"lr": 1e-2}),  # eta and mu stay float32
    (MasterWeightSGD, torch.bfloat16, {"lr": 1e-2}),  # float32 master weights
]


@pytest.mark.parametrize(("optimizer_class", "dtype", "kwargs"), OPTIMIZERS_WITH_ODD_STATE)
def test_restore_is_in_place_same_objects_same_dtypes(optimizer_class, dtype, kwargs):
    model, optimizer = trained(optimizer_class, dtype, **kwargs)
    twin_model, twin_optimizer = copy.deepcopy((model, optimizer))
    before = everything(model, optimizer)
    groups = list(optimizer.param_groups)
    group_params = [g["params"] for g in optimizer.param_groups]
    state = {p: dict(s) for p, s in optimizer.state.items()}
    state_dicts = {p: s for p, s in optimizer.state.items()}
    grads = [p.grad for p in model.parameters()]
    dtypes = {(i, k): v.dtype for i, s in enumerate(state.values()) for k, v in s.items()}
    if optimizer_class is torch.optim.NAdam:
        assert {v.dtype for s in state.values() for v in (s["mu_product"],)} == {torch.float32}
    if optimizer_class is MasterWeightSGD:
        assert {s["master"].dtype for s in state.values()} == {torch.float32}

    X, y = data()
    range_test(
        model,
        (X.to(dtype), y),
        lambda out, t: nn.functional.cross_entropy(out.float(), t),
        optimizer,
        num_iter=8,
        end_lr=1.0,
        progress=False,
    )

    assert_same(before, everything(model, optimizer))
    assert optimizer.param_groups == groups  # the same list contents ...
    assert all(a is b for a, b in zip(optimizer.param_groups, groups, strict=True))  # ... objects
    assert all(g["params"] is p for g, p in zip(optimizer.param_groups, group_params, strict=True))
    assert all(optimizer.state[p] is state_dicts[p] for p in state_dicts)
    for p, saved in state.items():
        for key, value in saved.items():
            assert optimizer.state[p][key] is value, key
    assert {(i, k): v.dtype for i, s in enumerate(state.values()) for k, v in s.items()} == dtypes
    assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=True))
    # and so training afterwards is bit for bit that of an untouched twin
    after, untouched = train_more(model, optimizer), train_more(twin_model, twin_optimizer)
    for a, b in zip(after, untouched, strict=True):
        assert a.dtype == b.dtype and torch.equal(a, b)


def test_a_param_group_held_before_the_test_still_acts_afterwards():
    model, optimizer = trained(torch.optim.SGD, torch.float32, lr=0.1)
    group = optimizer.param_groups[0]
    range_test(model, data(), optimizer=optimizer, num_iter=5, progress=False)
    group["lr"] = 0.5  # the learner's handle on the group
    weight = model[0].weight.detach().clone()
    optimizer.step()
    assert torch.equal(model[0].weight.detach(), weight - 0.5 * model[0].weight.grad)
