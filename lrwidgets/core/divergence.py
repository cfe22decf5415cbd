"""When to stop a range test: the loss has run away, or is no longer a number.

The run-away rule is fastai's, ``smoothed > diverge_th * best``, for positive losses
(cross-entropy, squared errors). Written as a distance above the best,

    smoothed - best > (diverge_th - 1) * |best|

it means the same for a positive ``best`` and still makes sense for a loss that can be
negative (a Gaussian negative log-likelihood, a shifted loss): with ``best = -8`` and the
default 4, the test stops above -8 + 3 * 8 = 16. (Taken literally, fastai's rule would stop a
negative loss at once: any value is greater than 4 x -8 = -32.) For ``best >= 0`` the limit is
computed as fastai computes it, ``diverge_th * best``, so positive losses stop at exactly the
same step as in fastai.
"""

from __future__ import annotations

import math

from .checks import check_number
from .defaults import DIVERGE_TH


def check_diverge_th(diverge_th: object) -> float:
    """The divergence threshold must be a number > 1 (the default 4 is fastai's)."""
    x = check_number("diverge_th", diverge_th)
    if not x > 1.0:
        raise ValueError(f"diverge_th must be a number > 1, got {diverge_th!r}")
    return x


def divergence_limit(best_smoothed_loss: float, diverge_th: float = DIVERGE_TH) -> float:
    """The smoothed loss above which a test stops: ``diverge_th * best`` for ``best >= 0``,
    ``best + (diverge_th - 1) * |best|`` for a negative best (the same rule, see above).

    >>> divergence_limit(2.0), divergence_limit(-8.0)  # 4 x 2, and -8 + 3 x 8
    (8.0, 16.0)
    """
    if best_smoothed_loss >= 0:
        return diverge_th * best_smoothed_loss
    return best_smoothed_loss + (diverge_th - 1.0) * abs(best_smoothed_loss)


def divergence_reason(
    loss: float, smoothed_loss: float, best_smoothed_loss: float, diverge_th: float = DIVERGE_TH
) -> str | None:
    """Why the test should stop now, or ``None`` to go on.

    Stop when the raw loss is not finite (NaN or inf), or when
    smoothed_loss - best > (diverge_th - 1) * |best| (the best smoothed loss seen so far, this
    step included): fastai's smoothed_loss > diverge_th * best for positive losses, and a rule
    that works for any real-valued loss (``divergence_limit``).
    """
    if not math.isfinite(loss):
        return f"loss is not finite ({loss})"
    if smoothed_loss > divergence_limit(best_smoothed_loss, diverge_th):
        if best_smoothed_loss >= 0:
            rule = f"{diverge_th:g} x best {best_smoothed_loss:.4g}"
        else:
            rule = f"best {best_smoothed_loss:.4g} + {diverge_th - 1:g} x |best|"
        return f"diverged: smoothed loss {smoothed_loss:.4g} > {rule}"
    return None
