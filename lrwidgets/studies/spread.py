"""Does the random start or the batch order move the suggestion?  The spread over seeds.

``suggestion_spread``: how far apart the suggestions of several range tests are, per rule;
``crossed_range_tests`` and ``source_moves``: which source moves a suggestion more, seed by seed;
``bias_and_variance``: precision (the spread, which averaging shrinks) against accuracy (the
bias against the best lr, which averaging leaves where it is).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import SUGGESTION_METHODS
from ..core.checks import check_int
from ..core.defaults import METHOD
from ..training.range_test import range_test
from ..training.result import RangeTestResult
from .curves import suggestions_by_run


@dataclass
class Spread:
    """How much one rule's suggestion moves between runs.

    ``decades`` = log10(max / min) and ``log10_std`` = the standard deviation of log10(lr)
    over the runs that gave an answer; both are 0 when all runs agree.
    """

    values: np.ndarray
    geometric_mean: float
    decades: float
    log10_std: float


def suggestion_spread(
    results: Sequence[RangeTestResult], beta: float | None = None
) -> dict[str, Spread]:
    """Per suggestion rule, how far apart the suggestions of several range tests are.

    Typical use: ``suggestion_spread(repeat_range_test(problem.make_model, data, vary="init"))``.
    A rule that no result could answer is left out.
    """
    if len(results) == 0:
        raise ValueError("results must hold at least one RangeTestResult, got none")
    spreads = {}
    for method in SUGGESTION_METHODS:
        values = suggestions_by_run(results, method, beta)
        logs = np.log10(values[np.isfinite(values)])
        if len(logs) == 0:
            continue
        spreads[method] = Spread(
            values=values,
            geometric_mean=float(10 ** logs.mean()),
            decades=float(logs.max() - logs.min()),
            log10_std=float(logs.std()),
        )
    return spreads


# -- which source moves it more -------------------------------------------------------------------
PARTNER = 10**6  # seed s's partner seed is PARTNER + s: no seed set of the course reaches it


def crossed_range_tests(
    model_factory: Callable[[int], Any],
    data: Any,
    *,
    seeds: Sequence[int],
    partner: int = PARTNER,
    **range_test_kwargs: Any,
) -> dict[str, list[RangeTestResult]]:
    """Three range tests per seed s, to tell the two sources of randomness apart:

    - ``"reference"``: the initial weights and the batch order of seed s;
    - ``"init"``: the weights of seed ``partner + s``, the batch order of s;
    - ``"order"``: the weights of s, the batch order of ``partner + s``.

    Each seed's "init" and "order" runs differ from its own reference in one source only, and
    the seeds are independent of each other. (``repeat_range_test(vary="init")`` instead shares
    one batch order between all its runs: its spread is that of one draw of the batch order,
    and another draw can reverse which source looks larger.)
    """
    seeds = tuple(check_int("seeds", s, minimum=0) for s in seeds)
    partner = check_int("partner", partner, minimum=1)
    plan = {"reference": (0, 0), "init": (partner, 0), "order": (0, partner)}
    return {
        name: [
            range_test(model_factory(init + s), data, seed=order + s, **range_test_kwargs)
            for s in seeds
        ]
        for name, (init, order) in plan.items()
    }


def source_moves(
    runs: dict[str, Sequence[RangeTestResult]], method: str = METHOD, beta: float | None = None
) -> dict[str, np.ndarray]:
    """Seed by seed, how far changing only the initial weights ("init") or only the batch order
    ("order") moves the suggestion of ``method``, in decades:
    |log10(suggestion / the seed's reference suggestion)| (``crossed_range_tests``)."""
    reference = np.log10(suggestions_by_run(runs["reference"], method, beta))
    return {
        source: np.abs(np.log10(suggestions_by_run(runs[source], method, beta)) - reference)
        for source in ("init", "order")
    }


# -- precision and accuracy ----------------------------------------------------------------------
@dataclass
class BiasVariance:
    """How precise (variance) and how accurate (bias) each rule is, in decades of lr.

    Per rule: ``single_std`` = std of log10(suggestion) over single range tests;
    ``pooled_std`` = std of log10 of the geometric mean of ``pool`` tests, over disjoint pools;
    ``bias`` = log10(geometric mean of all suggestions / ``best``).
    Averaging shrinks the first two (roughly by sqrt(pool)); it leaves the bias where it is.
    """

    best: float
    pool: int
    single_std: dict[str, float]
    pooled_std: dict[str, float]
    bias: dict[str, float]

    def __str__(self) -> str:
        lines = [
            f"{'rule':8s} {'std, 1 test':>12s} {f'std, mean of {self.pool}':>14s} "
            f"{'bias':>8s} {'bias / std of mean':>19s}"
        ]
        for rule, bias in self.bias.items():
            pooled = self.pooled_std[rule]
            lines.append(
                f"{rule:8s} {self.single_std[rule]:12.2f} {pooled:14.2f} {bias:+8.2f} "
                f"{abs(bias) / pooled if pooled > 0 else math.inf:19.1f}"
            )
        lines.append(f"(decades of lr; bias against the best lr {self.best:.3g})")
        return "\n".join(lines)


def bias_and_variance(
    results: Sequence[RangeTestResult], best: float, pool: int = 3, beta: float | None = None
) -> BiasVariance:
    """Variance and bias of every rule's suggestion over ``results`` against the lr ``best``
    (see ``BiasVariance``); ``results`` is cut into ``len(results) // pool`` disjoint pools."""
    pool = check_int("pool", pool, minimum=1)
    if len(results) < 2 * pool:
        raise ValueError(
            f"results must hold at least 2 * pool = {2 * pool} range tests, got {len(results)}"
        )
    if not (isinstance(best, (int, float)) and best > 0):
        raise ValueError(f"best must be a learning rate > 0, got {best!r}")
    pools = len(results) // pool
    single, pooled, bias = {}, {}, {}
    for method in SUGGESTION_METHODS:
        logs = np.log10(suggestions_by_run(results, method, beta))
        if not np.all(np.isfinite(logs)):
            continue
        single[method] = float(logs.std())
        pooled[method] = float(logs[: pools * pool].reshape(pools, pool).mean(axis=1).std())
        bias[method] = float(logs.mean() - np.log10(best))
    return BiasVariance(best, pool, single, pooled, bias)
