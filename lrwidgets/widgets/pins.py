"""Pinned curves: RangeTestWidget keeps earlier runs on the plot, to compare with the next one.

A pin remembers the run's settings. Its legend entry names, in a learner's words, the settings
that differ between the pinned runs and the current one: "Adam", "batch 16", "linear sweep".
Labels are at most ``MAX_LABEL`` characters and never the same for two pins (a number is added
to tell apart runs whose settings are the same).
"""

from __future__ import annotations

from typing import Any

from ..plots import format_lr
from ..training import RangeTestResult

# The settings a pin remembers, to name what differs between pinned curves.
RUN_SETTINGS = (
    "problem",
    "optimizer_name",
    "batch_size",
    "mode",
    "start_lr",
    "end_lr",
    "endpoint",
    "num_iter",
    "diverge_th",
    "seed",
    "accumulation_steps",
    "clip_grad_norm",
)
OPTIMIZER_WORDS = {
    "sgd": "SGD",
    "sgd_momentum": "SGD + momentum",
    "adam": "Adam",
    "own": "the problem's optimizer",
}
MAX_LABEL = 40


def setting_words(name: str, value: Any) -> str:
    """One setting as a learner says it: "Adam", "batch 16", "linear sweep", "from 1e-05"."""
    if name == "optimizer_name":
        return OPTIMIZER_WORDS.get(value, str(value))
    if name == "endpoint":
        return "end_lr included" if value else "fastai's sweep"
    if name == "clip_grad_norm":
        return f"clip at {value:g}" if value else "no clipping"
    words = {
        "problem": "{}",
        "batch_size": "batch {}",
        "mode": "{} sweep",
        "start_lr": "from {}",
        "end_lr": "to {}",
        "num_iter": "{} steps",
        "diverge_th": "stop at {}x",
        "seed": "seed {}",
        "accumulation_steps": "accumulate {}",
    }
    shown = format_lr(value) if isinstance(value, float) else str(value)
    return words.get(name, name + " {}").format(shown)


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters, with "..." when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip(", ") + "..."


def pin_labels(pins: list[tuple[str | None, dict[str, Any]]], current: dict[str, Any]) -> list[str]:
    """Legend labels of the pins, given as (label or None, settings): a learner's label as
    given (shortened); else, in words, the settings in which the pin differs from the
    ``current`` run ("Adam, batch 16"), the first things a reader needs; two pins that would
    read the same also name the settings that tell them apart, and "run N" is a pin that
    differs in nothing. Distinct (numbered when all else is equal), <= ``MAX_LABEL`` chars."""

    def words(settings: dict[str, Any], keys: list[str]) -> str:
        return ", ".join(setting_words(k, settings.get(k)) for k in keys)

    def differ(runs: list[dict[str, Any]]) -> list[str]:
        return [k for k in RUN_SETTINGS if len({repr(r.get(k)) for r in runs}) > 1]

    labels = []
    for i, (label, settings) in enumerate(pins):
        if label is None:
            label = words(settings, differ([settings, current])) or f"run {i + 1}"
        labels.append(label)
    for i, (label, settings) in enumerate(pins):
        twins = [j for j, other in enumerate(labels) if other == labels[i]]
        if label is None and len(twins) > 1:
            apart = differ([pins[j][1] for j in twins])
            mine = differ([settings, current])
            labels[i] = words(settings, mine + [k for k in apart if k not in mine]) or labels[i]
    labels = [shorten(label) for label in labels]
    for i, label in enumerate(labels):  # still the same label twice: number the later ones
        if labels.index(label) != i:
            suffix = f" #{i + 1}"
            labels[i] = shorten(label, MAX_LABEL - len(suffix)) + suffix
    return labels


class Pins:
    """What RangeTestWidget does with pins (it keeps ``_pins``, ``_run_settings``, ``result``,
    ``runner``, ``message``, ``pin_label`` and draws with ``_draw``)."""

    _pins: list[tuple[str | None, RangeTestResult, dict[str, Any]]]
    _run_settings: dict[str, Any]

    @property
    def pinned(self) -> list[tuple[str, RangeTestResult]]:
        """The pinned curves as (label, result); an automatic label names the settings that
        differ between the pinned runs and the current one, in words ("batch 16")."""
        labels = pin_labels([(label, s) for label, _, s in self._pins], self._run_settings)
        return [(label, result) for label, (_, result, _) in zip(labels, self._pins, strict=True)]

    def pin(self, label: str | None = None) -> None:
        """Keep the current curve on the plot (``label``: its legend entry, shortened to 40
        characters; None names what differs). Raises ValueError when there is no finished run
        to pin."""
        if self.result is None or self.runner.running:
            raise ValueError("nothing to pin yet: run a range test first and let it finish")
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a string or None, got {label!r}")
        self._pins.append((label or None, self.result, dict(self._run_settings)))
        self._draw(self.result)

    def clear_pins(self) -> None:
        """Remove every pinned curve."""
        self._pins.clear()
        if self.result is not None and not self.runner.running:
            self._draw(self.result)

    def _pin_from_button(self) -> None:
        try:
            self.pin(self.pin_label.value.strip() or None)
        except (ValueError, TypeError) as error:
            self.message.show_error(error)
        else:
            self.message.clear()
            self.pin_label.value = ""
