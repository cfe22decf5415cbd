"""How long does a move of RangeTestWidget's beta slider take? Run by hand:
``python benchmarks/bench_beta_slider.py``.

One range test per size (spirals, exp sweep 1e-7 to 0.1 so it runs all ``num_iter`` steps), then
``--repeats`` beta changes, alternating between values so that every change really moves the
line. We time ``w.beta.value = b`` up to its return: the observer re-smooths the stored raw losses
(``result.smoothed``), recomputes the three suggestions (``result.suggestions``), moves the
Line2D data in place and asks for a redraw. With ipympl and no browser (here) the redraw is
``draw_idle()``; in a browser it is a blit of the loss axes, whose whole latency, key press to
pixels, ``bench_slider_latency.py`` measures. With the inline fallback it renders the PNG, so
that cost is in the number. After every change the script checks that the line holds
``result.smoothed(b)``.

Also printed: the two numeric parts alone (smoothing, suggestions), to show where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lrwidgets.widgets import RangeTestWidget


def median_ms(timings: list[float]) -> float:
    return 1e3 * statistics.median(timings)


def bench(num_iter: int, backend: str, repeats: int) -> dict[str, float]:
    w = RangeTestWidget("spirals", backend=backend, num_iter=num_iter, end_lr=0.1, seed=0)
    result = w.run()
    assert result.steps == num_iter, f"the test stopped early: {result.stop_reason}"
    (line,) = [line for line in w.figure.axes[0].lines if line.get_gid() == "smoothed-debiased"]
    betas = [0.9 + 0.001 * (i % 90) for i in range(repeats)]
    change, smooth, suggest = [], [], []
    for beta in betas:
        start = time.perf_counter()
        w.beta.value = beta
        change.append(time.perf_counter() - start)
        np.testing.assert_array_equal(line.get_ydata(), result.smoothed(beta))
        start = time.perf_counter()
        result.smoothed(beta)
        smooth.append(time.perf_counter() - start)
        start = time.perf_counter()
        result.suggestions(beta, warn=False)  # a flat curve: the bench reads it anyway
        suggest.append(time.perf_counter() - start)
    w.close()
    return {"change": median_ms(change), "smooth": median_ms(smooth), "suggest": median_ms(suggest)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="beta changes per case")
    parser.add_argument("--inline-repeats", type=int, default=10, help="the same, inline backend")
    args = parser.parse_args()
    print("median latency of one beta change (ms)")
    print(f"{'num_iter':>8} {'backend':>8} {'change':>8} {'smoothing':>10} {'suggestions':>12}")
    for num_iter in (100, 1000):
        for backend, repeats in (("ipympl", args.repeats), ("inline", args.inline_repeats)):
            t = bench(num_iter, backend, repeats)
            print(
                f"{num_iter:>8} {backend:>8} {t['change']:>8.1f} {t['smooth']:>10.2f} "
                f"{t['suggest']:>12.1f}"
            )


if __name__ == "__main__":
    main()
