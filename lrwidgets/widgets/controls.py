"""Building and setting controls: sliders that never clamp silently, and defaults checked
before they reach a control.

A plain ipywidgets slider clamps ``slider.value = 1.5`` to its maximum without a word. Our
sliders check every value set from Python against what the parameter allows: a valid value
outside the slider's range widens the range, so the value stands (``end_lr.value = 1e5``); an
invalid one raises ValueError naming the parameter (``beta.value = 1.5``: beta must be in
[0, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import ipywidgets
import traitlets

from ..core.checks import check_bool, check_choice, check_int, check_number, check_positive
from ..core.defaults import OPTIMIZER
from ..problems import OWN_OPTIMIZER, Problem
from ..training.optimizers import OPTIMIZERS

STYLE = {"description_width": "initial"}


def row(*children: ipywidgets.Widget) -> ipywidgets.HBox:
    """Controls side by side, wrapping onto the next line in a narrow notebook."""
    return ipywidgets.HBox(list(children), layout={"flex_flow": "row wrap"})


def number_box(kind: type, description: str, value: float) -> ipywidgets.ValueWidget:
    """An IntText or FloatText just wide enough for its description and a number."""
    width = f"{100 + 7 * len(description)}px"
    return kind(value, description=description, style=STYLE, layout={"width": width})


def toggle(description: str, options: tuple[str, ...]) -> ipywidgets.ToggleButtons:
    return ipywidgets.ToggleButtons(
        options=options, description=description, style=STYLE | {"button_width": "70px"}
    )


class LogSlider(ipywidgets.FloatLogSlider):
    """A base-10 log slider for a learning rate: any finite value > 0 stands (the range widens
    to whole decades around it), anything else raises ValueError naming ``name``."""

    def __init__(self, name: str, **kwargs) -> None:
        self.name = name
        super().__init__(**kwargs)

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict) -> float:
        value = check_positive(self.name, proposal["value"])
        exponent = math.log10(value)
        self.min = min(self.min, math.floor(exponent))
        self.max = max(self.max, math.ceil(exponent))
        return value


class CheckedSlider(ipywidgets.FloatSlider):
    """A slider whose values pass ``check(name, value)`` (e.g. ``check_beta``): a value that
    passes stands, widening the range if need be; one that fails raises its ValueError."""

    def __init__(self, name: str, check: Callable[[str, object], float], **kwargs) -> None:
        self.name, self.check = name, check
        super().__init__(**kwargs)

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict) -> float:
        value = self.check(self.name, proposal["value"])
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        return value


def log_slider(description: str, value: float, low: int = -8, high: int = 2) -> LogSlider:
    """A base-10 log slider over 10**low .. 10**high (widened to hold ``value``), for a lr."""
    return LogSlider(
        description,
        value=value,
        base=10,
        min=low,
        max=high,
        step=0.05,
        readout_format=".2e",
        description=description,
        continuous_update=False,
        style=STYLE,
    )


def checked_slider(
    name: str,
    value: float,
    low: float,
    high: float,
    check: Callable[[str, object], float],
    **kwargs,
) -> CheckedSlider:
    """A slider over [low, high] for a parameter whose values ``check`` accepts."""
    return CheckedSlider(name, check, value=value, min=low, max=high, description=name, **kwargs)


def set_log_value(slider: ipywidgets.FloatLogSlider, name: str, value: float) -> None:
    """Set a log slider to exactly ``value``, widening its range instead of clamping."""
    slider.value = check_positive(name, value)


def option_values(control: ipywidgets.Dropdown | ipywidgets.ToggleButtons) -> list:
    """The values a Dropdown / ToggleButtons can take (options may be (label, value) pairs)."""
    return [o[1] if isinstance(o, tuple) else o for o in control.options]


def offer_optimizers(control: ipywidgets.Dropdown, problem: Problem | None) -> None:
    """The optimizers to choose from for ``problem`` (None: the learner's own model).

    A problem that has its own optimizer (``Problem.make_optimizer``) offers it first, labelled
    with what it is, and selects it: picking the transformer gives its AdamW, as it is trained.
    Otherwise the choice stays where it was when still offered, else it goes to the default.
    """
    names = OPTIMIZERS if problem is None else problem.optimizer_choices
    if OWN_OPTIMIZER in names:
        value = OWN_OPTIMIZER
    else:
        value = control.value if control.value in names else OPTIMIZER
    label = f"own: {problem.optimizer}" if problem is not None else ""
    control.options = [(label if name == OWN_OPTIMIZER else name, name) for name in names]
    control.value = value


def set_value(control: ipywidgets.ValueWidget, name: str, value: object) -> None:
    """Set ``control`` to ``value`` from Python, or raise ValueError/TypeError naming ``name``."""
    if isinstance(control, ipywidgets.FloatLogSlider):
        set_log_value(control, name, value)  # type: ignore[arg-type]
        return
    if isinstance(control, (ipywidgets.Dropdown, ipywidgets.ToggleButtons)):
        check_choice(name, value, option_values(control))
    elif isinstance(control, ipywidgets.Checkbox):
        check_bool(name, value)
    elif isinstance(control, (ipywidgets.IntText, ipywidgets.IntSlider)):
        check_int(name, value, minimum=getattr(control, "min", -(2**63)))
    elif isinstance(control, (ipywidgets.FloatText, ipywidgets.FloatSlider)):
        check_number(name, value)
    sliders = (ipywidgets.FloatSlider, ipywidgets.IntSlider)
    checked = isinstance(control, CheckedSlider)  # it checks and widens by itself
    if isinstance(control, sliders) and not checked and not control.min <= value <= control.max:  # type: ignore[operator]
        raise ValueError(f"{name} must be in [{control.min}, {control.max}], got {value!r}")
    control.value = value


def apply_defaults(owner: object, defaults: Mapping[str, object], names: tuple[str, ...]) -> None:
    """Set ``owner.<name>`` controls from keyword arguments; unknown names raise TypeError."""
    for name, value in defaults.items():
        if name not in names:
            allowed = ", ".join(names)
            raise TypeError(
                f"{type(owner).__name__} got an unexpected keyword argument {name!r}; "
                f"the controls are: {allowed}"
            )
        set_value(getattr(owner, name), name, value)


def close_tree(widget: ipywidgets.Widget) -> None:
    """Close ``widget``, its children (recursively) and their layout and style widgets;
    anything that is not a widget is left alone."""
    if not isinstance(widget, ipywidgets.Widget):
        return
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for part in ("layout", "style"):
        extra = getattr(widget, part, None)
        if isinstance(extra, ipywidgets.Widget):
            extra.close()
    widget.close()
