"""The make targets are the project's contract: the README's two commands and their helpers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_skipped_test_fails_the_run_with_its_count(tmp_path: Path) -> None:
    """conftest.py: every test a run collects must run; a skip is a failure, not a quiet pass."""
    (tmp_path / "test_probe.py").write_text(
        "import pytest\n\ndef test_runs():\n    pass\n\ndef test_skips():\n    pytest.skip('no tool here')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "SKIPPED [1] test_probe.py:7: no tool here" in result.stdout
    assert "1 tests skipped: every collected test must run (see the skip reasons above)" in result.stdout


def make_env(*args: str, **env: str) -> str:
    """``make`` with only ``env`` added to a copy of the environment that has no DELIVERY_CONFIG or CONFIG."""
    clean = {name: value for name, value in os.environ.items() if name not in ("DELIVERY_CONFIG", "CONFIG")}
    result = subprocess.run(
        ["make", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def test_the_configuration_is_config_else_delivery_config_else_the_sandbox() -> None:
    """DELIVERY_CONFIG is the name the GitHub workflows' repository variable has too: one name everywhere."""
    assert '-c config="config/sandbox.toml"' in make_env("--dry-run", "synth")
    ecs = "config/ecs-native.toml"
    assert f'-c config="{ecs}"' in make_env("--dry-run", "synth", DELIVERY_CONFIG=ecs)
    explicit = make_env("--dry-run", "synth", "CONFIG=config/sandbox.toml", DELIVERY_CONFIG=ecs)
    assert '-c config="config/sandbox.toml"' in explicit


def test_deploy_locks_guards_and_deploys_with_the_configuration_it_synthesized() -> None:
    planned = make_env("--dry-run", "deploy", DELIVERY_CONFIG="config/ecs-native.toml")
    assert 'cdk synth --quiet -c config="config/ecs-native.toml"' in planned
    assert 'release_guard.lock hold --config "config/ecs-native.toml" --assembly cdk.out' in planned
    assert "sandbox" not in planned


def test_lint_scans_every_committed_configuration_by_the_glob() -> None:
    """A team's own config/<name>.toml is scanned without editing a list."""
    scanned = re.findall(r'cdk synth --quiet -c config="([^"]+)"', make_env("--dry-run", "lint"))
    assert scanned == sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "config").glob("*.toml"))
    assert "ecs-native.toml" not in (ROOT / "Makefile").read_text(), "a configuration named instead of globbed"


def test_synth_validates_the_configuration_before_cdk_runs_the_app() -> None:
    """A fast step that loads no CDK: a bad file stops make synth before cdk prints lines of its own."""
    planned = make("--dry-run", "synth").splitlines()
    check = planned.index('python -m config "config/sandbox.toml"')
    assert planned[check + 1] == 'cdk synth --quiet -c config="config/sandbox.toml"'


ZONES = 'availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]\n'


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('dev = "222222222222"', 'dev = "2222"', "accounts.dev: expected a 12-digit AWS account id, got '2222'"),
        (
            # Without its zones the CDK would look them up in AWS: the check stops first, and cdk never runs.
            ZONES,
            "",
            "environments.dev.availability_zones: expected the names of account 222222222222's availability zones "
            'in eu-west-1, at least max_azs (2): add availability_zones = ["eu-west-1a", "eu-west-1b", ...] '
            "(python -m config.availability_zones --config <file> prints them), got nothing (the key is missing)",
        ),
    ],
    ids=["bad-account", "no-availability-zones"],
)
def test_a_bad_configuration_at_a_path_with_a_space_is_one_line_then_makes_own(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """The path reaches the check whole (CONFIG is quoted); what a user sees is the one line and make's line."""
    folder = tmp_path / "my configs"
    folder.mkdir()
    path = folder / "team.toml"
    path.write_text((ROOT / "config/sandbox.toml").read_text().replace(old, new))
    context_file_before = (ROOT / "cdk.context.json").exists()
    # As a user runs it: not a sub-make of make test (which would print make[1] and its directory).
    env = {key: value for key, value in os.environ.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(
        ["make", "synth", f"CONFIG={path}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    config_line, make_line = result.stderr.splitlines()
    assert config_line == f"{path}: {expected.replace('<file>', str(path))}"
    assert make_line.startswith("make: *** [Makefile:") and make_line.endswith(": synth] Error 2")
    assert (ROOT / "cdk.context.json").exists() == context_file_before, "no lookup, so no context cache written"


def test_every_command_that_takes_the_configuration_quotes_it() -> None:
    """A path with a space is one argument to the check, cdk synth, the rehearsal and the lock of make deploy."""
    path = "config/my team.toml"
    commands = {target: make("--dry-run", target, f"CONFIG={path}") for target in ("synth", "rehearse", "deploy")}
    assert f'python -m config "{path}"' in commands["synth"]
    assert f'cdk synth --quiet -c config="{path}"' in commands["synth"]
    assert f'python -m tools.rehearsal --config "{path}" --assembly cdk.out' in commands["rehearse"]
    assert f'python -m release_guard.lock hold --config "{path}" --assembly cdk.out' in commands["deploy"]
