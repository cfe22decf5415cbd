"""Notebook cells a learner reads: every code cell of every notebook fits on a screen."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EVERY = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
READABLE = ["01_range_test.ipynb", "02_smoothing.ipynb", "03_schedules.ipynb"]
MAX_LINES = 20


@pytest.mark.parametrize("name", EVERY)
def test_every_code_cell_is_at_most_20_lines(name):
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    long = [
        (cell.get("id"), len("".join(cell["source"]).splitlines()))
        for cell in cells
        if cell["cell_type"] == "code" and len("".join(cell["source"]).splitlines()) > MAX_LINES
    ]
    assert not long, f"{name}: code cells over {MAX_LINES} lines (id, lines): {long}"


@pytest.mark.parametrize("name", READABLE)
def test_the_notebooks_use_the_problems_own_range_test(name):
    """problem.range_test(seed) replaces range_test(problem.make_model(seed), ...) copied around."""
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not re.search(r"range_test\(\s*\w+\.make_model\(", code)
    assert re.search(r"\w+\.range_test\(seed", code)
