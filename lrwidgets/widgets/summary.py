"""The line of text under RangeTestWidget's plot: what the chosen rule suggests and why the test
stopped, every number read at the current beta and trimming (never the run's beta alone)."""

from __future__ import annotations

import html

from ..plots import describe_stop, format_lr
from ..training import RangeTestResult


def range_test_summary(
    result: RangeTestResult | None,
    method: str,
    lr: float | None,
    beta: float,
    skip_start: int,
    skip_end: int,
) -> str:
    """HTML: ``method`` suggests ``lr`` (or why nothing), the steps taken, why the test stopped
    (``describe_stop`` at ``beta``), a suggestion that is not firm and a curve that is
    unreliable, all at ``beta`` with the trimming ``skip_start`` / ``skip_end``."""
    if result is None:
        return ""
    skips = dict(skip_start=skip_start, skip_end=skip_end)
    text = f"{method} suggests <b>{format_lr(lr) if lr is not None else 'nothing'}</b>"
    if lr is None and result.steps:
        text += f" ({why_nothing(result, method, beta, **skips)})"
    text += f" (beta={beta:.3g}); {result.steps} of {len(result.planned_lrs)} steps"
    stop = describe_stop(result, beta)
    if stop:
        text += f"; {html.escape(stop)}"
    caveat = result.caveats(beta, **skips).get(method) if lr is not None else None
    if caveat:
        text += f"<br>not firm: {method} is {caveat}"
    why = result.unreliable(beta, **skips) if lr is not None else None
    if why:
        text += f'<br><span style="color: #D55E00"><b>Unreliable:</b> {why}</span>'
    return text


def why_nothing(
    result: RangeTestResult, method: str, beta: float, skip_start: int, skip_end: int
) -> str:
    """The reason ``method`` has no answer on the curve at ``beta`` and this trimming."""
    try:
        result.suggestion(method, beta, skip_start=skip_start, skip_end=skip_end, warn=False)
    except (ValueError, TypeError) as error:
        return html.escape(str(error))
    return "no answer"
