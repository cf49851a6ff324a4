"""The local construct package must not shadow the `constructs` library (see README, Layout)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tests.support import ROOT


def test_constructs_resolves_to_the_library_not_a_local_folder() -> None:
    import constructs
    from constructs import Construct

    assert Construct.__module__.startswith("constructs")
    library_paths = [Path(p).resolve() for p in constructs.__path__]
    assert library_paths, "constructs must be a package"
    assert all(p.parent.name == "site-packages" for p in library_paths), library_paths
    assert not (ROOT / "constructs").exists(), "a local constructs/ folder would merge into or shadow the library"


def test_project_packages_resolve_to_this_repository() -> None:
    for name in ("bootstrap", "components", "components.compliance", "config", "stacks", "pipelines"):
        module = importlib.import_module(name)
        assert module.__file__ is not None
        path = Path(module.__file__).resolve()
        assert ROOT in path.parents and "site-packages" not in path.parts, name


def test_aws_cdk_imports_still_work_beside_the_project_packages() -> None:
    import aws_cdk as cdk
    from constructs import Construct

    app = cdk.App()
    assert isinstance(cdk.Stack(app, "Probe"), Construct)


def test_the_configuration_patterns_are_a_leaf_module() -> None:
    """settings and oidc both read config/patterns.py; neither imports the other to reach them."""
    import ast

    for name in ("settings", "oidc"):
        tree = ast.parse((ROOT / "config" / f"{name}.py").read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("config.")
        }
        assert "config.patterns" in imported
        other = "config.oidc" if name == "settings" else "config.settings"
        if name == "oidc":
            assert other not in imported, "config/oidc.py imports config/settings.py"
    patterns = ast.parse((ROOT / "config" / "patterns.py").read_text())
    imports = [node for node in ast.walk(patterns) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in imports)


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, at any depth of its code."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(*folders: str) -> list[Path]:
    files = [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]
    assert files, folders
    return files


def test_the_reference_and_its_architecture_tests_import_no_tooling() -> None:
    """The app, its tests by kind (but the tooling's) and the guard stand without tools/ (the rehearsal, docgen)."""
    reference = ["bootstrap", "config", "stacks", "components", "pipelines", "release_guard", "service_app"]
    tests = ["tests/architecture", "tests/configuration", "tests/handlers"]
    entry_points = [
        ROOT / "app.py",
        ROOT / "conftest.py",
        ROOT / "tests" / "conftest.py",
        ROOT / "tests" / "fixtures.py",
    ]
    for path in [*entry_points, *python_files(*reference, *tests)]:
        tooling = {module for module in imported_modules(path) if module == "tools" or module.startswith("tools.")}
        assert not tooling, f"{path.relative_to(ROOT)} imports {sorted(tooling)}"


def test_the_handler_tests_need_no_cdk() -> None:
    """The release build runs tests/handlers before it builds the image (pipelines/buildspec.yml)."""
    for path in python_files("tests/handlers"):
        cdk = {module for module in imported_modules(path) if module.split(".")[0] in ("aws_cdk", "constructs")}
        assert not cdk, f"{path.relative_to(ROOT)} imports {sorted(cdk)}"
        assert "tests.support" not in imported_modules(path), f"{path.relative_to(ROOT)} imports tests.support"


def test_each_test_lives_in_the_folder_of_its_kind() -> None:
    kinds = {"architecture", "configuration", "handlers", "tooling"}
    loose = sorted(path.name for path in (ROOT / "tests").glob("test_*.py"))
    assert loose == [], "put each test module under tests/<kind>/"
    assert {path.name for path in (ROOT / "tests").iterdir() if path.is_dir() and path.name != "__pycache__"} == kinds
    outside = [
        path.relative_to(ROOT).as_posix()
        for folder in ("components", "pipelines", "stacks", "config", "service_app", "release_guard")
        for path in (ROOT / folder).rglob("test_*.py")
    ]
    assert outside == [], "the reference's tests live in tests/, the rehearsal's in tools/rehearsal/tests"


STACK_NAME_LITERAL = re.compile(
    r"\"Tools-(GithubOidc|PipelineRole|Pipeline)\"|\"[A-Za-z]*-(Network|Service|DeployRole)\"|f\"\{[a-z_.]+\}-(Network|Service|DeployRole)\""
)


def test_stack_names_are_spelled_in_stacks_names_only() -> None:
    """The app and the tools take stack names from stacks/names.py, or the stacks from the assembly."""
    folders = ["stacks", "components", "pipelines", "release_guard", "config", "tools"]
    spelled = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [ROOT / "app.py", *python_files(*folders)]
        if path != ROOT / "stacks" / "names.py" and "tests" not in path.relative_to(ROOT).parts
        for number, text in enumerate(path.read_text().splitlines(), start=1)
        if STACK_NAME_LITERAL.search(text)
    ]
    assert spelled == []
