"""A finding: one sentence the course states, how it is measured, and the test it must pass.

A finding is measured seed by seed: ``measure(seeds)`` returns one number per seed (a paired
difference, a ratio in decades, 1.0 or 0.0 for "it happened", ...). Its estimate is the mean
of those numbers with a 90% bootstrap interval (2000 resamples of the seeds, a fixed random
generator, so the same seeds always give the same interval), and it *holds* when the whole
interval passes its test: ``above(0)`` means "the interval lies above 0", not "the mean does".
A finding is true only if it holds on seeds it never saw: ``python -m lrwidgets findings
--seeds 1000:1016`` recomputes every finding on fresh seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.90  # the interval's coverage
RESAMPLES = 2000  # bootstrap resamples of the seeds


@dataclass(frozen=True)
class Test:
    """What the interval [low, high] of a finding must satisfy, in words and as a predicate."""

    words: str
    passes: Callable[[float, float], bool]

    def __call__(self, low: float, high: float) -> bool:
        return bool(np.isfinite(low) and np.isfinite(high) and self.passes(low, high))


def above(threshold: float) -> Test:
    """The whole interval lies above ``threshold`` (e.g. a paired difference above 0)."""
    return Test(f"interval above {threshold:g}", lambda low, high: low > threshold)


def below(threshold: float) -> Test:
    """The whole interval lies below ``threshold``."""
    return Test(f"interval below {threshold:g}", lambda low, high: high < threshold)


def within(lowest: float, highest: float) -> Test:
    """The whole interval lies inside [lowest, highest] (e.g. a tie: within +-0.01)."""
    return Test(
        f"interval inside [{lowest:g}, {highest:g}]",
        lambda low, high: lowest <= low and high <= highest,
    )


def bootstrap_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``values`` (resampled with a fixed
    generator: deterministic). One value gives the degenerate interval [value, value]."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(values), size=(RESAMPLES, len(values)))
    means = values[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Finding:
    """One finding of a notebook.

    - ``id``: a short name, unique in the course ("nb05-step-above-costs-more");
    - ``notebook``: the notebook that states it ("05");
    - ``claim``: the sentence, as the notebook prints it; ``{value}``, ``{low}``, ``{high}``
      and ``{n}`` are filled in with the estimate (format specs welcome: ``{value:.2f}``);
    - ``measure(seeds)``: one number per seed;
    - ``test``: what the 90% interval of their mean must satisfy for the finding to hold;
    - ``unit``: how to read the numbers ("decades", "val loss", "share of seeds", ...).
    """

    id: str
    notebook: str
    claim: str
    measure: Callable[[tuple[int, ...]], Sequence[float]]
    test: Test
    unit: str = ""

    def estimate(self, seeds: Sequence[int]) -> Estimate:
        """Measure on ``seeds`` and test the interval."""
        seeds = tuple(int(s) for s in seeds)
        values = np.asarray(self.measure(seeds), dtype=float)
        if values.shape != (len(seeds),):
            raise ValueError(
                f"finding {self.id!r}: measure must return one number per seed "
                f"({len(seeds)}), got shape {values.shape}"
            )
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            value = low = high = float("nan")
        else:
            value = float(finite.mean())
            low, high = bootstrap_interval(finite)
        return Estimate(self, seeds, values, value, low, high, self.test(low, high))


def finite_or_none(x: float) -> float | None:
    """JSON has no NaN: a number that is not finite is written as null."""
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True)
class Estimate:
    """A finding measured on some seeds: the mean, its interval, and whether it holds."""

    finding: Finding
    seeds: tuple[int, ...]
    values: np.ndarray  # one per seed (NaN where a seed gave no answer)
    value: float
    low: float
    high: float
    holds: bool

    @property
    def n_seeds(self) -> int:
        """The seeds that gave an answer (a finite number)."""
        return int(np.isfinite(self.values).sum())

    @property
    def sentence(self) -> str:
        """The claim with its numbers filled in."""
        numbers = dict(value=self.value, low=self.low, high=self.high, n=self.n_seeds)
        return self.finding.claim.format(**numbers)

    def as_dict(self) -> dict:
        """What ``--json`` writes: id, notebook, claim, value, low, high, n_seeds, holds, ..."""
        return {
            "id": self.finding.id,
            "notebook": self.finding.notebook,
            "claim": self.sentence,
            "value": finite_or_none(self.value),
            "low": finite_or_none(self.low),
            "high": finite_or_none(self.high),
            "n_seeds": self.n_seeds,
            "holds": self.holds,
            "test": self.finding.test.words,
            "unit": self.finding.unit,
            "seeds": f"{min(self.seeds)}..{max(self.seeds)}",
        }

    def __str__(self) -> str:
        verdict = "holds" if self.holds else "DOES NOT HOLD"
        unit = f" {self.finding.unit}" if self.finding.unit else ""
        return (
            f"- {self.sentence}\n"
            f"  [{verdict}: mean {self.value:.2g}{unit}, 90% interval {self.low:.2g} .. "
            f"{self.high:.2g} over {self.n_seeds} seeds; test: {self.finding.test.words}]"
        )
