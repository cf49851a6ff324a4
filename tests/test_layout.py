"""The local construct package must not shadow the `constructs` library (see README, Layout)."""

from __future__ import annotations

import importlib
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
    for name in ("components", "components.compliance", "config", "stacks", "pipelines"):
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
