"""What a user sees when app.py (the CDK app) gets a bad configuration: one line, no traceback.

Each case is a real ``python app.py`` process. The processes of all cases start together (each
pays the aws-cdk-lib import, and the machine's second core is otherwise idle at this point); each
test then reads its own case's result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT


@dataclass(frozen=True)
class AppRun:
    """One ``python app.py`` run: its folder (the cloud assembly would go to ``<folder>/cdk.out``)."""

    folder: Path
    config_path: Path
    result: subprocess.CompletedProcess[str]


def start_app(folder: Path, config_path: Path, *, by_the_cli: bool = True) -> subprocess.Popen[str]:
    """``python app.py`` as the CDK CLI runs it (CDK_OUTDIR, CDK_CONTEXT_JSON), or as a user would without it."""
    env = {key: value for key, value in os.environ.items() if key not in ("CDK_OUTDIR", "CDK_CONTEXT_JSON")}
    if by_the_cli:
        env |= {"CDK_OUTDIR": str(folder / "cdk.out"), "CDK_CONTEXT_JSON": f'{{"config": "{config_path}"}}'}
    return subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRun]:
    bad_account = tmp_path_factory.mktemp("bad-account")
    (bad_account / "x.toml").write_text(
        (ROOT / "config/sandbox.toml").read_text().replace('"222222222222"', '"22222222222"')
    )
    cases = {
        "bad-account": (bad_account, bad_account / "x.toml"),
        "missing-file": (tmp_path_factory.mktemp("missing-file"), None),
    }
    paths = {name: (folder, config or folder / "missing.toml") for name, (folder, config) in cases.items()}
    started = {name: start_app(folder, config) for name, (folder, config) in paths.items()}
    # Without the CLI: it stops before it imports the CDK, so this case costs a Python start-up only.
    paths["without-the-cli"] = (tmp_path_factory.mktemp("without-the-cli"), ROOT / "config/sandbox.toml")
    started["without-the-cli"] = start_app(*paths["without-the-cli"], by_the_cli=False)
    return {name: AppRun(*paths[name], finish(process)) for name, process in started.items()}


def test_bad_account_id_exits_non_zero_with_one_line(runs: dict[str, AppRun]) -> None:
    run = runs["bad-account"]
    assert run.result.returncode == 2
    assert run.result.stderr == (
        f"{run.config_path}: accounts.dev: expected a 12-digit AWS account id, got '22222222222'\n"
    )
    assert "Traceback" not in run.result.stdout + run.result.stderr
    assert not (run.folder / "cdk.out").exists(), (
        "a rejected configuration must not leave a half-written cloud assembly"
    )


def test_missing_file_exits_non_zero_with_one_line(runs: dict[str, AppRun]) -> None:
    run = runs["missing-file"]
    assert run.result.returncode == 2
    assert run.result.stderr == f"{run.config_path}: cannot read the configuration file: no such file\n"


def test_python_app_py_outside_the_cdk_cli_says_in_one_line_how_to_run_it(runs: dict[str, AppRun]) -> None:
    """Outside the CLI, cdk.json's feature flags would not apply: the app says how to run it instead of a traceback."""
    run = runs["without-the-cli"]
    assert run.result.returncode == 2
    assert run.result.stderr == (
        "app.py is run by the CDK CLI, which applies cdk.json's feature flags: run make synth "
        "(CONFIG=path/to/file.toml) or cdk synth -c config=path/to/file.toml\n"
    )
    assert run.result.stdout == ""
