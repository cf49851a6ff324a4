"""config/workflow_env.py: the region and role ARN deploy.yml and diff.yml read from the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.workflow_env import main
from tests.support import ROOT

SANDBOX = (ROOT / "config" / "sandbox.toml").read_text()


@pytest.fixture(scope="module")
def own_accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox file with another tools account and another region, as a team's copy would be."""
    path = tmp_path_factory.mktemp("own") / "own.toml"
    path.write_text(SANDBOX.replace("111111111111", "123456789012").replace("eu-west-1", "us-east-2"))
    return path


@pytest.mark.parametrize(
    ("file", "role", "lines"),
    [
        (
            "config/sandbox.toml",
            "github-deploy",
            ["AWS_REGION=eu-west-1", "AWS_ROLE_ARN=arn:aws:iam::111111111111:role/github-deploy"],
        ),
        (
            "config/sandbox.toml",
            "github-diff",
            ["AWS_REGION=eu-west-1", "AWS_ROLE_ARN=arn:aws:iam::111111111111:role/github-diff"],
        ),
        (
            "own",
            "github-deploy",
            ["AWS_REGION=us-east-2", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/github-deploy"],
        ),
        (
            "own",
            "github-diff",
            ["AWS_REGION=us-east-2", "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/github-diff"],
        ),
    ],
)
def test_prints_the_region_and_the_tools_account_role_of_the_configuration(
    file: str, role: str, lines: list[str], own_accounts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(own_accounts) if file == "own" else file
    assert main(["--config", config, "--role", role]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == lines
    assert captured.err == ""


def test_a_renamed_role_is_found_under_its_new_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "renamed.toml"
    path.write_text(SANDBOX.replace('name = "github-deploy"', 'name = "ci-bootstrap"'))
    assert main(["--config", str(path), "--role", "ci-bootstrap"]) == 0
    assert "AWS_ROLE_ARN=arn:aws:iam::111111111111:role/ci-bootstrap" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("config", "role", "error"),
    [
        (
            "config/sandbox.toml",
            "github-deplyo",
            "config/sandbox.toml: oidc.roles: expected a role named 'github-deplyo' (the workflow's --role; "
            "the file declares 'github-deploy', 'github-diff'), got none",
        ),
        (
            "config/sandbox.toml",
            "GITHUB-DEPLOY",
            "config/sandbox.toml: oidc.roles: expected a role named 'GITHUB-DEPLOY' (the workflow's --role; "
            "the file declares 'github-deploy', 'github-diff'), got none",
        ),
        (
            "config/missing.toml",
            "github-deploy",
            "config/missing.toml: cannot read the configuration file: no such file",
        ),
    ],
)
def test_a_bad_role_or_configuration_gives_one_line_and_no_variable(
    config: str, role: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, "--role", role]) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "nothing may reach $GITHUB_ENV"
    assert captured.err == error + "\n"


def test_an_invalid_configuration_gives_its_one_validation_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SANDBOX.replace('region = "eu-west-1"', 'region = "eu-west-9"'))
    assert main(["--config", str(path), "--role", "github-deploy"]) == 2
    expected = f"{path}: region: expected an AWS region name such as 'eu-west-1', got 'eu-west-9'\n"
    assert capsys.readouterr().err == expected
