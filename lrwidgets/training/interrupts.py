"""Ctrl-C pressed twice: the first interrupt stops the run, the second must not cut the restore.

A learner who interrupts a range test often presses the key (or the notebook's stop button)
twice. The first ``KeyboardInterrupt`` stops the run and the restore begins; a second one a
few milliseconds later would stop the restore half way: some weights back, others not, a
group's lr left at 1e-7. ``interrupts_held()`` prevents it:

    with interrupts_held() as interrupts:
        try:
            ... the run ...                  the first Ctrl-C raises KeyboardInterrupt, as always
        finally:
            interrupts.hold()                from here on, every Ctrl-C is only noted
            ... restore ...
    (leaving the block)                      a Ctrl-C noted meanwhile is raised now

After the first interrupt the rest are held by themselves (the restore follows it at once).
Signals reach Python's main thread only, so this acts there, when SIGINT has a Python handler
(``signal.default_int_handler`` in a script and in Jupyter); elsewhere it changes nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupts:
    """A SIGINT handler that passes the first interrupt on and holds the later ones."""

    def __init__(self, previous: Callable | None = None) -> None:
        self.previous = previous  # the handler to pass an interrupt to (None: not installed)
        self.holding = False
        self.held = False

    def hold(self) -> None:
        """From now on, only note an interrupt."""
        self.holding = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.held = True
            return
        self.holding = True  # what runs after this first interrupt is the restore
        self.previous(signum, frame)  # type: ignore[misc]


@contextmanager
def interrupts_held() -> Iterator[Interrupts]:
    """Install ``Interrupts`` for the block; on leaving, put the previous handler back and pass
    it an interrupt that was held."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield Interrupts()
        return
    interrupts = Interrupts(previous)
    signal.signal(signal.SIGINT, interrupts.handle)
    try:
        yield interrupts
    finally:
        interrupts.hold()
        signal.signal(signal.SIGINT, previous)
        if interrupts.held:
            previous(signal.SIGINT, None)
