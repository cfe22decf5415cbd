"""The course's problems: a model factory, its data and its loss (and, for some, their own
optimizer and schedule), all made in code or read from local files (no download). Built on
``training``; the studies and widgets train on them.

Reading order: base.py (what a problem is) -> catalog.py (the problems by name: toy, digits,
local MNIST files) -> resnet.py, finetune.py, transformer.py (the models people train now).
"""

from .base import OWN_OPTIMIZER, Problem
from .catalog import LOCAL_PROBLEMS, PROBLEMS, get_problem
from .datasets import load_idx_images

__all__ = [
    "LOCAL_PROBLEMS",
    "OWN_OPTIMIZER",
    "PROBLEMS",
    "Problem",
    "get_problem",
    "load_idx_images",
]
