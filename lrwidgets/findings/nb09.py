"""Notebook 09, "Transformers and fine-tuning": the range test on the models people train now.

The measurements (cached per seed set, so that the notebook draws them and prints its findings
from one run):

- ``transformer_tests(seeds)``: one range test per seed on ``charlm-transformer`` with its own
  AdamW (default sweep, batch size 32): about 5 s of one CPU thread each;
- ``finetune_tests(seeds)``: per seed, the fine-tune's range test with its two param groups
  (backbone at a tenth of the head) and with one AdamW group for all layers (the head's lr
  everywhere), and one epoch of fine-tuning at the two-group valley suggestion: about 1 s.

Torch is imported inside the functions: ``import lrwidgets.findings`` loads no torch.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from .finding import Finding, above, below, within

SEEDS = (0, 1, 2)  # the notebook's own: its minute on one thread; the replication uses 16
RATIO_BAR = 0.8  # the smoothed curve must fall to at most 0.8 of its start


@lru_cache(maxsize=4)
def transformer_tests(seeds: tuple[int, ...]) -> list:
    """One range test per seed on charlm-transformer with its own AdamW (``seeded_range_tests``:
    the seed sets the initial weights and the batch order)."""
    from ..problems import get_problem
    from ..studies.gap import seeded_range_tests

    return seeded_range_tests(get_problem("charlm-transformer"), seeds)


def one_group(model):
    """AdamW with one param group: every layer at the head's lr (no discriminative rates)."""
    import torch

    from ..problems.finetune import HEAD_LR

    return torch.optim.AdamW(model.parameters(), lr=HEAD_LR)


@lru_cache(maxsize=4)
def finetune_tests(seeds: tuple[int, ...]) -> dict[str, np.ndarray | list]:
    """Per seed: the two-group and the one-group range test of digits-finetune, and the
    validation accuracy after one epoch at the two-group valley suggestion (head s, backbone
    s / 10, constant). Curves that the reliability check calls unreliable still count."""
    from ..problems import get_problem
    from ..studies.gap import seeded_range_tests
    from ..training import fit

    problem = get_problem("digits-finetune")
    two = seeded_range_tests(problem, seeds)
    one = seeded_range_tests(problem, seeds, optimizer_factory=one_group)
    accuracy = []
    for seed, result in zip(seeds, two, strict=True):
        model = problem.make_model(seed)
        optimizer = problem.make_optimizer(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result.apply(optimizer, "valley")
        history = fit(
            model, problem.train_data, problem.loss_fn, optimizer, epochs=1,
            val_data=problem.val_data, batch_size=problem.batch_size, seed=seed, progress=False,
        )  # fmt: skip
        accuracy.append(history.val_accuracy[-1])
    return {"two": two, "one": one, "accuracy": np.array(accuracy)}


def smoothed_fall(seeds: tuple[int, ...]) -> list[float]:
    """Lowest smoothed loss / its first value; NaN for a test that never blew up."""
    return [
        r.smoothed().min() / r.smoothed()[0] if r.stopped_early else float("nan")
        for r in transformer_tests(seeds)
    ]


def log10_valley(seeds: tuple[int, ...]) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [float(np.log10(r.suggestion("valley"))) for r in transformer_tests(seeds)]


def minimum_shift(seeds: tuple[int, ...]) -> np.ndarray:
    """Decades between the curve minimum (head lr) with two groups and with one group."""
    from ..studies import curve_minimum_lr

    runs = finetune_tests(seeds)
    two = np.array([curve_minimum_lr(r) for r in runs["two"]])
    one = np.array([curve_minimum_lr(r) for r in runs["one"]])
    return np.log10(two / one)


FINDINGS = [
    Finding(
        id="nb09-adamw-curve-falls-and-blows-up",
        notebook="09",
        claim=(
            "On the transformer, the range test with its own AdamW works as on the small nets: "
            "the smoothed loss falls to {value:.2f} of its start (interval {low:.2f}..{high:.2f}"
            "), then blows up inside the default sweep (a seed that did not would count as NaN)"
        ),
        measure=smoothed_fall,
        test=below(RATIO_BAR),
        unit="x its start",
    ),
    Finding(
        id="nb09-adamw-valley-near-1e-3",
        notebook="09",
        claim=(
            "Its valley suggestion lies at 10^{value:.1f} (interval 10^{low:.1f}..10^{high:.1f}),"
            " between 1e-4 and 1e-2, near the 1e-3 that recipes for small GPTs train with "
            "(nanoGPT's Shakespeare characters)"
        ),
        measure=log10_valley,
        test=within(-4.0, -2.0),
        unit="log10 lr",
    ),
    Finding(
        id="nb09-tenth-backbone-moves-minimum-less-than-tenfold",
        notebook="09",
        claim=(
            "Putting the backbone at a tenth of the head moves the fine-tune's curve minimum (in "
            "head lr) by {value:+.2f} decades on average against one lr for all layers (interval"
            " {low:+.2f}..{high:+.2f}; upwards over many seeds, either way on a few): less than "
            "the full decade that a tenth of the rate would suggest, as the head blows up too"
        ),
        measure=minimum_shift,
        test=below(1.0),
        unit="decades",
    ),
    Finding(
        id="nb09-finetune-valley-trains",
        notebook="09",
        claim=(
            "One epoch (23 steps) of fine-tuning at the valley suggestion, head s and backbone "
            "s / 10, classifies {value:.0%} of the held-out digits 5-9 (interval {low:.0%}.."
            "{high:.0%})"
        ),
        measure=lambda seeds: finetune_tests(seeds)["accuracy"],
        test=above(0.75),
        unit="val accuracy",
    ),
]
