"""The numeric core: numpy in, numpy out. No torch, no widgets.

Reading order: sweep.py (the lrs) -> smoothing.py (the EWMA) -> divergence.py (when to stop) ->
suggest.py (which lr to pick) -> schedules.py (how to train with it). checks.py holds the
argument checks they share.
"""

from .divergence import check_diverge_th, divergence_reason
from .schedules import Schedule, constant, cyclic, fastai_one_cycle, one_cycle
from .smoothing import EWMA, SMOOTHING_CONVENTIONS, ewma, ewma_seeded, smooth
from .suggest import SUGGESTION_METHODS, suggest_lr, trim_curve
from .sweep import SWEEP_MODES, lr_sweep

__all__ = [
    "EWMA",
    "SMOOTHING_CONVENTIONS",
    "SUGGESTION_METHODS",
    "SWEEP_MODES",
    "Schedule",
    "check_diverge_th",
    "constant",
    "cyclic",
    "divergence_reason",
    "ewma",
    "ewma_seeded",
    "fastai_one_cycle",
    "lr_sweep",
    "one_cycle",
    "smooth",
    "suggest_lr",
    "trim_curve",
]
