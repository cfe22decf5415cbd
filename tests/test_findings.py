"""The findings machinery: estimates, intervals, tests, the report and the command line.

The course's own findings are recomputed on fresh seeds in tests/test_findings_replicate.py;
here a finding is made of numbers written out in the test.
"""

import json
import sys
import types

import numpy as np
import pytest

from lrwidgets import findings
from lrwidgets.__main__ import main
from lrwidgets.findings import Finding, above, below, bootstrap_interval, within


def constant_finding(values_by_seed, test=None, claim="the value is {value:.1f}"):
    return Finding(
        id="test-finding",
        notebook="99",
        claim=claim,
        measure=lambda seeds: [values_by_seed(s) for s in seeds],
        test=test or above(0),
        unit="units",
    )


def test_estimate_is_the_mean_with_a_bootstrap_interval_around_it():
    finding = constant_finding(lambda seed: float(seed))
    estimate = finding.estimate(range(10))
    assert estimate.value == pytest.approx(4.5)
    assert estimate.low < 4.5 < estimate.high
    assert estimate.n_seeds == 10
    # the interval of a mean shrinks like 1/sqrt(n): about 1.645 * std / sqrt(n) each side
    half = 1.645 * np.std(np.arange(10)) / np.sqrt(10)
    assert estimate.high - estimate.value == pytest.approx(half, rel=0.2)
    assert estimate.holds  # 0 < low
    assert estimate.sentence == "the value is 4.5"


def test_same_seeds_same_interval():
    values = np.random.default_rng(3).normal(size=16)
    assert bootstrap_interval(values) == bootstrap_interval(values.copy())


def test_a_finding_holds_only_when_the_whole_interval_passes():
    noisy = constant_finding(lambda seed: [-1.0, 2.0][seed % 2])  # mean 0.5, wide interval
    estimate = noisy.estimate(range(8))
    assert estimate.value > 0 and estimate.low < 0 and not estimate.holds
    assert "DOES NOT HOLD" in str(estimate)
    assert within(-3, 3)(estimate.low, estimate.high)
    assert not below(0)(estimate.low, estimate.high)


def test_seeds_without_an_answer_are_left_out_and_counted():
    finding = constant_finding(lambda seed: np.nan if seed == 0 else 1.0)
    estimate = finding.estimate(range(4))
    assert estimate.n_seeds == 3 and estimate.value == 1.0
    nothing = constant_finding(lambda seed: np.nan).estimate(range(4))
    assert nothing.n_seeds == 0 and not nothing.holds
    assert nothing.as_dict()["value"] is None  # JSON has no NaN


def test_measure_must_give_one_number_per_seed():
    bad = Finding("bad", "99", "x", lambda seeds: [1.0], above(0))
    with pytest.raises(ValueError, match="one number per seed"):
        bad.estimate(range(3))


def test_parse_seeds():
    assert findings.parse_seeds("1000:1016") == range(1000, 1016)
    for text in ("5:2", "a:b", "3", "-1:4", "1:1"):
        with pytest.raises(ValueError, match="--seeds must be A:B"):
            findings.parse_seeds(text)


@pytest.fixture
def notebook_99(monkeypatch):
    """A course notebook "99" with two findings, one that holds on seeds 0..15."""
    module = types.ModuleType("lrwidgets.findings.nb99")
    module.SEEDS = range(16)
    module.FINDINGS = [
        constant_finding(lambda seed: 1.0 + 0.1 * (seed % 3)),
        Finding("nope", "99", "never true", lambda seeds: [-1.0] * len(seeds), above(0)),
    ]
    monkeypatch.setitem(sys.modules, "lrwidgets.findings.nb99", module)
    monkeypatch.setattr(findings, "notebooks", lambda: ["99"])
    return module


def test_report_prints_what_we_found(notebook_99):
    found = findings.report("99")
    text = str(found)
    assert text.startswith("What we found in notebook 99 (seeds 0..15; 1 of 2 findings hold)")
    assert "the value is 1.1" in text and "over 16 seeds" in text
    assert [e.seeds for e in findings.report("99", range(40, 56))] == [tuple(range(40, 56))] * 2


def test_command_line_report_and_json(notebook_99, tmp_path, capsys):
    out = tmp_path / "found.json"
    assert main(["findings", "--notebook", "99", "--seeds", "100:116", "--json", str(out)]) == 0
    assert "What we found in notebook 99 (seeds 100..115" in capsys.readouterr().out
    rows = json.loads(out.read_text())
    assert [r["id"] for r in rows] == ["test-finding", "nope"]
    assert {"id", "notebook", "claim", "value", "low", "high", "n_seeds", "holds"} <= set(rows[0])
    assert rows[0]["n_seeds"] == 16 and rows[0]["holds"] is True and rows[1]["holds"] is False


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--notebook", "42"], "notebook must be one of 99"),
        (["--seeds", "9:3"], "--seeds must be A:B"),
        (["--json", "/nonexistent-folder/x.json"], "--json: cannot write"),
    ],
)
def test_command_line_refuses_bad_arguments_before_any_work(notebook_99, capsys, argv, message):
    assert main(["findings", *argv]) == 2
    assert message in capsys.readouterr().err
