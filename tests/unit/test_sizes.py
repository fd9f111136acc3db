"""Modules of about 300 lines and functions of about 40 at most (STYLE.md), in app/ and
reconciler/: none is over."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE_LINES = 300
FUNCTION_LINES = 40


def oversized(root=ROOT):
    """Modules over MODULE_LINES and functions over FUNCTION_LINES, as paths[:name]."""
    found = set()
    for package in ("app", "reconciler"):
        for path in sorted((root / package).rglob("*.py")):
            name = str(path.relative_to(root))
            text = path.read_text()
            if len(text.splitlines()) > MODULE_LINES:
                found.add(name)
            for node in ast.walk(ast.parse(text, name)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if node.end_lineno - node.lineno + 1 > FUNCTION_LINES:
                        found.add(f"{name}:{node.name}")
    return found


def test_no_module_or_function_is_oversized():
    assert oversized() == set()


def test_the_checker_finds_a_long_function_and_a_long_module(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "reconciler").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(FUNCTION_LINES))
    (tmp_path / "app" / "long.py").write_text(f"def f():\n{body}\n\ndef g():\n    return 1\n")
    (tmp_path / "reconciler" / "big.py").write_text("x = 1\n" * (MODULE_LINES + 1))
    assert oversized(tmp_path) == {"app/long.py:f", "reconciler/big.py"}
