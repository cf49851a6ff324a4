"""The pipeline's infrastructure-deploy command: the CDK CLI command it builds, its review, and its bad input.

Tooling tests: a small hand-written assembly, and a fake runner in place of the CDK CLI (no AWS).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from release_guard.environment_deploy import EXIT_BAD_INPUT, main

TAG = "release-0123456789abcdef0123456789abcdef01234567"
TOOLS, DEV = "111111111111", "222222222222"

#: artifact id -> (account, dependencies, parameters)
STACKS: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "Tools-GithubOidc": (TOOLS, [], {}),
    "Tools-PipelineRole": (TOOLS, [], {}),
    "Dev-DeployRole": (DEV, ["Tools-PipelineRole"], {}),
    "Tools-Pipeline": (TOOLS, ["Tools-PipelineRole", "Dev-DeployRole"], {}),
    "Dev-Network": (DEV, [], {}),
    "Dev-Service": (DEV, ["Dev-Network", "Tools-Pipeline"], {"ImageTag": {"Type": "String"}}),
}


def write_assembly(directory: Path, stacks: dict[str, tuple[str, list[str], dict[str, Any]]] = STACKS) -> Path:
    artifacts = {}
    for name, (account, dependencies, parameters) in stacks.items():
        (directory / f"{name}.template.json").write_text(json.dumps({"Parameters": parameters, "Resources": {}}))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{account}/eu-west-1",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": dependencies,
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


class FakeCli:
    """Records the commands; answers each with the next (exit status, output)."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.commands: list[list[str]] = []
        self.answers = list(answers)

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        status, output = self.answers.pop(0) if self.answers else (0, "")
        return subprocess.CompletedProcess(list(command), status, stdout=output, stderr="")


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path)


def test_deploys_exactly_the_environments_stacks_in_deploy_order_with_the_image_tag(assembly: Path) -> None:
    cli = FakeCli()
    assert main(["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG], run=cli) == 0
    assert cli.commands == [
        [
            "cdk",
            "deploy",
            "--app",
            str(assembly),
            "Dev-DeployRole",
            "Dev-Network",
            "Dev-Service",
            "--exclusively",
            "--require-approval",
            "never",
            "--no-notices",
            "--no-version-reporting",
            "--parameters",
            f"Dev-Service:ImageTag={TAG}",
        ]
    ]


def test_direct_method_is_passed_to_cdk_deploy_and_the_default_leaves_the_cli_default(assembly: Path) -> None:
    """The rehearsal's one difference from the pipeline: the pipeline's command says no method (change-set)."""
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    default, change_set, direct = FakeCli(), FakeCli(), FakeCli()
    assert main(argv, run=default) == 0
    assert main([*argv, "--method", "change-set"], run=change_set) == 0
    assert main([*argv, "--method", "direct"], run=direct) == 0
    assert not any(token.startswith("--method") for token in default.commands[0])
    assert change_set.commands == default.commands
    (command,) = direct.commands
    assert [token for token in command if token != "--method=direct"] == default.commands[0]
    assert command.index("--method=direct") < command.index("--parameters")


def test_a_ci_run_asks_for_no_notices_and_no_telemetry_in_deploy_and_review(assembly: Path, tmp_path: Path) -> None:
    deploy, review = FakeCli(), FakeCli((0, ""), (0, ""))
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    assert main(argv, run=deploy) == 0
    assert main([*argv, "--review", str(tmp_path / "review.env")], capture=review) == 0
    for command in [*deploy.commands, *review.commands]:
        assert {"--no-notices", "--no-version-reporting"} <= set(command), command


def test_tools_deploys_the_tools_accounts_stacks_without_parameters(assembly: Path) -> None:
    cli = FakeCli()
    assert main(["--assembly", str(assembly), "--environment", "tools"], run=cli) == 0
    (command,) = cli.commands
    assert command[4:] == [
        "Tools-GithubOidc",
        "Tools-PipelineRole",
        "Tools-Pipeline",
        "--exclusively",
        "--require-approval",
        "never",
        "--no-notices",
        "--no-version-reporting",
    ]


def test_a_failed_cdk_deploy_fails_the_command_with_its_status(assembly: Path) -> None:
    assert main(["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG], run=FakeCli((1, ""))) == 1


DIFF = """Stack Dev-Service
Resources
[~] AWS::ECS::TaskDefinition TaskDefinition TaskDefinitionB36D86D9 replace
 └─ [~] ContainerDefinitions (requires replacement)
[~] AWS::EC2::SecurityGroup Sg SgABCDEF12 may be replaced
[~] AWS::Logs::LogGroup Logs Logs1234
"""


@pytest.mark.parametrize(("security_status", "broadening"), [(0, "no"), (1, "yes")])
def test_review_writes_replacements_broadening_and_a_one_line_summary(
    assembly: Path, tmp_path: Path, security_status: int, broadening: str
) -> None:
    cli = FakeCli((0, DIFF), (security_status, ""))
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    assert main(argv, capture=cli, run=FakeCli((9, "never deploys"))) == 0
    diff, security = cli.commands
    assert diff[:2] == ["cdk", "diff"] and "deploy" not in diff
    assert security == [*diff, "--security-only", "--fail"]
    assert f"Dev-Service:ImageTag={TAG}" in diff
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert lines["REPLACEMENTS"] == "2"
    assert lines["BROADENING"] == broadening
    assert lines["SUMMARY"].startswith("dev: 2 resource(s) replaced (")
    assert "\n" not in lines["SUMMARY"]


def test_review_fails_when_the_diff_cannot_run(assembly: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    assert main(argv, capture=FakeCli((3, "no credentials"))) == 3
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--environment", "qa", "--image-tag", TAG],
            "--environment: expected one of dev, staging, prod, tools, got 'qa'",
        ),
        (
            ["--environment", "dev"],
            "--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got None",
        ),
        (
            ["--environment", "dev", "--image-tag", "bad tag"],
            "--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got 'bad tag'",
        ),
        (
            ["--environment", "tools", "--image-tag", TAG],
            "--image-tag: expected none for the tools account's stacks, which run no image",
        ),
        (
            ["--environment", "prod", "--image-tag", TAG],
            "{manifest}: no stack of environment 'prod'",
        ),
        (
            ["--environment", "dev", "--image-tag", TAG, "--method", "prepare-change-set"],
            "--method: expected one of change-set, direct, got 'prepare-change-set'",
        ),
        (
            ["--environment", "dev", "--image-tag", TAG, "--method", ""],
            "--method: expected one of change-set, direct, got ''",
        ),
        (
            ["--environment", "tools", "--method", "Direct"],
            "--method: expected one of change-set, direct, got 'Direct'",
        ),
        (
            ["--environment", "dev", "--image-tag", TAG, "--method", "direct", "--review", "review.env"],
            "--method: expected none with --review, which deploys nothing",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    assembly: Path, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    cli = FakeCli()
    assert main(["--assembly", str(assembly), *argv], run=cli) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == line.format(manifest=assembly / "manifest.json") + "\n"
    assert cli.commands == []


def test_a_service_stack_without_the_image_tag_parameter_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks = {**STACKS, "Dev-Service": (DEV, ["Dev-Network"], {})}
    assembly = write_assembly(tmp_path, stacks)
    assert main(["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG], run=FakeCli()) == 2
    assert capsys.readouterr().err == "Dev-Service: expected a parameter ImageTag in its template\n"


def test_a_missing_assembly_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--assembly", str(tmp_path / "nowhere"), "--environment", "dev", "--image-tag", TAG]
    assert main(argv, run=FakeCli()) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{tmp_path / 'nowhere' / 'manifest.json'}: not found")
