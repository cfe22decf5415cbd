"""The batched ensemble against the loop it replaces: one ``fit`` per learning rate.

References are plain ``fit`` runs (torch.optim's own SGD/Adam/AdamW and the same schedules);
members must end with the same weights and record the same validation, members that blow up
must stop as ``fit`` stops and leave the others alone.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from lrwidgets.core import one_cycle
from lrwidgets.problems import Problem, get_problem
from lrwidgets.problems.catalog import by_seed
from lrwidgets.studies import grid_obstacle, train_at_lrs
from lrwidgets.studies.batched import batching_obstacle, fit_ensemble
from lrwidgets.studies.batched.members import draws_random_numbers
from lrwidgets.studies.batched.rules import update_rule
from lrwidgets.training import fit

RTOL = 1e-5


@pytest.fixture(scope="module")
def spirals():
    return get_problem("spirals", n_per_arm=64, hidden=16)


def dropout_batchnorm_mlp() -> nn.Module:
    """No bias before BatchNorm: its gradient is zero up to rounding, which Adam would amplify."""
    return nn.Sequential(
        nn.Linear(2, 16, bias=False),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(16, 2),
    )


@pytest.fixture(scope="module")
def noisy_spirals(spirals):
    """The spirals with a model that has dropout and BatchNorm (no course problem has both)."""
    return Problem(
        name="spirals-dropout-bn",
        description="spirals, MLP with BatchNorm and dropout",
        make_model=by_seed(dropout_batchnorm_mlp),
        train_data=spirals.train_data,
        val_data=spirals.val_data,
        loss_fn=nn.CrossEntropyLoss(),
        task="classification",
        batch_size=32,
    )


def assert_same_grid(loop, batched, stable):
    """Equal diverged flags; on the ``stable`` rows (non-chaotic lrs) equal numbers."""
    assert np.array_equal(loop.diverged, batched.diverged)
    assert np.array_equal(loop.initial_loss, batched.initial_loss)
    for name in ("train_loss", "val_loss", "val_accuracy"):
        a, b = getattr(loop, name)[stable], getattr(batched, name)[stable]
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=0, err_msg=name)


@pytest.mark.parametrize("policy", ["constant", "one_cycle"])
@pytest.mark.parametrize("dropout_bn", [False, True], ids=["plain", "dropout+batchnorm"])
def test_batched_grid_equals_the_loop(spirals, noisy_spirals, policy, dropout_bn):
    problem = noisy_spirals if dropout_bn else spirals
    lrs = [0.003, 0.03, 0.3, 300.0]  # 300 blows up at once
    kwargs = dict(epochs=2, seeds=(0, 1), policy=policy)
    loop = train_at_lrs(problem, lrs, batched=False, **kwargs)
    batched = train_at_lrs(problem, lrs, batched=True, **kwargs)
    assert loop.diverged[-1].all()
    assert not loop.diverged[:-1].any()
    assert_same_grid(loop, batched, slice(0, 3))


@pytest.mark.parametrize(
    "factory",
    [
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.5, nesterov=True),
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.8, dampening=0.2),
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, weight_decay=0.01),
        lambda m: torch.optim.Adam(m.parameters()),
        lambda m: torch.optim.Adam(m.parameters(), betas=(0.8, 0.99), weight_decay=0.01),
        lambda m: torch.optim.AdamW(m.parameters(), weight_decay=0.1),
    ],
    ids=["sgd-nesterov", "sgd-dampening", "sgd-weight-decay", "adam", "adam-l2", "adamw"],
)
@pytest.mark.parametrize("schedule", ["constant", "one_cycle"])
@pytest.mark.parametrize("dropout_bn", [False, True], ids=["seeds-together", "seed-by-seed"])
def test_each_member_ends_with_the_weights_fit_gives(
    spirals, noisy_spirals, factory, schedule, dropout_bn
):
    """Member (seed k, schedule i) of fit_ensemble = fit(model k, schedule i, seed k) with
    torch.optim's own optimizer. Seeds train together unless the model draws random numbers."""
    problem, epochs, seeds = (noisy_spirals if dropout_bn else spirals), 2, [3, 4]
    total = epochs * math.ceil(len(problem.train_data[0]) / problem.batch_size)
    lrs = [1e-3, 1e-2, 1e-1]
    plans = [lr if schedule == "constant" else one_cycle(total, max_lr=lr) for lr in lrs]
    templates = [problem.make_model(seed) for seed in seeds]
    before = [[t.clone() for t in m.state_dict().values()] for m in templates]
    run = fit_ensemble(
        templates,
        problem.train_data,
        problem.loss_fn,
        factory(templates[0]),
        plans,
        seeds=seeds,
        epochs=epochs,
        val_data=problem.val_data,
        batch_size=problem.batch_size,
        device="cpu",
    )
    for model, saved in zip(templates, before, strict=True):
        for t, s in zip(model.state_dict().values(), saved, strict=True):
            assert torch.equal(t, s)  # the templates are not trained
    for k, seed in enumerate(seeds):
        for i, plan in enumerate(plans):
            model = problem.make_model(seed)
            history = fit(
                model,
                problem.train_data,
                problem.loss_fn,
                factory(model),
                epochs=epochs,
                schedule=plan,
                val_data=problem.val_data,
                batch_size=problem.batch_size,
                device="cpu",
                seed=seed,
                progress=False,
            )
            m = k * len(plans) + i
            for name, value in model.state_dict().items():
                stacked = run.buffers[name] if name in run.buffers else run.params[name]
                torch.testing.assert_close(stacked[m], value, rtol=1e-4, atol=1e-6, msg=name)
            np.testing.assert_allclose(run.val_loss[m], history.val_loss, rtol=RTOL)
            np.testing.assert_array_equal(run.val_accuracy[m], history.val_accuracy)


