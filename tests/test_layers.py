"""The layers of docs/layers.md, enforced: imports point downwards only.

core (numpy) <- training (torch) <- problems <- studies/ (a package); plots/ (a package) draws core
and training results;
widgets use all of them; the command line sits on top.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lrwidgets"

# layer -> the layers it may import from at module level (besides itself)
ALLOWED = {
    "core": set(),
    "training": {"core"},
    "problems": {"core", "training"},
    "studies": {"core", "training", "problems"},
    "plots": {"core", "training"},
    "findings": {"core", "training", "problems", "studies"},
    "widgets": {"core", "training", "problems", "studies", "plots"},
    "classroom": set(),  # finds and copies the notebooks; no numerics
    "__main__": {
        "core",
        "training",
        "problems",
        "studies",
        "findings",
        "plots",
        "widgets",
        "classroom",
    },
}

# what importing a layer must not load (third-party packages of the layers above it)
FORBIDDEN = {
    "lrwidgets.core": ("torch", "matplotlib", "ipywidgets", "sklearn"),
    "lrwidgets.training": ("ipywidgets", "matplotlib.pyplot", "lrwidgets.plots", "sklearn"),
    "lrwidgets.problems": ("ipywidgets", "matplotlib.pyplot", "lrwidgets.studies", "sklearn"),
    "lrwidgets.studies": ("ipywidgets", "matplotlib.pyplot", "lrwidgets.widgets"),
    "lrwidgets.plots": ("ipywidgets", "lrwidgets.widgets", "torch"),
    "lrwidgets.findings": ("ipywidgets", "matplotlib", "lrwidgets.widgets", "torch"),
    "lrwidgets": ("torch", "matplotlib", "ipywidgets", "numpy"),
    "lrwidgets.classroom": ("torch", "matplotlib", "ipywidgets", "numpy"),
}


def layer_of(path: Path) -> str:
    """The layer a file belongs to: its first folder below the package, or its module name."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def module_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, layer) for each ``from .. import`` at module level that names another layer.

    Imports inside functions are deliberate lazy ones (``RangeTestResult.plot`` loads ``plots``
    only when called) and are not counted.
    """
    tree = ast.parse(path.read_text(), str(path))
    depth = len(path.relative_to(PACKAGE).parts) - 1  # 0 for lrwidgets/x.py
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            if node.level - 1 == depth and node.module:  # from ..x or .x: the package's x
                found.append((node.lineno, node.module.split(".")[0]))
            elif node.level - 1 == depth:  # from .. import x, y
                found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lrwidgets."):
            found.append((node.lineno, node.module.split(".")[1]))
    return [(line, name) for line, name in found if name in ALLOWED]


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_upwards(path):
    layer = layer_of(path)
    upward = [
        f"line {line}: {layer} imports {name}"
        for line, name in module_level_imports(path)
        if name != layer and name not in ALLOWED[layer]
    ]
    assert not upward, f"{path.name} imports a layer above it: {upward}"


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_importing_a_layer_loads_nothing_above_it(module):
    code = (
        f"import sys, {module}\n"
        f"bad = [m for m in {FORBIDDEN[module]!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"


def test_top_level_names_resolve_lazily():
    import lrwidgets

    for name in lrwidgets.__all__:
        assert getattr(lrwidgets, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lrwidgets.nope  # noqa: B018


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_a_god_module(path):
    """One idea per module, short enough to read in one sitting: at most 400 lines."""
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines (at most 400)"


@pytest.mark.parametrize("package", ["studies", "plots"])
def test_studies_and_plots_are_packages_of_one_question_per_module(package):
    modules = [p for p in (PACKAGE / package).glob("*.py") if p.name != "__init__.py"]
    assert len(modules) >= 3, f"lrwidgets/{package}/ holds {len(modules)} modules"
