"""The course's findings as data, recomputed on any seeds.

Every sentence a notebook states as a finding lives here, in the module of its notebook
(``nb05.py`` for notebook 05): its id, its sentence, how it is measured seed by seed, and the
test its 90% interval must pass (``finding.py``). The notebooks print their "What we found"
cells from here, on their own seeds, so what a learner reads is what a teacher can check:

    python -m lrwidgets findings --notebook 05 --seeds 1000:1016 --json found.json

recomputes notebook 05's findings on sixteen seeds no notebook uses. A notebook module holds
``SEEDS`` (the notebook's own) and ``FINDINGS`` (a list of ``Finding``); the measurements its
findings share (a training grid, a set of range tests) are cached per seed set, so a notebook
that draws them and then prints its findings trains once.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Sequence
from importlib import import_module

from .finding import Estimate, Finding, Test, above, below, bootstrap_interval, within

__all__ = [
    "Estimate",
    "Finding",
    "Report",
    "Test",
    "above",
    "below",
    "bootstrap_interval",
    "course_findings",
    "notebooks",
    "parse_seeds",
    "report",
    "within",
]


def notebooks() -> list[str]:
    """The notebooks that state findings ("04", "05", ...), from the modules ``nbNN.py`` here."""
    names = (m.name for m in pkgutil.iter_modules(__path__))
    return sorted(name[2:] for name in names if name.startswith("nb") and name[2:].isdigit())


def notebook_module(notebook: str):
    """The module of ``notebook`` ("05" or 5), or a ValueError naming the notebooks there are."""
    known = notebooks()
    name = f"{int(notebook):02d}" if str(notebook).isdigit() else str(notebook)
    if name not in known:
        raise ValueError(f"notebook must be one of {', '.join(known)}, got {notebook!r}")
    return import_module(f"{__name__}.nb{name}")


def course_findings(notebook: str | None = None) -> list[Finding]:
    """Every finding of the course, or of one notebook."""
    chosen = notebooks() if notebook is None else [notebook]
    return [f for nb in chosen for f in notebook_module(nb).FINDINGS]


class Report(list):
    """Estimates of findings; ``str(report)`` is the "What we found" text of a notebook."""

    def __str__(self) -> str:
        if not self:
            return "(no findings)"
        lines = []
        for notebook in dict.fromkeys(e.finding.notebook for e in self):
            estimates = [e for e in self if e.finding.notebook == notebook]
            seeds = estimates[0].seeds
            held = sum(e.holds for e in estimates)
            lines.append(
                f"What we found in notebook {notebook} (seeds {min(seeds)}..{max(seeds)}; "
                f"{held} of {len(estimates)} findings hold):"
            )
            lines += [str(e) for e in estimates]
        return "\n".join(lines)

    def as_json(self) -> list[dict]:
        return [e.as_dict() for e in self]


def report(notebook: str | None = None, seeds: Sequence[int] | None = None) -> Report:
    """Measure the findings of ``notebook`` (all notebooks: None) on ``seeds`` (None: each
    notebook's own ``SEEDS``) and return them with their intervals and verdicts."""
    chosen = notebooks() if notebook is None else [notebook]
    estimates = Report()
    for nb in chosen:
        module = notebook_module(nb)
        use = module.SEEDS if seeds is None else seeds
        estimates += [finding.estimate(use) for finding in module.FINDINGS]
    return estimates


def parse_seeds(text: str) -> range:
    """ "A:B" -> range(A, B): the seeds A, A+1, ..., B-1 (at least one, A >= 0)."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--seeds must be A:B with whole numbers 0 <= A < B, got {text!r}")
    start, stop = (int(p) for p in parts)
    if start >= stop:
        raise ValueError(f"--seeds must be A:B with A < B (the seeds A..B-1), got {text!r}")
    return range(start, stop)
