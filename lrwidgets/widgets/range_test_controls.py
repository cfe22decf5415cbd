"""RangeTestWidget's controls, at the range test's defaults (``lrwidgets.core.defaults``): the
test's settings above the plot, the ways of reading it below, the pin buttons and the figure."""

from __future__ import annotations

from typing import Any

import ipywidgets

from ..core import SUGGESTION_METHODS, SWEEP_MODES
from ..core.checks import check_beta
from ..core.defaults import (
    BATCH_SIZE,
    BETA,
    DIVERGE_TH,
    END_LR,
    METHOD,
    NUM_ITER,
    OPTIMIZER,
    SKIP_END,
    START_LR,
)
from ..plots import draw_range_test
from ..problems import PROBLEMS
from ..training.optimizers import OPTIMIZERS
from .controls import STYLE, checked_slider, log_slider, number_box, toggle


def make_controls(w: Any, extra_problems: list[str]) -> None:
    """Give the widget ``w`` its controls (attributes named after what they set), the pin
    buttons, the summary and the figure's two panels; ``extra_problems`` lead the problem
    choice ("custom" for the learner's own model)."""
    choices = extra_problems + list(PROBLEMS)
    w.problem = ipywidgets.Dropdown(options=choices, description="problem", style=STYLE)
    w.optimizer_name = ipywidgets.Dropdown(
        options=OPTIMIZERS, value=OPTIMIZER, description="optimizer", style=STYLE
    )
    w.mode = toggle("mode", SWEEP_MODES)
    w.start_lr = log_slider("start_lr", START_LR)
    w.end_lr = log_slider("end_lr", END_LR)
    w.endpoint = ipywidgets.Checkbox(True, description="end_lr included (off: fastai's)")
    w.num_iter = number_box(ipywidgets.IntText, "num_iter", NUM_ITER)
    w.batch_size = number_box(ipywidgets.IntText, "batch_size", BATCH_SIZE)
    w.diverge_th = number_box(ipywidgets.FloatText, "diverge_th", DIVERGE_TH)
    w.seed = number_box(ipywidgets.IntText, "seed", 0)
    w.accumulation_steps = number_box(ipywidgets.IntText, "accumulation_steps", 1)
    w.clip_grad_norm = number_box(ipywidgets.FloatText, "clip_grad_norm", 0.0)
    w.beta = checked_slider("beta", BETA, 0.0, 0.999, check_beta, step=0.001, readout_format=".3f")
    # Live while dragging with ipympl (a blit of the loss axes); on release for the PNG fallback.
    w.beta.continuous_update = w.view.backend == "ipympl"
    w.debias = ipywidgets.Checkbox(True, description="debias (divide by 1 - beta^t)")
    w.show_raw = ipywidgets.Checkbox(True, description="raw loss")
    w.show_smoothed = ipywidgets.Checkbox(True, description="smoothed loss")
    w.show_conventions = ipywidgets.Checkbox(False, description="all 3 EWMA conventions")
    w.skip_start = number_box(ipywidgets.IntText, "skip_start", NUM_ITER // 10)
    w.skip_end = number_box(ipywidgets.IntText, "skip_end", SKIP_END)
    w.method = ipywidgets.Dropdown(
        options=SUGGESTION_METHODS, value=METHOD, description="suggestion", style=STYLE
    )
    w.summary = ipywidgets.HTML()
    w.pin_label = ipywidgets.Text(
        placeholder="label (default: what differs)", layout={"width": "220px"}
    )
    w.pin_button = ipywidgets.Button(description="Pin this curve", icon="thumb-tack")
    w.clear_pins_button = ipywidgets.Button(description="Clear pins", icon="times")
    loss_ax, lr_ax = w.figure.subplots(2, 1, height_ratios=[2.2, 1])
    w.artists = draw_range_test(loss_ax, lr_ax)
