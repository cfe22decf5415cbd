"""The course's problems: a model factory, its data and its loss, all made in code or read from
local files (no download). Built on ``training`` for nothing but types; the studies and widgets
train on them.
"""

from .catalog import LOCAL_PROBLEMS, PROBLEMS, Problem, get_problem
from .datasets import load_idx_images

__all__ = ["LOCAL_PROBLEMS", "PROBLEMS", "Problem", "get_problem", "load_idx_images"]
