"""The text under the widgets' plots: RangeTestWidget's line (what the chosen rule suggests and
why the test stopped, every number read at the current beta and trimming, never the run's beta
alone) and TrainingWidget's table of each run's last numbers."""

from __future__ import annotations

import html
from collections.abc import Mapping

from ..plots import describe_stop, format_lr
from ..training import History, RangeTestResult


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


def format_number(x: float) -> str:
    return f"{x:.4g}"


def results_table(histories: Mapping[str, History], metric: str, seed: int | None = None) -> str:
    """An HTML table of each run's last numbers: training loss of the last step, validation
    loss and ``metric`` after the last epoch, and why it stopped early (if it did); under it,
    with two or more runs, a note that they are single-seed runs (``single_seed_note``)."""
    head = ["run", "steps", "last training loss", "validation loss"]
    if metric == "accuracy":
        head.append("validation accuracy")
    head.append("stopped early")
    rows = []
    for name, h in histories.items():
        cells = [name, str(len(h.loss)), format_number(h.loss[-1]) if len(h.loss) else "-"]
        cells.append(format_number(h.val_loss[-1]) if len(h.val_loss) else "-")
        if metric == "accuracy":
            cells.append(format_number(h.val_accuracy[-1]) if len(h.val_accuracy) else "-")
        cells.append(h.stop_reason or "")
        rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells))
    header = "".join(f"<th>{c}</th>" for c in head)
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    style = (
        "<style>.lrwidgets-results th, .lrwidgets-results td "
        "{padding: 2px 10px; text-align: right}</style>"
    )
    table = f'{style}<table class="lrwidgets-results"><tr>{header}</tr>{body}</table>'
    return table + single_seed_note(histories, seed)


def single_seed_note(histories: Mapping[str, History], seed: int | None) -> str:
    """Under a comparison of two or more runs: each trained once, with one seed, so a small
    difference between them may be the seed's luck rather than the learning rate's."""
    if len(histories) < 2:
        return ""
    which = "" if seed is None else f" (seed {seed})"
    return (
        f"<p><i>Single-seed runs{which}: each run trained once, from the same start and batch "
        "order. A difference smaller than the spread between seeds (notebook 06) can be luck: "
        "change the seed and run again before you trust it.</i></p>"
    )
