"""Argument checks shared by every layer.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the argument
and the values it allows, so a learner sees *what* to change, not a traceback from deep inside.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

# The most steps a sweep or a schedule may have: 10 million float64 values are 80 MB, and
# far more steps than any range test or training run of this course needs.
MAX_STEPS = 10_000_000


def check_number(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise TypeError if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def check_positive(name: str, value: object) -> float:
    """A finite number > 0 (learning rates, step sizes)."""
    x = check_number(name, value)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def check_non_negative(name: str, value: object) -> float:
    """A finite number >= 0 (noise levels)."""
    x = check_number(name, value)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """An integer >= ``minimum`` (step counts, batch sizes), and <= ``maximum`` when given."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")
    return int(value)


def check_steps(name: str, value: object, minimum: int) -> int:
    """A number of steps: an integer from ``minimum`` to ``MAX_STEPS``, checked before any
    array of that length is made."""
    return check_int(name, value, minimum, maximum=MAX_STEPS)


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """One of a fixed set of strings (modes, methods)."""
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value  # type: ignore[return-value]


def check_bool(name: str, value: object) -> bool:
    """A real ``True`` or ``False``: "no", 0 or None would silently read as a truth value."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_beta(name: str, value: object) -> float:
    """An EWMA / momentum coefficient in [0, 1)."""
    x = check_number(name, value)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return x


def check_open_unit(name: str, value: object) -> float:
    """A fraction strictly between 0 and 1 (pct_start)."""
    x = check_number(name, value)
    if not 0.0 < x < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return x
