"""House rules that keep the code readable: short functions, a short CLI module."""

from __future__ import annotations

import ast

from salatag.corpus import REPO_ROOT

ROOMS = ("salatag", "train", "infer")
MAX_FUNCTION_LINES = 80


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`path:line name (n lines)` for every function longer than `limit` lines."""
    found = []
    for room in ROOMS:
        for path in sorted((REPO_ROOT / room).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = (node.end_lineno or node.lineno) - node.lineno + 1
                    if n > limit:
                        rel = path.relative_to(REPO_ROOT)
                        found.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    return found


def test_no_function_over_80_lines() -> None:
    assert long_functions() == []


def test_the_cli_modules_stay_thin() -> None:
    for cli, most in (("infer", 150), ("train", 100)):
        lines = (REPO_ROOT / cli / "__main__.py").read_text(encoding="utf-8").count("\n")
        assert lines <= most, f"{cli}/__main__.py has {lines} lines (at most {most})"
