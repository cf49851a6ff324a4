"""Constructs take the few typed values they use and build through small methods (STYLE.md, issue 22).

Read from the source (AST), not from a synth: it costs milliseconds. The stacks read the
configuration and build the specs (``TaskSpec``, ``ServiceNames``, ``DeployTarget`` ...); a
module of ``components/`` or ``pipelines/`` that builds constructs never imports ``Config``,
``EnvironmentConfig`` or ``Names``, and no constructor runs past ``MAX_CONSTRUCTOR_LINES``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Where the reusable constructs live; the stacks are held to the constructor length too.
CONSTRUCT_FOLDERS = ("components", "pipelines")
LENGTH_FOLDERS = (*CONSTRUCT_FOLDERS, "stacks")
MAX_CONSTRUCTOR_LINES = 100
#: What a construct must not be handed: the whole configuration, one environment's, or every name.
FORBIDDEN_IMPORTS = {
    "config": {"Config", "EnvironmentConfig"},
    "config.settings": {"Config", "EnvironmentConfig"},
    "components.naming": {"Names"},
    "stacks.names": {"Names"},
}


@functools.cache
def _parse(source: str) -> ast.Module:
    return ast.parse(source)


def long_constructors(path: Path, source: str) -> Iterator[str]:
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    lines = (item.end_lineno or item.lineno) - item.lineno + 1
                    if lines > MAX_CONSTRUCTOR_LINES:
                        yield (
                            f"{path}: {node.name}.__init__ is {lines} lines (at most {MAX_CONSTRUCTOR_LINES}): "
                            "build through small _build_*/_add_* methods"
                        )


def forbidden_imports(path: Path, source: str) -> Iterator[str]:
    imports = [node for node in ast.walk(_parse(source)) if isinstance(node, ast.Import | ast.ImportFrom)]
    builds_constructs = any(
        (isinstance(node, ast.ImportFrom) and node.module == "constructs")
        or (isinstance(node, ast.Import) and any(alias.name == "constructs" for alias in node.names))
        for node in imports
    )
    if not builds_constructs:
        return
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module in FORBIDDEN_IMPORTS:
            for alias in node.names:
                if alias.name in FORBIDDEN_IMPORTS[node.module]:
                    yield (
                        f"{path}:{node.lineno}: imports {alias.name} from {node.module}; a construct takes the few "
                        "typed values it uses, built by its stack"
                    )


def _sources(folders: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT), path.read_text()


def test_no_constructor_runs_past_100_lines() -> None:
    assert [problem for path, source in _sources(LENGTH_FOLDERS) for problem in long_constructors(path, source)] == []


def test_no_construct_module_imports_the_configuration_or_the_names() -> None:
    found = [problem for path, source in _sources(CONSTRUCT_FOLDERS) for problem in forbidden_imports(path, source)]
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "class Big:\n    def __init__(self):\n" + "        pass\n" * 100,
            ["x.py: Big.__init__ is 101 lines (at most 100): build through small _build_*/_add_* methods"],
        ),
        ("class Small:\n    def __init__(self):\n" + "        pass\n" * 99, []),
    ],
)
def test_the_length_check_names_file_class_and_lines(source: str, expected: list[str]) -> None:
    assert list(long_constructors(Path("x.py"), source)) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from constructs import Construct\nfrom config import Config, TARGET_ENVIRONMENTS\n",
            ["x.py:2: imports Config from config; a construct takes the few typed values it uses, built by its stack"],
        ),
        (
            "from constructs import Construct\nfrom components.naming import Names\n",
            [
                "x.py:2: imports Names from components.naming; a construct takes the few typed values it uses, "
                "built by its stack"
            ],
        ),
        # A module that builds no construct (a spec's builder, the names themselves) may read the configuration.
        ("from config import Config\n", []),
        ("from constructs import Construct\nfrom config.settings import EcsReleaseConfig\n", []),
    ],
)
def test_the_import_check_names_file_line_and_name(source: str, expected: list[str]) -> None:
    assert list(forbidden_imports(Path("x.py"), source)) == expected
