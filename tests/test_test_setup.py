"""The test suite's own setup: one torch thread, and browser tests that skip on a machine without
Chromium but fail under CI (which installs it)."""

import os

import pytest
import torch
from browser_helpers import BrowserMissing, BrowserSetupError, find_chromium, skip_or_fail


def test_torch_runs_on_one_thread_in_the_suite_and_its_subprocesses():
    assert torch.get_num_threads() == 1
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_a_missing_chromium_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr("browser_helpers.CHROMIUM_CANDIDATES", ())
    monkeypatch.delenv("LRWIDGETS_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserMissing, match="Install it with `apt-get install chromium`"):
        find_chromium()


def test_browser_tests_skip_without_chromium_but_fail_under_ci(monkeypatch):
    missing = BrowserMissing("Chromium not found")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="browser tests need Chromium"):
        skip_or_fail(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        skip_or_fail(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.fail.Exception, match="jupyter lab did not answer"):
        skip_or_fail(BrowserSetupError("jupyter lab did not answer"))  # broken, not missing
