"""ScheduleWidget: turn a learning rate into a one-cycle, cyclical or constant schedule.

Every schedule comes from ``lrwidgets.core`` (``one_cycle``, ``cyclic``, ``constant``), which
match PyTorch's OneCycleLR and CyclicLR step for step; the text box shows the PyTorch code
(``Schedule.to_code()``) for exactly the schedule drawn.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import ipywidgets
import traitlets

from ..core import SUGGESTION_METHODS, Schedule, constant, cyclic, fastai_one_cycle, one_cycle
from ..core.checks import check_beta, check_choice, check_int, check_open_unit
from ..core.defaults import (
    CYCLIC_BASE_LR,
    CYCLIC_GAMMA,
    CYCLIC_MOMENTA,
    FASTAI_DIV,
    FASTAI_DIV_FINAL,
    FASTAI_MOMS,
    FASTAI_PCT_START,
    METHOD,
    ONE_CYCLE_DIV_FACTOR,
    ONE_CYCLE_FINAL_DIV_FACTOR,
    ONE_CYCLE_MOMENTA,
    ONE_CYCLE_PCT_START,
)
from ..core.schedules import ANNEAL_STRATEGIES, quarter_cycle
from ..plots import clear_schedule, draw_schedule, update_schedule
from ..training import RangeTestResult
from .base import LRWidget
from .controls import (
    STYLE,
    CheckedSlider,
    apply_defaults,
    checked_slider,
    log_slider,
    number_box,
    row,
    set_log_value,
    toggle,
)
from .range_test import RangeTestWidget

# (label, value): the value is the cyclic ``mode`` for the three CyclicLR policies.
POLICIES = (
    ("one-cycle", "one_cycle"),
    ("one-cycle as fastai", "fastai_one_cycle"),
    ("cyclic: triangular", "triangular"),
    ("cyclic: triangular2", "triangular2"),
    ("cyclic: exp_range", "exp_range"),
    ("constant", "constant"),
)
# PyTorch's momentum defaults differ between the two schedulers; fastai's moms are (max, base, max).
MOMENTA = {
    "one_cycle": ONE_CYCLE_MOMENTA,
    "cyclic": CYCLIC_MOMENTA,
    "fastai_one_cycle": (FASTAI_MOMS[1], FASTAI_MOMS[0]),
}
BASE_LR_RATIO = 0.1  # base_lr / max_lr of the cyclic policies, PyTorch's defaults' ratio here
PCT_START = {"one_cycle": ONE_CYCLE_PCT_START, "fastai_one_cycle": FASTAI_PCT_START}


def family(policy: str) -> str:
    return policy if policy in ("one_cycle", "fastai_one_cycle", "constant") else "cyclic"


class ScheduleWidget(LRWidget):
    """Pick a schedule and its parameters; see the lr and momentum of every step.

    ``w.schedule`` is the Schedule the controls describe (None while they describe none: the
    message says why), ``w.code`` shows its ``to_code()``.

    ``range_test`` links the peak learning rate (``max_lr``, and ``lr`` for a constant
    schedule) to a range test: with a RangeTestWidget it follows that widget's
    ``suggested_lr`` (move beta or pick another method there, the schedule here follows); with
    a RangeTestResult it is set once. ``method`` pins the suggestion rule (one of
    ``lrwidgets.core.SUGGESTION_METHODS``) instead of following the range-test widget's choice;
    a result uses ``lrwidgets.core.defaults.METHOD`` ("valley") when it is None. A linked range
    test moves ``base_lr`` with ``max_lr``, keeping their ratio (a tenth when base_lr was not
    below max_lr), so the cyclic policies always have a cycle to climb; set by hand, base_lr
    above max_lr gives no schedule and the message says what to change.

    Keyword arguments set the controls (``policy``, ``max_lr``, ``base_lr``, ``pct_start``,
    ...). "one-cycle as fastai" is ``fastai_one_cycle`` (its ``div``, ``div_final``;
    ``max_lr`` is its ``lr_max``; momentum max -> base -> max is its ``moms``; pct_start 0.25).
    The defaults are PyTorch's, except ``step_size_up`` (a quarter of ``total_steps``,
    so two whole cycles show, until you set it), ``gamma`` (``defaults.CYCLIC_GAMMA``, so
    exp_range differs from triangular) and ``base_lr`` (``defaults.CYCLIC_BASE_LR``, which
    PyTorch leaves to you). The two momentum sliders take PyTorch's defaults of the chosen
    scheduler (0.85/0.95 one-cycle, 0.8/0.9 cyclic) when the policy changes family.
    """

    schedule = traitlets.Instance(Schedule, allow_none=True)

    CONTROLS = (
        "policy",
        "max_lr",
        "base_lr",
        "lr",
        "pct_start",
        "anneal_strategy",
        "div_factor",
        "final_div_factor",
        "three_phase",
        "div",
        "div_final",
        "step_size_up",
        "step_size_down",
        "gamma",
        "base_momentum",
        "max_momentum",
    )

    def __init__(
        self,
        total_steps: int = 1000,
        *,
        range_test: RangeTestWidget | RangeTestResult | None = None,
        method: str | None = None,
        backend: str | None = None,
        **defaults: Any,
    ) -> None:
        super().__init__()
        total_steps = check_int("total_steps", total_steps, minimum=1)
        if method is not None:
            check_choice("method", method, SUGGESTION_METHODS)
        if range_test is not None and not isinstance(
            range_test, (RangeTestWidget, RangeTestResult)
        ):
            raise TypeError(
                "range_test must be a RangeTestWidget, a RangeTestResult or None, "
                f"got {type(range_test).__name__}"
            )
        self.range_test, self.method = range_test, method
        self._quiet = False
        self._setup((6.5, 4.5), backend)
        self._make_controls(total_steps)
        with self.quiet():
            self._set_from_keywords(defaults)
        # step_size_up stays a quarter of total_steps until it is set by hand.
        self.step_size_follows = "step_size_up" not in defaults
        self._wire()
        self._lay_out()
        self._follow()
        self._rebuild()

    # -- building the widget ----------------------------------------------------------------------
    def _make_controls(self, total_steps: int) -> None:
        """One control per parameter, at PyTorch's defaults; which policy uses which."""

        def slider(value: float, name: str, low: float, high: float, check) -> CheckedSlider:
            return checked_slider(
                name, value, low, high, check, step=0.01, continuous_update=False, style=STYLE
            )

        self.policy = ipywidgets.Dropdown(options=POLICIES, description="policy", style=STYLE)
        self.total_steps = number_box(ipywidgets.IntText, "total_steps", total_steps)
        self.max_lr = log_slider("max_lr", 0.01, low=-6, high=1)
        self.base_lr = log_slider("base_lr", CYCLIC_BASE_LR, low=-6, high=1)
        self.lr = log_slider("lr", 0.01, low=-6, high=1)
        self.pct_start = slider(ONE_CYCLE_PCT_START, "pct_start", 0.01, 0.99, check_open_unit)
        self.anneal_strategy = toggle("anneal_strategy", ANNEAL_STRATEGIES)
        self.div_factor = number_box(ipywidgets.FloatText, "div_factor", ONE_CYCLE_DIV_FACTOR)
        self.final_div_factor = number_box(
            ipywidgets.FloatText, "final_div_factor", ONE_CYCLE_FINAL_DIV_FACTOR
        )
        self.three_phase = ipywidgets.Checkbox(False, description="three_phase")
        self.div = number_box(ipywidgets.FloatText, "div", FASTAI_DIV)
        self.div_final = number_box(ipywidgets.FloatText, "div_final", FASTAI_DIV_FINAL)
        self.step_size_up = number_box(
            ipywidgets.IntText, "step_size_up", quarter_cycle(total_steps)
        )
        self.step_size_down = number_box(ipywidgets.IntText, "step_size_down (0: same)", 0)
        self.gamma = number_box(ipywidgets.FloatText, "gamma", CYCLIC_GAMMA)
        base_momentum, max_momentum = MOMENTA["one_cycle"]
        self.base_momentum = slider(base_momentum, "base_momentum", 0.0, 0.999, check_beta)
        self.max_momentum = slider(max_momentum, "max_momentum", 0.0, 0.999, check_beta)
        self.code = ipywidgets.Textarea(
            disabled=True, layout={"width": "650px", "height": "90px"}, description="PyTorch"
        )
        self.artists = draw_schedule(*self.figure.subplots(2, 1, sharex=True))
        momenta = (self.base_momentum, self.max_momentum)
        self.uses = {
            "one_cycle": (
                self.max_lr,
                self.pct_start,
                self.anneal_strategy,
                self.div_factor,
                self.final_div_factor,
                self.three_phase,
                *momenta,
            ),
            "fastai_one_cycle": (self.max_lr, self.pct_start, self.div, self.div_final, *momenta),
            "cyclic": (
                self.base_lr,
                self.max_lr,
                self.step_size_up,
                self.step_size_down,
                *momenta,
            ),
            "exp_range": (self.gamma,),
            "constant": (self.lr,),
        }

    def _set_from_keywords(self, defaults: dict[str, Any]) -> None:
        """The keyword arguments; the momenta and pct_start not given follow the policy."""
        apply_defaults(self, defaults, self.CONTROLS)
        if "base_momentum" not in defaults and "max_momentum" not in defaults:
            self._momentum_defaults(self.policy.value)
        if "pct_start" not in defaults:
            self.pct_start.value = PCT_START.get(family(self.policy.value), ONE_CYCLE_PCT_START)

    def _wire(self) -> None:
        """Every control rebuilds the schedule; the policy also changes what is shown."""
        self.total_steps.observe(self._quarter_cycle, "value")
        self.step_size_up.observe(self._step_size_set, "value")
        self.policy.observe(self._policy_changed, "value")
        for name in ("total_steps", *self.CONTROLS[1:]):
            getattr(self, name).observe(self._rebuild, "value")
        if isinstance(self.range_test, RangeTestWidget):
            self._link(self.range_test, self._follow, ["suggestions", "suggested_lr"])

    def _lay_out(self) -> None:
        self.controls = ipywidgets.VBox()
        self.children = [
            row(self.policy, self.total_steps),
            self.controls,
            self.message,
            self.view.widget,
            self.code,
        ]
        self._show_controls()

    # -- reacting ---------------------------------------------------------------------------------
    @contextmanager
    def quiet(self):
        """Change several controls and rebuild once, afterwards."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def build(self) -> Schedule:
        """The Schedule the controls describe; ValueError/TypeError if they describe none."""
        policy, steps = self.policy.value, self.total_steps.value
        if policy == "constant":
            return constant(steps, self.lr.value)
        momenta = dict(base_momentum=self.base_momentum.value, max_momentum=self.max_momentum.value)
        if policy == "fastai_one_cycle":  # moms = (max, base, max), as fastai's default
            return fastai_one_cycle(
                steps,
                self.max_lr.value,
                div=self.div.value,
                div_final=self.div_final.value,
                pct_start=self.pct_start.value,
                moms=(self.max_momentum.value, self.base_momentum.value, self.max_momentum.value),
            )
        if policy == "one_cycle":
            return one_cycle(
                steps,
                self.max_lr.value,
                pct_start=self.pct_start.value,
                anneal_strategy=self.anneal_strategy.value,
                div_factor=self.div_factor.value,
                final_div_factor=self.final_div_factor.value,
                three_phase=self.three_phase.value,
                **momenta,
            )
        return cyclic(
            steps,
            self.base_lr.value,
            self.max_lr.value,
            step_size_up=self.step_size_up.value,
            step_size_down=self.step_size_down.value or None,
            mode=policy,
            gamma=self.gamma.value,
            **momenta,
        )

    def _rebuild(self, change: dict | None = None) -> None:
        """Rebuild the schedule, its plot and its code; or explain why there is none."""
        if self._quiet:
            return
        try:
            schedule = self.build()
        except (ValueError, TypeError, ArithmeticError) as error:
            if family(self.policy.value) == "cyclic" and self.max_lr.value < self.base_lr.value:
                error = ValueError(
                    f"{error}: a cycle climbs from base_lr up to max_lr; lower base_lr "
                    f"(e.g. max_lr / 10 = {self.max_lr.value / 10:.2g}) or raise max_lr"
                )
            self.message.show_error(error)
            self.schedule = None
            self.code.value = ""
            with self.draw_lock:
                clear_schedule(self.artists, "no schedule: see the message above")
                self.view.draw()
            return
        self.message.clear()
        self.schedule = schedule
        self.code.value = schedule.to_code()
        with self.draw_lock:
            update_schedule(self.artists, schedule)
            self.view.draw()

    def _quarter_cycle(self, change: dict) -> None:
        if self.step_size_follows:
            with self.quiet():
                self.step_size_up.value = max(1, change["new"] // 4)

    def _step_size_set(self, change: dict) -> None:
        if not self._quiet:
            self.step_size_follows = False

    def _policy_changed(self, change: dict) -> None:
        with self.quiet():
            if family(change["new"]) != family(change["old"]):
                self._momentum_defaults(change["new"])
                if family(change["new"]) in PCT_START:
                    self.pct_start.value = PCT_START[family(change["new"])]
        self._show_controls()
        self._rebuild()

    def _momentum_defaults(self, policy: str) -> None:
        if family(policy) in MOMENTA:
            self.base_momentum.value, self.max_momentum.value = MOMENTA[family(policy)]

    def _show_controls(self) -> None:
        """Only the parameters of the chosen policy are on screen."""
        policy = self.policy.value
        shown = list(self.uses[family(policy)])
        if policy == "exp_range":
            shown += self.uses["exp_range"]
        for old in self.controls.children:
            old.layout.close()  # the rows, not the controls in them
            old.close()
        self.controls.children = [row(*shown[i : i + 3]) for i in range(0, len(shown), 3)]

    def _follow(self, change: dict | None = None) -> None:
        """Set the peak learning rate from the linked range test, when it suggests one."""
        source = self.range_test
        if isinstance(source, RangeTestResult):
            lr = source.suggestions().get(self.method or METHOD)
        elif isinstance(source, RangeTestWidget):
            lr = source.suggestions.get(self.method) if self.method else source.suggested_lr
        else:
            return
        if lr is None:
            return
        # CyclicLR's floor moves with its peak: base_lr keeps its ratio to max_lr, so a small
        # suggestion never puts max_lr below a fixed base_lr (no schedule at all).
        ratio = self.base_lr.value / self.max_lr.value
        ratio = ratio if 0 < ratio < 1 else BASE_LR_RATIO
        with self.quiet():
            set_log_value(self.max_lr, "max_lr", lr)
            set_log_value(self.lr, "lr", lr)
            set_log_value(self.base_lr, "base_lr", lr * ratio)
        self._rebuild()
