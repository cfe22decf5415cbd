"""When to stop a range test: the loss has run away, or is no longer a number."""

from __future__ import annotations

import math

from .checks import check_number


def check_diverge_th(diverge_th: object) -> float:
    """The divergence threshold must be a number > 1 (the default 4 is fastai's)."""
    x = check_number("diverge_th", diverge_th)
    if not x > 1.0:
        raise ValueError(f"diverge_th must be a number > 1, got {diverge_th!r}")
    return x


def divergence_reason(
    loss: float, smoothed_loss: float, best_smoothed_loss: float, diverge_th: float = 4.0
) -> str | None:
    """Why the test should stop now, or ``None`` to go on.

    Stop when the raw loss is not finite (NaN or inf), or when
    smoothed_loss > diverge_th * best_smoothed_loss (the best seen so far, this step included).
    The multiplicative rule assumes positive losses, as cross-entropy and squared errors are.
    """
    if not math.isfinite(loss):
        return f"loss is not finite ({loss})"
    if smoothed_loss > diverge_th * best_smoothed_loss:
        return (
            f"diverged: smoothed loss {smoothed_loss:.4g} > "
            f"{diverge_th:g} x best {best_smoothed_loss:.4g}"
        )
    return None
