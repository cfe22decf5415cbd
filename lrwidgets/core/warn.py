"""Warnings that point at the learner's line, not at the line inside lrwidgets that raised them.

``warnings.warn(..., stacklevel=2)`` names the caller's caller only when the warning is raised
one call below the learner; the same warning reached through ``result.schedule(...)`` or a
study would name a line of lrwidgets. ``warn`` counts the frames inside the package instead.
"""

from __future__ import annotations

import sys
import warnings

PACKAGE = __name__.split(".")[0]  # "lrwidgets"


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the first caller outside lrwidgets
    (a notebook cell, a script, a test)."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the frame that called warn()
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == PACKAGE:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
