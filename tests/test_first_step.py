"""What can be checked is checked before training; what fails in the first step says what met
there (the call, the batch's shapes and dtypes, the model's dtype and device)."""

import pytest
import torch
from torch import nn

from lrwidgets.training import fit, range_test


class Counted(nn.Module):
    def __init__(self, features=3):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(features, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.linear(x)


def data(n=32, features=3, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, features, generator=g, dtype=dtype), torch.randint(
        0, 2, (n,), generator=g
    )


def fit_at(model, train, **kwargs):
    return fit(model, train, schedule=0.01, **kwargs)


@pytest.mark.parametrize("run", [range_test, fit_at])
@pytest.mark.parametrize(
    ("data_and_kwargs", "error", "match"),
    [
        (
            lambda: (data(dtype=torch.float64), {}),
            TypeError,
            r"the inputs are torch.float64 but the model's parameters are torch.float32; "
            r"convert the data \(X.to\(torch.float32\)\)",
        ),
        (
            lambda: (data(), {"loss_fn": nn.CrossEntropyLoss}),
            TypeError,
            r"such as CrossEntropyLoss\(\), got the class CrossEntropyLoss itself; add \(\)",
        ),
        (
            lambda: (list(data()), {}),
            TypeError,
            r"pass the tuple \(X, y\), not the list \[X, y\]",
        ),
        (
            lambda: ([a.numpy() for a in data()], {}),
            TypeError,
            r"one array of shape \(32, 3\); .* not the list \[X, y\]",
        ),
    ],
)
def test_checked_before_the_first_step(run, data_and_kwargs, error, match):
    model = Counted()
    before = model.linear.weight.detach().clone()
    train, kwargs = data_and_kwargs()
    with pytest.raises(error, match=match):
        run(model, train, progress=False, **kwargs)
    assert model.calls == 0
    assert torch.equal(model.linear.weight, before)


def test_a_loss_that_is_not_one_number_is_named():
    model = Counted()
    loss = nn.CrossEntropyLoss(reduction="none")
    with pytest.raises(ValueError) as info:
        range_test(model, data(), loss, batch_size=16, progress=False)
    message = str(info.value)
    assert message.startswith("the first training step failed in loss_fn(outputs, targets): ")
    assert "the loss must be one number (a tensor with one element), got shape (16,)" in message
    assert "reduction='mean'" in message


def fit_at(model, train, **kwargs):
    return fit(model, train, schedule=0.01, **kwargs)


@pytest.mark.parametrize("run", [range_test, fit_at])
def test_a_failure_in_the_first_step_says_what_met_there(run):
    model = Counted(features=3)
    X, y = data(features=4)  # one feature too many for the model
    with pytest.raises(RuntimeError) as info:
        run(model, (X, y), batch_size=16, progress=False)
    message = str(info.value)
    assert message.startswith("the first training step failed in model(inputs): ")
    assert "batch: ((16, 4) torch.float32 on cpu, (16,) torch.int64 on cpu)" in message
    assert message.endswith("model parameters: torch.float32 on cpu")
    original = info.value.__cause__
    assert isinstance(original, RuntimeError) and str(original) in message  # torch's own words


def test_a_step_fn_failure_names_step_fn():
    def step_fn(model, batch):
        raise KeyError("image")

    with pytest.raises(KeyError, match=r"first training step failed in step_fn\(model, batch\)"):
        range_test(Counted(), [{"image": torch.zeros(2, 3)}], step_fn=step_fn, progress=False)


def test_the_trial_of_the_first_batch_leaves_everything_as_it_was():
    """check_first_batch runs the first step's calls once: random state, BatchNorm's running
    statistics and every .grad come back as they were, also under torch.no_grad()."""
    from contextlib import nullcontext

    from lrwidgets.training.loop import check_first_batch

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
    model[0].weight.grad = torch.ones_like(model[0].weight)
    buffers = [b.clone() for b in model.buffers()]
    state = torch.get_rng_state()
    with torch.no_grad():
        check_first_batch(model, data(), nn.CrossEntropyLoss(), None, nullcontext())
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(buffers, model.buffers(), strict=True))
    assert torch.equal(model[0].weight.grad, torch.ones_like(model[0].weight))
    assert model[3].weight.grad is None


def test_a_loss_without_a_gradient_is_named_at_backward():
    def step_fn(model, batch):
        return model(batch[0]).sum().detach()  # cut off from the weights

    with pytest.raises(RuntimeError, match=r"first training step failed in loss.backward\(\)"):
        range_test(Counted(), [data()], step_fn=step_fn, progress=False)
