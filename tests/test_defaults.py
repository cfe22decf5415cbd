"""Every default once, for real: the default batch size (64) and the default suggestion rule
("valley") are written in ``lrwidgets/core/defaults.py`` only; everything else imports them."""

import ast
from pathlib import Path

import pytest

from lrwidgets.core import defaults

PACKAGE = Path(__file__).resolve().parents[1] / "lrwidgets"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "core" / "defaults.py")


def is_literal(node: ast.AST | None, value: object) -> bool:
    return (
        isinstance(node, ast.Constant) and type(node.value) is type(value) and node.value == value
    )


def literal_defaults(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each default written as a literal 64 for a batch size, or "valley"."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            with_default = positional[len(positional) - len(args.defaults) :]
            pairs = list(zip(with_default, args.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
            for arg, default in pairs:
                if "batch" in arg.arg and is_literal(default, 64):
                    found.append((default.lineno, f"{arg.arg}=64"))
                if is_literal(default, defaults.METHOD):
                    found.append((default.lineno, f"{arg.arg}={defaults.METHOD!r}"))
        elif isinstance(node, ast.Call):
            values = [*node.args, *(k.value for k in node.keywords)]
            names_batch = any(
                isinstance(v, ast.Constant) and isinstance(v.value, str) and "batch" in v.value
                for v in values
            )
            if names_batch and any(is_literal(v, 64) for v in values):
                found.append((node.lineno, "a batch-size control or option at 64"))
            for k in node.keywords:
                if k.arg in ("value", "default") and is_literal(k.value, defaults.METHOD):
                    found.append((node.lineno, f"{k.arg}={defaults.METHOD!r}"))
        elif isinstance(node, ast.BoolOp) and any(
            is_literal(v, defaults.METHOD) for v in node.values
        ):
            found.append((node.lineno, f"... or {defaults.METHOD!r}"))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_default_batch_size_or_rule_outside_defaults(path):
    found = literal_defaults(ast.parse(path.read_text(), str(path)))
    assert not found, (
        f"{path.relative_to(PACKAGE)} writes a default that lives in core/defaults.py "
        f"(BATCH_SIZE, METHOD): {found}"
    )


def test_the_check_finds_what_it_looks_for():
    code = (
        "def f(batch_size=64, method='valley'): pass\n"
        "box = number_box(IntText, 'batch_size', 64)\n"
        "parser.add_argument('--batch-size', default=64)\n"
        "pick = Dropdown(options=RULES, value='valley')\n"
        "rule = chosen or 'valley'\n"
    )
    assert [line for line, _ in literal_defaults(ast.parse(code))] == [1, 1, 2, 3, 4, 5]
    assert defaults.BATCH_SIZE == 64 and defaults.METHOD == "valley"