def test_a_member_that_blows_up_late_stops_as_fit_stops_and_spares_the_others():
    """Heavy ball on the full-batch bowl at 1.3 x 2 (1 + mu) / lambda_max grows for 42 epochs
    before the loss overflows; the loop keeps the validation loss of the last epoch it finished
    (about 1e36: growing 5x an epoch, so a 1e-3 relative match means the same epoch)."""
    bowl = get_problem("quadratic", n=256, batch_size=256, condition=10.0)
    lrs = [0.5 * bowl.extras["stability_limit"], 1.3 * bowl.extras["momentum_stability_limit"]]
    loop = train_at_lrs(bowl, lrs, epochs=60, batched=False)
    batched = train_at_lrs(bowl, lrs, epochs=60, batched=True)
    assert list(loop.diverged[:, 0]) == [False, True]
    assert not np.isfinite(loop.train_loss[1, 0])
    assert 1e30 < loop.val_loss[1, 0] < math.inf  # recorded before the blow-up
    assert_same_grid(loop, batched, slice(0, 1))
    np.testing.assert_allclose(batched.val_loss[1], loop.val_loss[1], rtol=1e-3)


def test_none_batches_when_it_can_and_falls_back_to_the_loop(spirals):
    def rmsprop(model):
        return torch.optim.RMSprop(model.parameters())

    lrs, kwargs = [0.01, 0.1], dict(epochs=1, seeds=(0,), optimizer_factory=rmsprop)
    fallback = train_at_lrs(spirals, lrs, **kwargs)
    loop = train_at_lrs(spirals, lrs, batched=False, **kwargs)
    for name in ("train_loss", "val_loss", "val_accuracy"):
        assert np.array_equal(getattr(fallback, name), getattr(loop, name))
    with pytest.raises(ValueError, match="batched=True.*knows SGD, Adam and AdamW, not RMSprop"):
        train_at_lrs(spirals, lrs, batched=True, **kwargs)
    with pytest.raises(TypeError, match="batched must be None, True or False"):
        train_at_lrs(spirals, lrs, batched="yes")


