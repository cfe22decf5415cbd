"""The numeric core: numpy in, numpy out. No torch, no widgets.

Reading order: sweep.py (the lrs) -> smoothing.py (the EWMA) -> divergence.py (when to stop) ->
suggest.py (which lr to pick) -> reliability.py (when not to trust it) -> schedules.py (how to
train with it; warmup.py: the transformers' warm-up then cosine). checks.py holds the argument
checks they share, defaults.py every default.
"""

from .divergence import check_diverge_th, divergence_limit, divergence_reason
from .fastai_schedule import fastai_one_cycle
from .reliability import UnreliableCurveWarning, minimum_caveat, unreliable_reason
from .schedules import Schedule, constant, cyclic, one_cycle
from .smoothing import (
    EWMA,
    SMOOTHING_CONVENTIONS,
    ewma,
    ewma_from_first,
    smooth,
    torch_lr_finder_curve,
)
from .suggest import (
    SUGGESTION_METHODS,
    SUGGESTION_RULES,
    fastai_skips,
    minimum,
    slide,
    steep,
    steepest,
    suggest_lr,
    trim_curve,
    valley,
)
from .sweep import SWEEP_MODES, lr_sweep
from .warmup import warmup_cosine, warmup_share_cosine

__all__ = [
    "EWMA",
    "SMOOTHING_CONVENTIONS",
    "SUGGESTION_METHODS",
    "SUGGESTION_RULES",
    "SWEEP_MODES",
    "Schedule",
    "UnreliableCurveWarning",
    "check_diverge_th",
    "constant",
    "cyclic",
    "divergence_limit",
    "divergence_reason",
    "ewma",
    "ewma_from_first",
    "fastai_skips",
    "fastai_one_cycle",
    "lr_sweep",
    "minimum",
    "minimum_caveat",
    "one_cycle",
    "slide",
    "smooth",
    "steep",
    "steepest",
    "suggest_lr",
    "torch_lr_finder_curve",
    "trim_curve",
    "unreliable_reason",
    "valley",
    "warmup_cosine",
    "warmup_share_cosine",
]
