"""Every finding of the course holds on seeds no notebook uses.

A finding is true only if it holds on seeds it never saw: each notebook's findings are
recomputed here on 16 fresh seeds (1000..1015), and the test fails when one stops holding.
It costs about what running the notebooks costs (each notebook's findings fit in its minute).
"""

import pytest

from lrwidgets import findings

FRESH_SEEDS = range(1000, 1016)


def test_the_course_states_enough_findings():
    by_notebook = {nb: len(findings.course_findings(nb)) for nb in findings.notebooks()}
    assert sum(by_notebook.values()) >= 15, by_notebook
    assert all(n >= 2 for n in by_notebook.values()), by_notebook
    ids = [f.id for f in findings.course_findings()]
    assert len(ids) == len(set(ids)), "finding ids must be unique"


@pytest.mark.parametrize("notebook", findings.notebooks())
def test_findings_hold_on_fresh_seeds(notebook):
    found = findings.report(notebook, FRESH_SEEDS)
    failing = [str(e) for e in found if not e.holds]
    assert not failing, "\n".join(failing)
    assert all(e.n_seeds >= 16 for e in found), str(found)
