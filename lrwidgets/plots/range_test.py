"""The range-test picture: the loss against lr (raw, smoothed, suggestions, where it stopped)
and the lr against the step.

It comes in two steps, so a widget can redraw in place instead of building a new figure on
every change: ``draw_range_test(ax)`` creates empty, labelled artists; ``update_range_test``
puts data into them (``set_data``), following a ``CurveView``: what the reading controls show.
``plot_range_test`` does both at once for a notebook cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core import SMOOTHING_CONVENTIONS, SUGGESTION_METHODS, smooth
from .style import (
    GREY,
    OKABE_ITO,
    RUN_COLORS,
    SMOOTHED_NAME,
    SMOOTHED_STYLE,
    SUGGESTION_NAME,
    SUGGESTION_STYLE,
    WARNING_COLOR,
    format_lr,
    legend_below,
    new_axes,
    show_or_hide,
)
from .view import keep_limits, loss_limits, loss_range

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    from ..training import RangeTestResult


@dataclass
class RangeTestArtists:
    """The artists of a range-test picture: the loss against lr (``loss_ax``) and, when
    drawn, the learning rate against the step (``lr_ax``)."""

    loss_ax: Axes
    raw: Line2D
    smoothed: dict[str, Line2D]  # one line per smoothing convention
    suggestions: dict[str, Line2D]  # one marker per suggestion method
    stop: Line2D  # a vertical line where the test stopped early
    skipped: Line2D  # ticks along the bottom at the lrs whose step a GradScaler skipped
    lr_ax: Axes | None = None
    planned: Line2D | None = None  # the whole sweep
    taken: Line2D | None = None  # the steps taken
    pinned: list[Line2D] = field(default_factory=list)  # earlier curves kept for comparison
    shows: tuple = ()  # the results the y-limits were set for (kept while only the view moves)


def draw_range_test(ax: Axes, lr_ax: Axes | None = None) -> RangeTestArtists:
    """Empty, labelled range-test artists on ``ax`` (and the lr-per-step panel on ``lr_ax``).

    Every line has a ``gid`` ("raw", "smoothed-debiased", "suggestion-valley", "stop",
    "skipped", "planned", "taken"; "pinned-0", ... for pinned curves) so that a test or a
    notebook can find it in the figure.
    """
    (raw,) = ax.plot([], [], color=OKABE_ITO["sky_blue"], lw=1.0, alpha=0.8, gid="raw")
    smoothed = {
        c: ax.plot([], [], gid=f"smoothed-{c}", **SMOOTHED_STYLE[c])[0]
        for c in SMOOTHING_CONVENTIONS
    }
    suggestions = {
        m: ax.plot([], [], ls="none", ms=8, zorder=5, gid=f"suggestion-{m}", **SUGGESTION_STYLE[m])[
            0
        ]
        for m in SUGGESTION_METHODS
    }
    (stop,) = ax.plot(
        [],
        [],
        color=OKABE_ITO["black"],
        ls=":",
        lw=1.5,
        gid="stop",
        transform=ax.get_xaxis_transform(),
    )
    (skipped,) = ax.plot(
        [],
        [],
        color=WARNING_COLOR,
        ls="none",
        marker="|",
        ms=10,
        gid="skipped",
        transform=ax.get_xaxis_transform(),  # x in lr, y in axes fractions: along the bottom
    )
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    artists = RangeTestArtists(ax, raw, smoothed, suggestions, stop, skipped)
    if lr_ax is not None:
        (artists.planned,) = lr_ax.plot([], [], color=GREY, ls="--", label="planned", gid="planned")
        (artists.taken,) = lr_ax.plot(
            [], [], color=OKABE_ITO["blue"], lw=2.0, label="taken", gid="taken"
        )
        artists.lr_ax = lr_ax
        lr_ax.set_xlabel("step")
        lr_ax.set_ylabel("learning rate")
        lr_ax.grid(alpha=0.3)
    for line in [raw, stop, skipped, *smoothed.values(), *suggestions.values()]:
        show_or_hide(line, False)
    return artists


@dataclass(frozen=True)
class CurveView:
    """What a range-test picture shows: the reading controls, as one object.

    - ``beta``: the EWMA's beta (None: the test's own); ``debias``: divide by 1 - beta^t;
    - ``show_raw``, ``show_smoothed``: draw the raw losses, the smoothed curve;
    - ``conventions``: draw all three smoothing conventions (debiased, biased, from-first);
    - ``suggestions``: the suggestion methods to mark (``lrwidgets.core.SUGGESTION_METHODS``);
    - ``skip_start``, ``skip_end``: the trimming of the suggestions (None: fastai's);
    - ``legend_beta``: the smoothed curve's legend entry names beta (a widget shows it on its
      slider instead, so that a beta move leaves the legend as it is).

    ``RangeTestResult.plot(**kwargs)`` and ``plot_range_test`` take these names as keyword
    arguments; a widget builds one from its controls.
    """

    beta: float | None = None
    debias: bool = True
    show_raw: bool = True
    show_smoothed: bool = True
    suggestions: Sequence[str] = SUGGESTION_METHODS
    conventions: bool = False
    skip_start: int | None = None
    skip_end: int | None = None
    legend_beta: bool = True


def update_range_test(
    artists: RangeTestArtists,
    result: RangeTestResult,
    view: CurveView | None = None,
    *,
    pinned: Sequence[tuple[str, RangeTestResult]] = (),
) -> dict[str, float]:
    """Draw ``result`` into ``artists`` in place, as ``view`` says; return the suggestions
    {method: lr} of the methods in ``view.suggestions``.

    The smoothed curve is ``result.smoothed(beta)`` (``debias=False``: ``"biased"`` without
    ``debias``); with ``conventions`` all three conventions are drawn together. The suggestions
    are ``result.suggestions(beta, skip_start=..., skip_end=...)``: the rules read the
    debiased curve (as fastai's ``lr_find``; None: its trimming). Their markers sit on a curve
    that is drawn: the main smoothed one (debiased, or biased when ``debias`` is off); with no
    smoothed curve shown, on the raw loss; with neither, they are hidden. A suggestion with a
    caveat (``result.caveats``) is drawn hollow, "(not firm)" in the legend and why in the
    left title; when the curve never falls clearly (``result.unreliable``), it says so too.
    ``pinned`` are (label, result) pairs of earlier tests, drawn smoothed the same way.
    The x axis is logarithmic for an exponential sweep and spans the planned sweeps; the y
    limits are ``loss_limits`` of what is drawn (``lrwidgets.plots.view``).
    """
    view = CurveView() if view is None else view
    beta = result.beta if view.beta is None else view.beta
    ax = artists.loss_ax
    ax.set_xscale("log" if result.mode == "exp" else "linear")
    artists.raw.set_data(result.lrs, result.losses)
    show_or_hide(artists.raw, view.show_raw, "raw loss")
    main = "debiased" if view.debias else "biased"
    shown = (SMOOTHING_CONVENTIONS if view.conventions else (main,)) if view.show_smoothed else ()
    curves = update_smoothed(artists, result, beta, shown, view.legend_beta)
    pinned_curves = update_pinned(artists, pinned, beta, main)

    skips = dict(skip_start=view.skip_start, skip_end=view.skip_end)
    # The markers sit on the smoothed curve drawn (the main one), else on the raw loss.
    on = curves.get(main, curves.get("debiased"))
    if on is None and view.show_raw:
        on = result.losses
    found = result.suggestions(beta, warn=False, **skips) if view.suggestions else {}
    found = {m: lr for m, lr in found.items() if m in view.suggestions}
    caveats = result.caveats(beta, **skips) if found else {}
    marks = update_suggestions(artists, result, found if on is not None else {}, caveats, on)
    unreliable = bool(found) and bool(result.unreliable(beta, **skips))
    doubts = ["Suggestions unreliable: the loss never falls clearly"] if unreliable else []
    doubts += [f"{SUGGESTION_NAME[m]} not firm: {why}" for m, why in caveats.items() if m in found]
    # The left title, so that a learner's own ax.set_title(...) stays in the default colour.
    ax.set_title("\n".join(doubts), loc="left", color=WARNING_COLOR, fontsize="medium")
    update_stop(artists, result)
    update_skipped(artists, result)

    smoothed_shown = list(curves.values()) + pinned_curves
    raw_shown = [result.losses] if view.show_raw else []
    if not smoothed_shown:  # the raw loss alone: it is the curve to show whole
        smoothed_shown, raw_shown = raw_shown, []
    results = [result, *(r for _, r in pinned)]
    shows = tuple(id(r) for r in results)
    steady = artists.shows == shows  # the same curves re-read: keep the limits if they fit
    update_limits(
        ax, results, smoothed_shown, result.diverge_th, raw=raw_shown, points=marks, steady=steady
    )
    artists.shows = shows
    legend_below(ax)
    if artists.lr_ax is not None:
        update_sweep_panel(artists, result)
    return found


def update_smoothed(
    artists: RangeTestArtists,
    result: RangeTestResult,
    beta: float,
    shown: Sequence[str],
    legend_beta: bool = True,
) -> dict[str, np.ndarray]:
    """Show the smoothed curves of the conventions in ``shown``, hide the others; return
    {convention: curve} of those shown. ``legend_beta``: their legend entries name beta."""
    curves = {}
    for convention, line in artists.smoothed.items():
        visible = convention in shown
        if visible:
            curves[convention] = smooth(result.losses, beta, convention)
            line.set_data(result.lrs, curves[convention])
        name = SMOOTHED_NAME[convention]
        show_or_hide(line, visible, f"{name} (beta={beta:.3g})" if legend_beta else name)
    return curves


def update_suggestions(
    artists: RangeTestArtists,
    result: RangeTestResult,
    found: dict[str, float],
    caveats: dict[str, str],
    curve: np.ndarray | None,
) -> list[float]:
    """One marker per suggestion in ``found``, on ``curve`` (interpolated in log lr for an
    exponential sweep); hollow and "(not firm)" for one with a caveat; the others hidden.
    Returns the markers' heights."""
    log_x = result.mode == "exp"
    x = (np.log(result.lrs) if log_x else result.lrs) if found else None
    heights = []
    for method, marker in artists.suggestions.items():
        label = f"{SUGGESTION_NAME[method]}: {format_lr(found.get(method, 0))}"
        if method in found:
            lr = found[method]
            y = np.interp(np.log(lr) if log_x else lr, x, curve)
            marker.set_data([lr], [y])
            heights.append(float(y))
            firm = method not in caveats
            marker.set_markerfacecolor(SUGGESTION_STYLE[method]["color"] if firm else "none")
            if not firm:
                label += " (not firm)"
        show_or_hide(marker, method in found, label)
    return heights


def update_stop(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """A vertical line where a stop rule ended the test, named after the rule."""
    if result.stopped_early and len(result.lrs):
        lr = float(result.lrs[-1])
        artists.stop.set_data([lr, lr], [0.0, 1.0])
        why_stop = (result.stop_reason or "stopped").split(":")[0]
        show_or_hide(artists.stop, True, f"stopped at {format_lr(lr)} ({why_stop})")
    else:
        show_or_hide(artists.stop, False)


def describe_stop(result: RangeTestResult, beta: float | None = None) -> str | None:
    """Why the test stopped, in words, with its numbers read at ``beta`` (default: the test's):
    a divergence says where the smoothed loss ends and its best at that beta, since the
    test's own numbers were those of its own beta. None when it ran every step."""
    reason = result.stop_reason
    if not reason or not reason.startswith("diverged") or not result.steps:
        return reason
    beta = result.beta if beta is None else beta
    curve = result.smoothed(beta)
    curve = curve[np.isfinite(curve)]
    if not curve.size:
        return reason
    return (
        f"diverged: the smoothed loss passed {result.diverge_th:g} x its best as the test ran "
        f"(beta={result.beta:.3g}); at beta={beta:.3g} it ends at {curve[-1]:.4g}, its best is "
        f"{curve.min():.4g}"
    )


def update_skipped(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """Ticks along the bottom at the lrs of the steps a GradScaler skipped (``amp="fp16"``):
    no step was taken there, so they are marked, not drawn as a loss on the curve."""
    lrs = result.skipped_lrs
    artists.skipped.set_data(lrs, np.full(len(lrs), 0.02))
    show_or_hide(artists.skipped, len(lrs) > 0, f"step skipped by the GradScaler ({len(lrs)})")


def update_limits(
    ax: Axes,
    results: Sequence[RangeTestResult],
    curves: list[np.ndarray],
    diverge_th: float,
    raw: Sequence[np.ndarray] = (),
    points: Sequence[float] = (),
    steady: bool = False,
) -> None:
    """x: every result's whole planned sweep; y: ``loss_limits`` of what is drawn. With
    ``steady`` (the same results, read another way) the y-limits on screen stay when they
    still hold everything that must be seen (``keep_limits``)."""
    planned = [r.planned_lrs for r in results if len(r.planned_lrs) >= 2]
    if planned:
        xlim = (min(p[0] for p in planned), max(p[-1] for p in planned))
        if ax.get_xlim() != xlim:
            ax.set_xlim(*xlim)
    limits = loss_limits(curves, diverge_th, raw=raw, points=points)
    if limits is None:
        return
    needed = loss_range(curves, diverge_th, raw=raw, points=points)
    if not (steady and keep_limits(ax.get_ylim(), needed, limits)):
        ax.set_ylim(*limits)


def update_pinned(
    artists: RangeTestArtists,
    pinned: Sequence[tuple[str, RangeTestResult]],
    beta: float,
    convention: str,
) -> list[np.ndarray]:
    """Draw the pinned curves: each (label, result) smoothed with ``beta`` and
    ``convention``, thin and in its own colour, the label as its legend entry. The lines are
    reused from one call to the next (a beta move with many pins moves data, it does not
    rebuild artists). Returns the curves drawn."""
    lines = artists.pinned
    while len(lines) > len(pinned):
        lines.pop().remove()
    colors = RUN_COLORS[1:]  # blue is the current run's
    while len(lines) < len(pinned):
        i = len(lines)
        color = colors[i % len(colors)]
        lines.append(artists.loss_ax.plot([], [], color=color, lw=1.3, alpha=0.9)[0])
    curves = []
    for i, (line, (label, result)) in enumerate(zip(lines, pinned, strict=True)):
        curve = smooth(result.losses, beta, convention)
        line.set_data(result.lrs, curve)
        line.set_label(label)
        line.set_gid(f"pinned-{i}")
        curves.append(curve)
    return curves


def update_sweep_panel(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """The learning rate of every step: the planned sweep and the steps taken."""
    planned = result.planned_lrs
    artists.planned.set_data(np.arange(len(planned)), planned)
    artists.taken.set_data(np.arange(len(result.lrs)), result.lrs)
    lr_ax = artists.lr_ax
    lr_ax.set_yscale("log" if result.mode == "exp" else "linear")
    lr_ax.set_title(f"{result.mode} sweep", fontsize="medium")
    lr_ax.relim()
    lr_ax.autoscale_view()
    lr_ax.legend(loc="upper left", fontsize="small")


def plot_range_test(result: RangeTestResult, ax: Axes | None = None, **view) -> Axes:
    """Plot a range test: the raw loss, its EWMA, the suggestions and where it stopped.

    The keyword arguments are those of ``CurveView``: ``beta`` (default: the test's) and
    ``debias`` choose the smoothing, ``conventions=True`` overlays all three conventions
    (debiased, biased, from-first); ``suggestions`` lists the methods to mark, on the curve
    trimmed by ``skip_start`` / ``skip_end`` (None: fastai's ``lr_find`` trimming). An
    unreliable curve says so in the title; a suggestion that is not firm is hollow and the title
    says why. Returns the Axes; the lines carry gids (see ``draw_range_test``).
    """
    if ax is None:
        (ax,) = new_axes(figsize=(6.0, 5.0))  # the legend goes below the Axes
    update_range_test(draw_range_test(ax), result, CurveView(**view))
    return ax
