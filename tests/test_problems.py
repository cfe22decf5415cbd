"""The ready-made problems: promised curvature, determinism, shapes, clear errors."""

import numpy as np
import pytest
import torch

from lrwidgets.problems import LOCAL_PROBLEMS, PROBLEMS, Problem, get_problem


def full_batch_loss(problem: Problem, w: torch.Tensor) -> torch.Tensor:
    X, y = problem.train_data
    return problem.loss_fn(X @ w[:, None], y)


def test_quadratic_hessian_has_the_promised_eigenvalues():
    problem = get_problem("quadratic", dim=6, n=64, lambda_max=2.5, condition=50.0)
    w = torch.zeros(6)
    H = torch.autograd.functional.hessian(lambda w: full_batch_loss(problem, w), w)
    eig = np.sort(torch.linalg.eigvalsh(H.double()).numpy())[::-1]
    assert np.allclose(eig, problem.extras["eigenvalues"], rtol=1e-4)
    assert eig[0] == pytest.approx(2.5, rel=1e-4)
    assert eig[-1] == pytest.approx(2.5 / 50, rel=1e-4)
    assert problem.extras["stability_limit"] == pytest.approx(2 / 2.5)
    assert problem.extras["momentum_stability_limit"] == pytest.approx(2 * 1.9 / 2.5)


def test_quadratic_hessian_of_the_model_matches():
    """The model and loss the problem hands out have that Hessian too (not just X)."""
    problem = get_problem("quadratic")
    model = problem.make_model(0)
    X, y = problem.train_data
    (w0,) = model.parameters()

    def loss(w):
        return problem.loss_fn(torch.func.functional_call(model, {"weight": w}, (X,)), y)

    H = torch.autograd.functional.hessian(loss, w0.detach()).reshape(10, 10)
    eig = np.sort(torch.linalg.eigvalsh(H.double()).numpy())[::-1]
    assert np.allclose(eig, problem.extras["eigenvalues"], rtol=1e-4)


def gradient_descent(problem: Problem, lr: float, steps: int) -> float:
    """Full-batch plain GD from the model's initial weights; the final loss."""
    model = problem.make_model(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    X, y = problem.train_data
    for _ in range(steps):
        optimizer.zero_grad()
        loss = problem.loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
    return problem.loss_fn(model(X), y).item()


def test_quadratic_gd_converges_just_below_the_limit_and_diverges_just_above():
    problem = get_problem("quadratic", condition=10.0)
    limit = problem.extras["stability_limit"]
    initial = gradient_descent(problem, lr=limit, steps=0)
    below = gradient_descent(problem, lr=0.97 * limit, steps=600)
    above = gradient_descent(problem, lr=1.03 * limit, steps=600)
    assert below == pytest.approx(problem.extras["min_loss"], rel=1e-3)
    assert above > 1e3 * initial


def test_quadratic_min_loss_is_the_least_squares_floor():
    problem = get_problem("quadratic", noise=0.0)
    assert problem.extras["min_loss"] < 1e-8
    w_star = torch.tensor(problem.extras["w_star"], dtype=torch.float32)
    assert full_batch_loss(problem, w_star).item() < 1e-8


@pytest.mark.parametrize("name", PROBLEMS)
def test_make_model_is_deterministic_per_seed_and_leaves_the_global_rng(name):
    problem = get_problem(name)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = problem.make_model(0), problem.make_model(0), problem.make_model(1)
    assert torch.equal(torch.rand(1), before)
    same = [torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True)]
    differ = [torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True)]
    assert all(same)
    assert not all(differ)


@pytest.mark.parametrize("name", PROBLEMS)
def test_data_is_deterministic_and_fits_the_model(name):
    p, q = get_problem(name), get_problem(name)
    for a, b in zip(p.train_data + p.val_data, q.train_data + q.val_data, strict=True):
        assert torch.equal(a, b)
    X, y = p.train_data
    out = p.make_model(0)(X[:7])
    loss = p.loss_fn(out, y[:7])
    assert torch.isfinite(loss)
    if "vocabulary" in p.extras:  # the language model: character codes in, logits out
        assert X.dtype == y.dtype == torch.int64
        assert out.shape == (7, X.shape[1], len(p.extras["vocabulary"]))
    elif p.task == "classification":
        assert X.dtype == torch.float32
        assert y.dtype == torch.int64
        assert out.shape == (7, int(y.max()) + 1)
    else:
        assert X.dtype == torch.float32
        assert out.shape == y[:7].shape


