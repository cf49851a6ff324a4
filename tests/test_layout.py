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
