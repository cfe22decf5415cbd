"""The README starts where a newcomer starts: short, the set-up commands and a range_test example
on its first screen, everything else one link away in docs/."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
SETUP = "pip install --extra-index-url https://download.pytorch.org/whl/cpu torch=="


def test_readme_is_at_most_150_lines():
    assert len(README.splitlines()) <= 150, f"README.md has {len(README.splitlines())} lines"


def test_first_screen_has_the_setup_commands_and_a_range_test_example():
    first = "\n".join(README.splitlines()[:60])
    commands = [line for line in first.splitlines() if line.startswith(SETUP)]
    assert any('.[course]"' in c and "jupyter lab" in c for c in commands), "tutorial command"
    assert any('.[dev]"' in c and "pytest" in c for c in commands), "test command"
    assert "range_test(" in first


def test_every_local_link_leads_somewhere():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not link.startswith("http")]
    assert local, "README links to docs/"
    missing = [link for link in local if not (REPO / link).exists()]
    assert not missing, f"README links to missing files: {missing}"