class ItemInForward(nn.Module):
    """Data-dependent Python control flow: torch.func cannot batch ``.item()``."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        return out if out.sum().item() > -1e9 else -out


def test_obstacles_name_the_reason(spirals):
    model = nn.Linear(2, 2)
    data = spirals.train_data
    assert batching_obstacle(model, None, data, 32) is None
    assert "cannot batch this model" in batching_obstacle(ItemInForward(), None, data, 32)

    def item_loss(outputs, targets):
        return outputs.sum() * 0 + outputs.abs().max().item()

    assert "cannot batch this model" in batching_obstacle(model, None, data, 32, item_loss)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data), batch_size=32)
    assert "not (X, y) tensors" in batching_obstacle(model, None, loader, 32)
    two_groups = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1)
    with pytest.raises(ValueError, match="2 param groups"):
        update_rule(two_groups, model)
    with pytest.raises(ValueError, match="amsgrad"):
        update_rule(torch.optim.Adam(model.parameters(), amsgrad=True), model)


def test_the_probe_leaves_model_and_random_stream_as_found():
    model = dropout_batchnorm_mlp()
    saved = [t.clone() for t in model.state_dict().values()]
    torch.manual_seed(7)
    assert batching_obstacle(model, None, (torch.randn(40, 2), torch.zeros(40).long()), 8) is None
    after = torch.rand(3)
    torch.manual_seed(7)
    torch.randn(40, 2)
    assert torch.equal(after, torch.rand(3))
    for t, s in zip(model.state_dict().values(), saved, strict=True):
        assert torch.equal(t, s)
    assert model.training
    assert draws_random_numbers(model, torch.randn(8, 2))
    assert not draws_random_numbers(
        nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4)), torch.randn(8, 2)
    )


def adam(model):
    return torch.optim.Adam(model.parameters())


@pytest.mark.parametrize("name", ["quadratic", "spirals", "digits-mlp", "digits-cnn"])
def test_every_course_problem_trains_batched_by_default(name):
    """batched=None batches the course's problems with the default optimizer and with Adam."""
    problem = get_problem(name)
    assert grid_obstacle(problem, None, torch.device("cpu")) is None
    assert grid_obstacle(problem, adam, torch.device("cpu")) is None


def test_adam_grid_and_a_cnn_grid_equal_the_loop(spirals):
    """Adam with one-cycle's beta1 schedule on the spirals; SGD on digits-cnn's convolutions."""
    kwargs = dict(epochs=2, seeds=(0, 1), policy="one_cycle", optimizer_factory=adam)
    lrs = [1e-3, 1e-2]
    assert_same_grid(
        train_at_lrs(spirals, lrs, batched=False, **kwargs),
        train_at_lrs(spirals, lrs, batched=True, **kwargs),
        slice(None),
    )
    cnn = get_problem("digits-cnn")
    cnn.train_data = tuple(t[:256] for t in cnn.train_data)  # 4 steps an epoch
    kwargs = dict(epochs=1, seeds=(0, 1))
    assert_same_grid(
        train_at_lrs(cnn, lrs, batched=False, **kwargs),
        train_at_lrs(cnn, lrs, batched=True, **kwargs),
        slice(None),
    )


def test_clipping_and_accumulation_reach_every_run_and_train_in_the_loop(spirals):
    """train_at_lrs takes fit's clip_grad_norm, accumulation_steps and batch_size; the batched
    ensemble does neither clipping nor accumulation, so the grid falls back to the loop."""
    settings = dict(batch_size=32, clip_grad_norm=0.1, accumulation_steps=2)
    assert "clip_grad_norm=0.1" in grid_obstacle(spirals, None, torch.device("cpu"), **settings)
    with pytest.raises(ValueError, match="accumulation_steps=2: the batched ensemble"):
        train_at_lrs(spirals, [0.1], batched=True, accumulation_steps=2, device="cpu")
    grid = train_at_lrs(spirals, [0.1, 1.0], epochs=1, seeds=(1,), device="cpu", **settings)
    for i, lr in enumerate([0.1, 1.0]):
        model = spirals.make_model(1)
        history = fit(
            model,
            spirals.train_data,
            spirals.loss_fn,
            schedule=lr,
            seed=1,
            val_data=spirals.val_data,
            device="cpu",
            progress=False,
            **settings,
        )
        assert history.steps_per_epoch == len(spirals.train_data[0]) // 32 // 2
        assert grid.val_loss[i, 0] == history.val_loss[-1]
