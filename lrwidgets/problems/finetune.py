"""Transfer learning without a download: a CNN learns digits 0-4, then is fine-tuned on 5-9.

Pre-training (once per session, cached, about a second): ``small_cnn`` (two conv blocks, then a
linear layer: 5.4 thousand parameters) learns the 901 images of the digits 0-4 in scikit-learn's
8x8 digits, with Adam for ``PRETRAIN_EPOCHS`` epochs, from seed 0: the same weights on every run.
Its convolutional part is the *backbone*: features that are useful for digits.

Fine-tuning (``digits-finetune``): the 896 images of the digits 5-9, labelled 0-4, split into
training and validation; every model is the pre-trained backbone and a new linear *head*
(5 classes) that ``make_model(seed)`` initialises with the seed. The inputs are standardized
with the pre-training images' mean and std, the backbone's own normalisation (as one reuses
ImageNet's). The problem's optimizer (``make_optimizer``) has two param groups, the head first
and the backbone at a tenth of its lr (discriminative learning rates, Howard and Ruder 2018,
"Universal Language Model Fine-tuning"): the range test sweeps the head's lr and keeps the
backbone at a tenth of it, so one suggestion means both rates.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache, partial

import torch
from torch import nn

from ..core.checks import check_int, check_open_unit
from ..training import fit
from .base import Problem, by_seed, small_cnn, split
from .datasets import load_digits_arrays

SIDE, CLASSES = 8, 5  # 8x8 images; 5 classes before (0-4) and after (5-9)
PRETRAIN_EPOCHS = 8
PRETRAIN_LR = 3e-3  # Adam's lr for pre-training
HEAD_LR = 1e-3  # the fine-tune's optimizer: AdamW, the head at this lr ...
BACKBONE_SHARE = 0.1  # ... and the backbone at a tenth of it


def digit_images(digits: range) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits images (N, 1, 8, 8), float32, whose label is in ``digits``, and their labels
    counted from the first of them (5-9 become 0-4)."""
    images, target = load_digits_arrays()
    keep = (target >= digits.start) & (target < digits.stop)
    X = torch.tensor(images[keep], dtype=torch.float32).unsqueeze(1)
    return X, torch.tensor(target[keep] - digits.start, dtype=torch.int64)


def backbone_and_head() -> nn.Sequential:
    """``small_cnn`` cut in two: ``model.backbone`` (the conv blocks, flattened), ``model.head``."""
    layers = list(small_cnn(SIDE, CLASSES))
    return nn.Sequential(
        OrderedDict(backbone=nn.Sequential(*layers[:-1]), head=layers[-1])  # type: ignore[arg-type]
    )


@lru_cache(maxsize=1)
def pretrained() -> tuple[dict[str, torch.Tensor], float, float, float]:
    """Train ``backbone_and_head()`` on the digits 0-4, the same way on every call (seed 0, CPU).

    Returns the backbone's weights, the mean and std of the pre-training images (the inputs'
    normalisation) and the accuracy on those images. Cached for the session.
    """
    X, y = digit_images(range(0, 5))
    mean, std = float(X.mean()), float(X.std())
    model = by_seed(backbone_and_head)(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=PRETRAIN_LR)
    data = ((X - mean) / std, y)
    fit(model, data, nn.CrossEntropyLoss(), optimizer, epochs=PRETRAIN_EPOCHS, seed=0,
        device="cpu", progress=False)  # fmt: skip
    with torch.no_grad():
        accuracy = float((model(data[0]).argmax(dim=1) == y).float().mean())
    state = {key: value.detach().clone() for key, value in model.backbone.state_dict().items()}
    return state, mean, std, accuracy


def pretrained_model(backbone: dict[str, torch.Tensor]) -> nn.Sequential:
    """The pre-trained backbone and a freshly initialised head (from the current random state)."""
    model = backbone_and_head()
    model.backbone.load_state_dict(backbone)
    return model


def two_rates(model: nn.Module) -> torch.optim.AdamW:
    """AdamW with the head (group 0) at ``HEAD_LR`` and the backbone (group 1) at a tenth."""
    return torch.optim.AdamW(
        [
            {"params": model.head.parameters(), "lr": HEAD_LR},
            {"params": model.backbone.parameters(), "lr": HEAD_LR * BACKBONE_SHARE},
        ]
    )


def digits_finetune(
    *,
    pretrained_backbone: bool = True,
    val_fraction: float = 0.2,
    batch_size: int = 32,
    data_seed: int = 0,
) -> Problem:
    """``digits-finetune``: the CNN pre-trained on digits 0-4 (see the module) fine-tuned on the
    digits 5-9 with a new head, 5.4 thousand parameters. Split with ``data_seed`` (default: 717
    train, 179 validation, 23 steps per epoch at batch size 32). ``make_optimizer(model)``:
    AdamW, the head at lr, the backbone at lr / 10.

    ``pretrained_backbone=False``: the same CNN, data and optimizer, but the backbone starts
    from random weights too (initialised with the seed): what the pre-training is worth.
    """
    if not isinstance(pretrained_backbone, bool):
        raise TypeError(f"pretrained_backbone must be True or False, got {pretrained_backbone!r}")
    val_fraction = check_open_unit("val_fraction", val_fraction)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    data_seed = check_int("data_seed", data_seed, minimum=0)
    backbone, mean, std, accuracy = pretrained()
    X, y = digit_images(range(5, 10))
    train, val = split((X - mean) / std, y, val_fraction, data_seed)
    return Problem(
        name="digits-finetune",
        description=(
            f"8x8 digits 5-9, {len(train[0])} train / {len(val[0])} validation; a CNN "
            + (
                f"pre-trained on digits 0-4 ({accuracy:.1%} right there), new head"
                if pretrained_backbone
                else "from random weights (no pre-training)"
            )
            + "; AdamW, backbone at lr / 10"
        ),
        make_model=by_seed(
            partial(pretrained_model, backbone) if pretrained_backbone else backbone_and_head
        ),
        train_data=train,
        val_data=val,
        loss_fn=nn.CrossEntropyLoss(),
        task="classification",
        batch_size=batch_size,
        extras={"classes": CLASSES, "side": SIDE, "pretrain_accuracy": accuracy},
        make_optimizer=two_rates,
        optimizer=f"AdamW, head at lr (group 0), backbone at lr x {BACKBONE_SHARE}",
    )
