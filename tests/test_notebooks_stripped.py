"""The committed notebooks carry no outputs: a learner who opens one sees every cell as not run
("[ ]"), never a stale mix of "[ ]" and "[2]" or outputs of an older version of the code."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_committed_notebook_has_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cell"
    ran = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not ran, f"{path.name}: code cells {ran} carry outputs (strip them before committing)"
