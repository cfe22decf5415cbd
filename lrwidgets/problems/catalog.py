"""Ready-made problems to run range tests and training on: a model factory plus its data.

- ``"quadratic"``: least squares whose Hessian has eigenvalues you choose, so the learning rate
  at which gradient descent becomes unstable is known exactly (2 / lambda_max).
- ``"spirals"``: 2-D points on two (or more) interleaved spiral arms, a small MLP classifies them.
- ``"digits-mlp"``, ``"digits-cnn"``: scikit-learn's bundled 8x8 handwritten digits (no download).
- ``"digits-resnet"``: the same digits, a small residual CNN with BatchNorm (``resnet.py``).
- ``"digits-finetune"``: transfer learning, a CNN trained on digits 0-4 fine-tuned on 5-9 with a
  new head and two param groups, the backbone at a tenth of the head (``finetune.py``).
- ``"charlm-transformer"``: a small GPT predicting the next character of Python's own
  standard-library source, trained with AdamW (``transformer.py``).
- ``"mnist-mlp"``, ``"mnist-cnn"``: MNIST-format files (MNIST, Fashion-MNIST, ...) that you
  already have in a local folder: ``get_problem("mnist-mlp", path="data/")``.

Everything is deterministic: the data for given arguments, and ``make_model(seed)`` for a seed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from torch import nn

from ..core.checks import (
    check_choice,
    check_int,
    check_non_negative,
    check_open_unit,
    check_positive,
)
from ..core.defaults import BATCH_SIZE, SGD_MOMENTUM
from .base import Problem, Tensors, by_seed, mlp, small_cnn, split, standardize
from .datasets import load_digits_arrays, load_idx_images
from .finetune import digits_finetune
from .resnet import small_resnet
from .transformer import charlm

PROBLEMS = (
    "quadratic",
    "spirals",
    "digits-mlp",
    "digits-cnn",
    "digits-resnet",
    "digits-finetune",
    "charlm-transformer",
)
LOCAL_PROBLEMS = ("mnist-mlp", "mnist-cnn")  # need path= to files on disk
MODELS = ("mlp", "cnn", "resnet")


def quadratic(
    *,
    dim: int = 10,
    n: int = 512,
    lambda_max: float = 1.0,
    condition: float = 100.0,
    noise: float = 0.5,
    batch_size: int = 32,
    data_seed: int = 0,
) -> Problem:
    """A noisy quadratic bowl with known curvature: least squares, L(w) = mean((X w - y)^2).

    Its Hessian is H = (2/n) X^T X. We build X = sqrt(n/2) Q diag(sqrt(lambda)) V^T with Q (n x d)
    orthonormal columns and V (d x d) a random rotation, so H = V diag(lambda) V^T has exactly the
    eigenvalues lambda, log-spaced from lambda_max down to lambda_max / condition.
    Targets y = X w* + noise * eps: minibatches see different noise, hence noisy gradients.

    On this bowl gradient descent w <- w - lr * grad is stable exactly when, for every
    eigenvalue, |1 - lr * lambda| < 1, i.e. lr < 2 / lambda_max (``stability_limit``).
    SGD with momentum mu (PyTorch's form, the heavy ball) is stable when
    lr < 2 (1 + mu) / lambda_max (``momentum_stability_limit``, for mu = 0.9, the range
    test's default optimizer). Both limits are for the full batch: a minibatch has its own
    Hessian, whose largest eigenvalue is often larger, so SGD on minibatches becomes unstable
    somewhat earlier. ``min_loss`` is the lowest training loss any w reaches.
    Validation inputs are drawn from N(0, H/2), whose (2/n) X^T X is H on average.
    """
    dim = check_int("dim", dim, minimum=1)
    n = check_int("n", n, minimum=dim)
    lambda_max = check_positive("lambda_max", lambda_max)
    condition = check_positive("condition", condition)
    if condition < 1:
        raise ValueError(f"condition must be a number >= 1, got {condition!r}")
    noise = check_non_negative("noise", noise)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    data_seed = check_int("data_seed", data_seed, minimum=0)

    eigenvalues = np.geomspace(lambda_max, lambda_max / condition, dim)
    rng = np.random.default_rng(data_seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, dim)))
    V, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    X = np.sqrt(n / 2) * (Q * np.sqrt(eigenvalues)) @ V.T
    w_star = rng.standard_normal(dim)
    y = X @ w_star + noise * rng.standard_normal(n)
    X_val = (rng.standard_normal((n // 4, dim)) * np.sqrt(eigenvalues / 2)) @ V.T
    y_val = X_val @ w_star + noise * rng.standard_normal(n // 4)

    def tensors(a: np.ndarray, b: np.ndarray) -> Tensors:
        return torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)[:, None]

    train, val = tensors(X, y), tensors(X_val, y_val)
    X32, y32 = (t.double().numpy() for t in train)
    w_best = np.linalg.lstsq(X32, y32, rcond=None)[0]
    momentum = SGD_MOMENTUM  # the default optimizer's (lrwidgets.core.defaults)
    extras = {
        "eigenvalues": eigenvalues,
        "lambda_max": lambda_max,
        "lambda_min": float(eigenvalues[-1]),
        "stability_limit": 2.0 / lambda_max,
        "momentum": momentum,
        "momentum_stability_limit": 2.0 * (1.0 + momentum) / lambda_max,
        "w_star": w_star,
        "min_loss": float(np.mean((X32 @ w_best - y32) ** 2)),
    }
    return Problem(
        name="quadratic",
        description=(
            f"least squares in {dim} dimensions with Hessian eigenvalues from {lambda_max:g} "
            f"down to {extras['lambda_min']:.3g}; plain GD is stable below lr = "
            f"{extras['stability_limit']:.3g}, SGD with momentum {momentum:g} below "
            f"{extras['momentum_stability_limit']:.3g}"
        ),
        make_model=by_seed(partial(nn.Linear, dim, 1, bias=False)),
        train_data=train,
        val_data=val,
        loss_fn=nn.MSELoss(),
        task="regression",
        batch_size=batch_size,
        extras=extras,
    )


def spirals(
    *,
    arms: int = 2,
    n_per_arm: int = 300,
    turns: float = 1.0,
    noise: float = 0.05,
    hidden: int = 64,
    val_fraction: float = 0.25,
    batch_size: int = BATCH_SIZE,
    data_seed: int = 0,
) -> Problem:
    """Points on ``arms`` interleaved spiral arms in the plane; the class is the arm.

    A point at t ~ U(0, 1) on arm k sits at radius r = t and angle
    theta = 2 pi (turns * t + k / arms), plus Gaussian noise of std ``noise`` on each coordinate.
    The model is an MLP 2 -> hidden -> hidden -> arms with ReLU.
    """
    arms = check_int("arms", arms, minimum=2)
    n_per_arm = check_int("n_per_arm", n_per_arm, minimum=2)
    turns = check_positive("turns", turns)
    noise = check_non_negative("noise", noise)
    hidden = check_int("hidden", hidden, minimum=1)
    val_fraction = check_open_unit("val_fraction", val_fraction)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    data_seed = check_int("data_seed", data_seed, minimum=0)

    gen = torch.Generator().manual_seed(data_seed)
    t = torch.rand(arms, n_per_arm, generator=gen)
    arm = torch.arange(arms).repeat_interleave(n_per_arm)
    theta = 2 * torch.pi * (turns * t.flatten() + arm / arms)
    X = t.flatten()[:, None] * torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    X = X + noise * torch.randn(X.shape, generator=gen)
    train, val = split(X, arm, val_fraction, data_seed)
    return Problem(
        name="spirals",
        description=f"{arms}-arm spirals, {turns:g} turns, {arms * n_per_arm} points; MLP",
        make_model=by_seed(partial(mlp, [2, hidden, hidden, arms])),
        train_data=train,
        val_data=val,
        loss_fn=nn.CrossEntropyLoss(),
        task="classification",
        batch_size=batch_size,
        extras={"arms": arms},
    )


def image_problem(
    name: str,
    description: str,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    model: str,
    hidden: int,
    val_fraction: float,
    batch_size: int,
    data_seed: int,
) -> Problem:
    """Split and standardize square 1-channel images X (N, 1, side, side) and build the model."""
    check_choice("model", model, MODELS)
    hidden = check_int("hidden", hidden, minimum=1)
    val_fraction = check_open_unit("val_fraction", val_fraction)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    data_seed = check_int("data_seed", data_seed, minimum=0)
    side, classes = X.shape[-1], int(y.max()) + 1
    if model == "mlp":
        build = partial(mlp, [side * side, hidden, classes])
    elif model == "cnn":
        build = partial(small_cnn, side, classes)
    else:
        build = partial(small_resnet, classes)
    train, val = standardize(*split(X, y, val_fraction, data_seed))
    return Problem(
        name=name,
        description=f"{description}; {len(train[0])} train / {len(val[0])} validation; {model}",
        make_model=by_seed(build),
        train_data=train,
        val_data=val,
        loss_fn=nn.CrossEntropyLoss(),
        task="classification",
        batch_size=batch_size,
        extras={"classes": classes, "side": side},
    )


def digits(
    *,
    model: str = "mlp",
    hidden: int = 64,
    val_fraction: float = 0.2,
    batch_size: int = BATCH_SIZE,
    data_seed: int = 0,
) -> Problem:
    """scikit-learn's 1797 handwritten digits, 8x8 pixels (bundled with it, no download).

    Split with ``data_seed`` (default: 1438 train, 359 validation, so 23 steps per epoch at batch
    size 64), standardized with the training mean and std. ``model`` is "mlp"
    (64 -> hidden -> 10), "cnn" (two conv blocks on 1 x 8 x 8, see ``small_cnn``) or "resnet"
    (two residual blocks with BatchNorm, see ``resnet.small_resnet``).
    """
    images, target = load_digits_arrays()
    X = torch.tensor(images, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(target, dtype=torch.int64)
    return image_problem(
        f"digits-{model}",
        "8x8 handwritten digits (scikit-learn)",
        X,
        y,
        model=model,
        hidden=hidden,
        val_fraction=val_fraction,
        batch_size=batch_size,
        data_seed=data_seed,
    )


def mnist(
    path: str | None = None,
    *,
    model: str = "mlp",
    limit: int | None = None,
    hidden: int = 128,
    val_fraction: float = 0.1,
    batch_size: int = 128,
    data_seed: int = 0,
) -> Problem:
    """MNIST-format images from the local folder ``path`` (MNIST, Fashion-MNIST, KMNIST).

    Reads the training files (see ``datasets.load_idx_images``), keeps the first ``limit``
    images when given, splits off ``val_fraction`` for validation and standardizes.
    ``model`` is "mlp" (784 -> hidden -> classes) or "cnn" (see ``small_cnn``).
    """
    if path is None:
        raise ValueError(
            f"mnist-{model} needs path=, a local folder holding train-images-idx3-ubyte[.gz] and "
            "train-labels-idx1-ubyte[.gz] (MNIST or Fashion-MNIST); lrwidgets never downloads data"
        )
    X, y = load_idx_images(path, "train")
    if limit is not None:
        limit = check_int("limit", limit, minimum=2)
        X, y = X[:limit], y[:limit]
    return image_problem(
        f"mnist-{model}",
        f"MNIST-format images from {path}",
        X,
        y,
        model=model,
        hidden=hidden,
        val_fraction=val_fraction,
        batch_size=batch_size,
        data_seed=data_seed,
    )


BUILDERS: dict[str, Callable[..., Problem]] = {
    "quadratic": quadratic,
    "spirals": spirals,
    "digits-mlp": partial(digits, model="mlp"),
    "digits-cnn": partial(digits, model="cnn"),
    "digits-resnet": partial(digits, model="resnet"),
    "digits-finetune": digits_finetune,
    "charlm-transformer": charlm,
    "mnist-mlp": partial(mnist, model="mlp"),
    "mnist-cnn": partial(mnist, model="cnn"),
}


def get_problem(name: str, **kwargs) -> Problem:
    """The problem called ``name`` (one of PROBLEMS, or LOCAL_PROBLEMS with ``path=``).

    Keyword arguments go to its builder (``quadratic``, ``spirals``, ``digits``, ``mnist``,
    ``finetune.digits_finetune``, ``transformer.charlm``).
    """
    check_choice("name", name, PROBLEMS + LOCAL_PROBLEMS)
    return BUILDERS[name](**kwargs)
