"""The import graph is the one .importlinter declares, and function-body imports say why.

swagstore/ (the project) imports the apps, payments imports inventory, both import common/, never
the other way round, and no package's modules import each other in a circle.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backoffice", "common", "inventory", "payments", "swagstore")


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--config", ".importlinter", "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _function_body_imports(path: Path):
    class Finder(ast.NodeVisitor):
        def __init__(self):
            self.depth, self.found = 0, []

        def visit_FunctionDef(self, node):
            self.depth += 1
            self.generic_visit(node)
            self.depth -= 1

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Import(self, node):
            if self.depth:
                self.found.append(node.lineno)

        visit_ImportFrom = visit_Import

    finder = Finder()
    finder.visit(ast.parse(path.read_text(), str(path)))
    return finder.found


def _has_reason(lines: list[str], lineno: int) -> bool:
    """A comment line right above the import (or above the run of imports it belongs to)."""
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith(("from ", "import ")):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#")


def test_imports_in_function_bodies_say_why():
    unexplained = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            unexplained += [f"{path.relative_to(ROOT)}:{n}: {lines[n - 1].strip()}"
                            for n in _function_body_imports(path) if not _has_reason(lines, n)]
    assert not unexplained, ("Import at the module's top, or say in a comment above why it cannot be "
                             "(a cycle, app loading):\n" + "\n".join(unexplained))
