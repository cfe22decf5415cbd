"""Building and setting controls: log sliders that never clamp silently, and defaults checked
before they reach a control (a slider would clamp beta=1.5 to its maximum without a word)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import ipywidgets

from ..core.checks import check_bool, check_choice, check_int, check_number, check_positive

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


def log_slider(
    description: str, value: float, low: int = -8, high: int = 2
) -> ipywidgets.FloatLogSlider:
    """A base-10 log slider over 10**low .. 10**high (widened to hold ``value``), for a lr."""
    slider = ipywidgets.FloatLogSlider(
        value=10.0**low,
        base=10,
        min=low,
        max=high,
        step=0.05,
        readout_format=".2e",
        description=description,
        continuous_update=False,
        style=STYLE,
    )
    set_log_value(slider, description, value)
    return slider


def set_log_value(slider: ipywidgets.FloatLogSlider, name: str, value: float) -> None:
    """Set a log slider to exactly ``value``, widening its range instead of clamping."""
    value = check_positive(name, value)
    exponent = math.log10(value)
    slider.min = min(slider.min, math.floor(exponent))
    slider.max = max(slider.max, math.ceil(exponent))
    slider.value = value


def option_values(control: ipywidgets.Dropdown | ipywidgets.ToggleButtons) -> list:
    """The values a Dropdown / ToggleButtons can take (options may be (label, value) pairs)."""
    return [o[1] if isinstance(o, tuple) else o for o in control.options]


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
    if isinstance(control, sliders) and not control.min <= value <= control.max:  # type: ignore[operator]
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
    """Close ``widget``, its children (recursively) and their layout and style widgets."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for part in ("layout", "style"):
        extra = getattr(widget, part, None)
        if isinstance(extra, ipywidgets.Widget):
            extra.close()
    widget.close()
