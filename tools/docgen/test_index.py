"""The tests that prove an architecture, listed from the test files themselves.

Test names in this project say what they prove (``test_no_nat_gateway_...``), so the list
is the names, with the first line of the docstring where there is one, under the first paragraph
of each file's own docstring (what the file proves). Read with ``ast``: nothing is imported or run.
This is the one list of a page's tests: the page's "What | Where" table names the same files
(``tests/tooling/test_docs_layout.py``).
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tools.docgen.model import ROOT


@dataclass(frozen=True)
class TestCase:
    name: str
    summary: str


@cache
def _parsed(path: str, text: str) -> ast.Module:
    return ast.parse(text, filename=path)


def _tree(path: str) -> ast.Module:
    """The file's syntax tree, parsed once per content (a page's index and its check read it twice)."""
    return _parsed(path, (ROOT / path).read_text())


def tests_in(path: str) -> list[TestCase]:
    """Test functions of one file (top level and in ``Test*`` classes), in file order."""
    tree = _tree(path)
    found = []
    for node in tree.body:
        candidates: Iterable[ast.stmt] = [node]
        prefix = ""
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            candidates, prefix = node.body, f"{node.name}::"
        for item in candidates:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test_"):
                doc = ast.get_docstring(item) or ""
                found.append(TestCase(prefix + item.name, doc.strip().splitlines()[0] if doc.strip() else ""))
    return found


def purpose(path: str) -> str:
    """The first paragraph of the file's docstring, as HTML (for ``<summary>``, where Markdown is not read)."""
    doc = ast.get_docstring(_tree(path)) or ""
    first = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return re.sub(r"``?([^`]+)``?", r"<code>\1</code>", html.escape(first, quote=False))


def index(paths: Iterable[str]) -> str:
    lines = []
    for path in paths:
        cases = tests_in(path)
        about = purpose(path)
        lines += [
            "<details>",
            f"<summary><code>{path}</code>: {len(cases)} tests" + (f". {about}" if about else "") + "</summary>",
            "",
        ]
        for case in cases:
            lines.append(f"- `{case.name}`" + (f": {case.summary}" if case.summary else ""))
        lines += ["", "</details>"]
    return "\n".join(lines)