def test_data_seed_changes_the_data():
    a = get_problem("spirals", data_seed=0).train_data[0]
    b = get_problem("spirals", data_seed=1).train_data[0]
    assert not torch.equal(a, b)


def test_spirals_arms_and_sizes():
    p = get_problem("spirals", arms=3, n_per_arm=40, val_fraction=0.25)
    X, y = p.train_data
    assert len(X) + len(p.val_data[0]) == 120
    assert len(p.val_data[0]) == 30
    assert set(torch.cat([y, p.val_data[1]]).tolist()) == {0, 1, 2}
    assert p.make_model(0)(X).shape == (90, 3)


def test_digits_split_standardized_and_23_steps_per_epoch():
    p = get_problem("digits-mlp")
    X, y = p.train_data
    assert len(X) + len(p.val_data[0]) == 1797
    assert -(-len(X) // p.batch_size) == 23
    assert X.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert X.std().item() == pytest.approx(1.0, abs=1e-5)
    assert X.shape[1:] == (1, 8, 8)
    assert set(y.tolist()) == set(range(10))


def test_digits_cnn_is_a_convolutional_net():
    model = get_problem("digits-cnn").make_model(0)
    assert any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def test_unknown_problem_names_the_choices():
    with pytest.raises(ValueError, match="name must be one of 'quadratic'"):
        get_problem("cifar")


@pytest.mark.parametrize("name", LOCAL_PROBLEMS)
def test_local_problems_need_a_path(name):
    with pytest.raises(ValueError, match="needs path="):
        get_problem(name)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(condition=0.5), ValueError, "condition"),
        (dict(lambda_max=-1.0), ValueError, "lambda_max"),
        (dict(dim=20, n=10), ValueError, "n must be"),
        (dict(noise=-0.1), ValueError, "noise"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(dim=2.5), TypeError, "dim"),
    ],
)
def test_quadratic_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        get_problem("quadratic", **kwargs)


def test_bad_model_and_seed_are_named():
    with pytest.raises(ValueError, match="model must be one of 'mlp', 'cnn', 'resnet'"):
        get_problem("digits-mlp", model="vgg")
    with pytest.raises(ValueError, match="seed"):
        get_problem("spirals").make_model(-1)


def test_problem_range_test_is_the_call_the_notebooks_copied():
    """problem.range_test(seed) = range_test(make_model(seed), train_data, loss_fn,
    batch_size=problem.batch_size, seed=seed); keyword arguments win; a problem's own
    make_optimizer(model) is its optimizer."""
    from lrwidgets import range_test

    problem = get_problem("spirals", n_per_arm=64, hidden=8, batch_size=16)
    quick = dict(num_iter=12, progress=False, device="cpu")
    ours = problem.range_test(seed=2, **quick)
    theirs = range_test(
        problem.make_model(2), problem.train_data, problem.loss_fn, batch_size=16, seed=2, **quick
    )
    assert np.array_equal(ours.lrs, theirs.lrs) and np.array_equal(ours.losses, theirs.losses)
    assert not np.array_equal(problem.range_test(seed=3, **quick).losses, ours.losses)

    made = []

    def make_optimizer(model):
        made.append(torch.optim.Adam(model.parameters()))
        return made[-1]

    problem.make_optimizer = make_optimizer  # the optional field other problems carry
    adam = problem.range_test(seed=2, **quick)
    assert len(made) == 1 and not np.array_equal(adam.losses, ours.losses)
    sgd = torch.optim.SGD(problem.make_model(2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="not one of model.parameters"):
        problem.range_test(seed=2, optimizer=sgd, **quick)  # an optimizer given wins (and is
    assert len(made) == 1  # checked against the model), make_optimizer is not called
