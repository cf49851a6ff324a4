"""What a user sees when app.py (the CDK app) gets a bad configuration: one line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def run_app(tmp_path: Path, config_path: Path) -> subprocess.CompletedProcess[str]:
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": f'{{"config": "{config_path}"}}'}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_bad_account_id_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    config_path = tmp_path / "x.toml"
    config_path.write_text((ROOT / "config/sandbox.toml").read_text().replace('"222222222222"', '"22222222222"'))
    result = run_app(tmp_path, config_path)
    assert result.returncode == 2
    assert result.stderr == f"{config_path}: accounts.dev: expected a 12-digit AWS account id, got '22222222222'\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "cdk.out").exists(), "a rejected configuration must not leave a half-written cloud assembly"


def test_missing_file_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    config_path = tmp_path / "missing.toml"
    result = run_app(tmp_path, config_path)
    assert result.returncode == 2
    assert result.stderr == f"{config_path}: cannot read the configuration file: no such file\n"
