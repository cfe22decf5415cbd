"""A small residual network with BatchNorm (He et al. 2016, "Deep Residual Learning"), sized for
8x8 digits: the kind of model most image classifiers are today, in miniature.

    stem:     conv3x3(1 -> c), BN, ReLU                                   c x 8 x 8
    block 1:  y = ReLU(x + BN(conv3x3(ReLU(BN(conv3x3(x))))))            c x 8 x 8
    block 2:  the same with stride 2 and 2c channels; the skip path is   2c x 4 x 4
              BN(conv1x1, stride 2) so that it has the shape of the output
    head:     global average pool, linear(2c -> classes)

With c = 16 and 10 classes it has about 20 thousand parameters. BatchNorm normalises each channel
with the batch's mean and variance while training (and keeps running averages of them, buffers,
for evaluation): the loss of a step depends on the other examples in its batch, one reason the
range test's curve of a BatchNorm network moves with the batch size.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two conv3x3-BN layers and a skip connection: ReLU(x' + F(x)), x' = x or its projection."""

    def __init__(self, fan_in: int, fan_out: int, stride: int = 1) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(fan_in, fan_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(fan_out),
            nn.ReLU(),
            nn.Conv2d(fan_out, fan_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(fan_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or fan_in != fan_out:
            self.skip = nn.Sequential(
                nn.Conv2d(fan_in, fan_out, 1, stride=stride, bias=False), nn.BatchNorm2d(fan_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.skip(x) + self.branch(x))


def small_resnet(classes: int, channels: int = 16) -> nn.Sequential:
    """Stem, a residual block at ``channels``, one at 2 x ``channels`` and half the side, then
    global average pooling and a linear layer (see the module)."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        ResidualBlock(channels, channels),
        ResidualBlock(channels, 2 * channels, stride=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * channels, classes),
    )
