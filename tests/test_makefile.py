"""The make targets are the project's contract: the README's two commands and their helpers."""

from __future__ import annotations

import subprocess

from tests.support import ROOT


def make(*args: str) -> str:
    result = subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def test_synth_installs_nothing_when_nothing_changed() -> None:
    """`make test` has set the environment up already; a second set-up would be wasted minutes."""
    planned = make("--dry-run", "synth")
    assert "cdk synth" in planned
    assert "pip install" not in planned
    assert "npm ci" not in planned


def test_help_lists_every_documented_target() -> None:
    listed = {line.split()[1] for line in make("help").splitlines() if line.strip().startswith("make ")}
    assert {
        "synth",
        "test",
        "lint",
        "snapshot-update",
        "bench",
        "network-cost",
        "rehearse",
        "deploy",
        "clean",
    } <= listed


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make synth") < readme.index("## Layout")
    assert readme.index("make test") < readme.index("## Layout")
