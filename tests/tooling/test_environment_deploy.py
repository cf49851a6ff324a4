"""The pipeline's infrastructure-deploy command: the CDK CLI command it builds, its review, and its bad input.

Tooling tests: a small hand-written assembly, and a fake runner in place of the CDK CLI (no AWS).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

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


class FakeCloudFormation:
    """DescribeChangeSet by stack name: each answers ``answers[stack]`` (default: one resource modified in place)."""

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str, str, str]] = []
        self.where = ("", "")

    def __call__(self, account: str, region: str) -> FakeCloudFormation:
        self.where = (account, region)
        return self

    def describe_change_set(self, *, StackName: str, ChangeSetName: str) -> dict[str, Any]:
        self.calls.append((*self.where, StackName, ChangeSetName))
        return self.answers.get(StackName, changed(StackName, "Logs", "AWS::Logs::LogGroup", "False"))

    def get_template(self, *, StackName: str, TemplateStage: str) -> dict[str, Any]:
        self.calls.append((*self.where, StackName, TemplateStage))
        return {"TemplateBody": {"Resources": {}}}


def change_set_arn(stack: str) -> str:
    """The ChangeSetId DescribeChangeSet answers for ``stack``'s change set (one per stack in these tests)."""
    return f"arn:aws:cloudformation:eu-west-1:{STACKS[stack][0]}:changeSet/environment-deploy/{stack}-0f1e2d3c"


def changed(
    stack: str, logical_id: str, resource_type: str, replacement: str, action: str = "Modify"
) -> dict[str, Any]:
    change = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": resource_type, "Details": []}
    if action == "Modify":
        change["Replacement"] = replacement
    return {
        "StackName": stack,
        "ChangeSetId": change_set_arn(stack),
        "Status": "CREATE_COMPLETE",
        "Changes": [{"Type": "Resource", "ResourceChange": change}],
    }


NO_CHANGES = {
    "Status": "FAILED",
    "StatusReason": "The submitted information didn't contain changes. Submit different information to create a change "
    "set.",
}


def change_set_commands(assembly: Path, stack: str, *parameters: str) -> list[list[str]]:
    """Prepare under the name; execute by the ARN that was read, not whatever change set has the name by then."""
    common = ["cdk", "deploy", "--app", str(assembly), stack, "--exclusively", "--require-approval", "never"]
    ci = ["--no-notices", "--no-version-reporting"]
    return [
        [*common, "--method=prepare-change-set", "--change-set-name", "environment-deploy", *ci, *parameters],
        [*common, "--method=execute-change-set", "--change-set-name", change_set_arn(stack), *ci],
    ]


def test_deploys_each_stack_in_deploy_order_through_its_change_set_with_the_image_tag(assembly: Path) -> None:
    """Prepare, read CloudFormation's report, execute: one stack after the other, the image tag on the service's."""
    cli, cloudformation = FakeCli(), FakeCloudFormation()
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    assert main(argv, run=cli, clients=cloudformation) == 0
    assert cli.commands == [
        *change_set_commands(assembly, "Dev-DeployRole"),
        *change_set_commands(assembly, "Dev-Network"),
        *change_set_commands(assembly, "Dev-Service", "--parameters", f"Dev-Service:ImageTag={TAG}"),
    ]
    assert cloudformation.calls == [
        (DEV, "eu-west-1", stack, "environment-deploy") for stack in ("Dev-DeployRole", "Dev-Network", "Dev-Service")
    ]


def test_execute_names_the_change_set_that_was_read_by_its_arn_not_by_its_reusable_name(assembly: Path) -> None:
    """The exact execute command: ``--change-set-name`` is DescribeChangeSet's ChangeSetId (see execute_command)."""
    cli, cloudformation = FakeCli(), FakeCloudFormation()
    assert main(["--assembly", str(assembly), "--environment", "tools"], run=cli, clients=cloudformation) == 0
    assert cli.commands[1] == [
        "cdk",
        "deploy",
        "--app",
        str(assembly),
        "Tools-GithubOidc",
        "--exclusively",
        "--require-approval",
        "never",
        "--method=execute-change-set",
        "--change-set-name",
        "arn:aws:cloudformation:eu-west-1:111111111111:changeSet/environment-deploy/Tools-GithubOidc-0f1e2d3c",
        "--no-notices",
        "--no-version-reporting",
    ]


def test_a_change_set_answered_without_its_arn_is_not_executed(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = changed("Dev-DeployRole", "Logs", "AWS::Logs::LogGroup", "False")
    del answer["ChangeSetId"]
    cli = FakeCli()
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    assert main(argv, run=cli, clients=FakeCloudFormation({"Dev-DeployRole": answer})) == EXIT_BAD_INPUT
    assert len(cli.commands) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "Dev-DeployRole: change set environment-deploy: expected a ChangeSetId arn:<partition>:cloudformation:"
        "<region>:<account>:changeSet/<name>/<id>, got ''"
    )


def test_the_change_set_method_is_the_default_and_direct_is_one_cdk_deploy(assembly: Path) -> None:
    """The rehearsal's one difference from the pipeline: ``--method direct``, no change set (see the module)."""
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    default, change_set, direct = FakeCli(), FakeCli(), FakeCli()
    assert main(argv, run=default, clients=FakeCloudFormation()) == 0
    assert main([*argv, "--method", "change-set"], run=change_set, clients=FakeCloudFormation()) == 0
    untouched = FakeCloudFormation()
    assert main([*argv, "--method", "direct"], run=direct, clients=untouched) == 0
    assert change_set.commands == default.commands
    assert direct.commands == [
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
            "--method=direct",
            "--no-notices",
            "--no-version-reporting",
            "--parameters",
            f"Dev-Service:ImageTag={TAG}",
        ]
    ]
    assert untouched.calls == []


def test_a_ci_run_asks_for_no_notices_and_no_telemetry_in_deploy_and_review(assembly: Path, tmp_path: Path) -> None:
    deploy, direct, review = FakeCli(), FakeCli(), FakeCli((0, ""), (0, ""))
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    assert main(argv, run=deploy, clients=FakeCloudFormation()) == 0
    assert main([*argv, "--method", "direct"], run=direct) == 0
    assert main([*argv, "--review", str(tmp_path / "review.env")], capture=review, clients=FakeCloudFormation()) == 0
    for command in [*deploy.commands, *direct.commands, *review.commands]:
        assert {"--no-notices", "--no-version-reporting"} <= set(command), command


def test_tools_deploys_the_tools_accounts_stacks_without_parameters(assembly: Path) -> None:
    cli, cloudformation = FakeCli(), FakeCloudFormation()
    assert main(["--assembly", str(assembly), "--environment", "tools"], run=cli, clients=cloudformation) == 0
    assert cli.commands == [
        command
        for stack in ("Tools-GithubOidc", "Tools-PipelineRole", "Tools-Pipeline")
        for command in change_set_commands(assembly, stack)
    ]
    assert {call[:2] for call in cloudformation.calls} == {(TOOLS, "eu-west-1")}


def test_a_change_set_without_changes_is_not_executed(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = FakeCli()
    cloudformation = FakeCloudFormation({"Dev-Network": {"StackName": "Dev-Network", **NO_CHANGES}})
    assert (
        main(["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG], run=cli, clients=cloudformation)
        == 0
    )
    network = change_set_commands(assembly, "Dev-Network")
    assert network[0] in cli.commands and network[1] not in cli.commands
    assert "Dev-Network: change set environment-deploy: no changes" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (changed("Dev-Service", "BlueTg", "AWS::ElasticLoadBalancingV2::TargetGroup", "True"), True),
        (changed("Dev-Service", "ProdListener", "AWS::ElasticLoadBalancingV2::Listener", "Conditional"), True),
        (changed("Dev-Service", "Service", "AWS::ECS::Service", "True"), True),
        # Action Dynamic: "exact action for the resource can't be determined" (API_ResourceChange): may be replaced.
        (changed("Dev-Service", "BlueTg", "AWS::ElasticLoadBalancingV2::TargetGroup", "", action="Dynamic"), True),
        (changed("Dev-Service", "ProdListener", "AWS::ElasticLoadBalancingV2::Listener", "", action="Dynamic"), True),
        (
            changed("Dev-Service", "TestRule", "AWS::ElasticLoadBalancingV2::ListenerRule", "", action="Dynamic"),
            True,
        ),
        (changed("Dev-Service", "Service", "AWS::ECS::Service", "", action="Dynamic"), True),
        (changed("Dev-Service", "TaskDefinition", "AWS::ECS::TaskDefinition", "", action="Dynamic"), False),
        (changed("Dev-Service", "GreenTg", "AWS::ElasticLoadBalancingV2::TargetGroup", "", action="Remove"), True),
        (changed("Dev-Service", "TaskDefinition", "AWS::ECS::TaskDefinition", "True"), False),
        (changed("Dev-Service", "BlueTg", "AWS::ElasticLoadBalancingV2::TargetGroup", "False"), False),
    ],
)
def test_a_change_set_that_replaces_what_a_release_controller_holds_is_refused_and_not_executed(
    assembly: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, Any], refused: bool
) -> None:
    """CloudFormation's Replacement (True or Conditional) or Action Dynamic decides, not a table of properties."""
    cli = FakeCli()
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    status = main(argv, run=cli, clients=FakeCloudFormation({"Dev-Service": answer}))
    prepare, execute = change_set_commands(assembly, "Dev-Service", "--parameters", f"Dev-Service:ImageTag={TAG}")
    assert prepare in cli.commands
    assert (status, execute in cli.commands) == ((3, False) if refused else (0, True))
    if refused:
        line = capsys.readouterr().err.splitlines()[-1]
        assert line.startswith("Dev-Service: change set environment-deploy ")
        assert "the release controller holds the deployed one by ARN or name" in line


def test_a_failed_prepare_or_execute_fails_the_command_with_its_status(assembly: Path) -> None:
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    prepare_failed = FakeCli((1, ""))
    assert main(argv, run=prepare_failed, clients=FakeCloudFormation()) == 1
    assert len(prepare_failed.commands) == 1
    execute_failed = FakeCli((0, ""), (4, ""))
    assert main(argv, run=execute_failed, clients=FakeCloudFormation()) == 4
    assert len(execute_failed.commands) == 2
    assert main([*argv, "--method", "direct"], run=FakeCli((1, ""))) == 1


def test_a_change_set_that_cannot_be_read_is_one_line_and_exit_2(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = {"StackName": "Dev-DeployRole", "Status": "FAILED", "StatusReason": "Template error: bad\nthing"}
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG]
    cli = FakeCli()
    assert main(argv, run=cli, clients=FakeCloudFormation({"Dev-DeployRole": failed})) == EXIT_BAD_INPUT
    assert len(cli.commands) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "Dev-DeployRole: change set environment-deploy is FAILED: Template error: bad thing"
    )


DIFF = """Stack Dev-Service
Resources
[~] AWS::ECS::TaskDefinition TaskDefinition TaskDefinitionB36D86D9 replace
 └─ [~] ContainerDefinitions (requires replacement)
[~] AWS::EC2::SecurityGroup Sg SgABCDEF12 may be replaced
[~] AWS::Logs::LogGroup Logs Logs1234
"""
DEV_STACKS = ("Dev-DeployRole", "Dev-Network", "Dev-Service")


class TemplateReadingCli(FakeCli):
    """A FakeCli that also keeps the ``--template`` file each diff was given (the review deletes it afterwards)."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        super().__init__(*answers)
        self.templates: list[str] = []

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.templates.append(Path(command[command.index("--template") + 1]).read_text())
        return super().__call__(command)


def stubbed_templates(*answers: dict[str, Any] | str) -> tuple[Any, Stubber, list[tuple[str, str]]]:
    """(clients, stubber, where): one CloudFormation client whose GetTemplate answers ``answers`` in order, each a
    response or an error code (``does-not-exist``: CloudFormation's answer for a stack not created yet)."""
    client = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for stack, answer in zip(DEV_STACKS, answers, strict=True):
        expected = {"StackName": stack, "TemplateStage": "Original"}
        if answer == "does-not-exist":
            message = f"Stack with id {stack} does not exist"
            stubber.add_client_error("get_template", "ValidationError", message, 400, expected_params=expected)
        elif isinstance(answer, str):
            stubber.add_client_error("get_template", answer, "denied", 403, expected_params=expected)
        else:
            stubber.add_response("get_template", answer, expected)
    stubber.activate()
    where: list[tuple[str, str]] = []

    def clients(account: str, region: str) -> Any:
        where.append((account, region))
        return client

    return clients, stubber, where


def deployed(resources: dict[str, Any]) -> dict[str, Any]:
    return {"TemplateBody": json.dumps({"Resources": resources}), "StagesAvailable": ["Original", "Processed"]}


def test_review_diffs_each_stack_against_its_deployed_template_read_through_the_lookup_role(
    assembly: Path, tmp_path: Path
) -> None:
    """``cdk diff --template``: the CLI reads nothing itself (its lookup role is the template reader, see review)."""
    network = {"Vpc": {"Type": "AWS::EC2::VPC"}}
    clients, stubber, where = stubbed_templates(deployed({}), deployed(network), "does-not-exist")
    cli = TemplateReadingCli()
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    assert main(argv, capture=cli, run=FakeCli((9, "never deploys")), clients=clients) == 0
    stubber.assert_no_pending_responses()
    assert where == [(DEV, "eu-west-1")] * 3
    diffs = [
        ["cdk", "diff", "--app", str(assembly), stack, "--exclusively", "--no-color", "--template"]
        for stack in DEV_STACKS
    ]
    ci = ["--no-notices", "--no-version-reporting"]
    assert [command[:8] for command in cli.commands] == [diff for diff in diffs for _ in range(2)]
    for index, command in enumerate(cli.commands):
        assert command[9:] == (ci if index % 2 == 0 else [*ci, "--security-only", "--fail"]), command
        assert "deploy" not in command and not any(token.startswith("--method") for token in command)
    assert [json.loads(text) for text in cli.templates[0::2]] == [{"Resources": {}}, {"Resources": network}, {}]
    assert cli.templates[0::2] == cli.templates[1::2]


@pytest.mark.parametrize(("security_status", "broadening"), [(0, "no"), (1, "yes")])
def test_review_writes_replacements_broadening_and_a_one_line_summary(
    assembly: Path, tmp_path: Path, security_status: int, broadening: str
) -> None:
    """The stacks' diffs together: replacements of any stack, broadening when any stack's security diff fails."""
    cli = FakeCli((0, ""), (0, ""), (0, ""), (0, ""), (0, DIFF), (security_status, ""))
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    assert main(argv, capture=cli, run=FakeCli((9, "never deploys")), clients=FakeCloudFormation()) == 0
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert lines["REPLACEMENTS"] == "2"
    assert lines["BROADENING"] == broadening
    assert lines["SUMMARY"].startswith("dev: 2 resource(s) replaced (")
    assert lines["SUMMARY"].endswith(f", image {TAG}")
    assert "\n" not in lines["SUMMARY"]


def test_review_fails_when_the_diff_cannot_run(assembly: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    cli = FakeCli((3, "no such stack"))
    assert main(argv, capture=cli, clients=FakeCloudFormation()) == 3
    assert len(cli.commands) == 1
    assert not out.exists()


def test_review_that_cannot_read_a_deployed_template_is_one_line_and_exit_2(
    assembly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clients, _, _ = stubbed_templates(deployed({}), "AccessDenied", deployed({}))
    out = tmp_path / "review.env"
    argv = ["--assembly", str(assembly), "--environment", "dev", "--image-tag", TAG, "--review", str(out)]
    cli = FakeCli()
    assert main(argv, capture=cli, clients=clients) == EXIT_BAD_INPUT
    assert len(cli.commands) == 2  # the first stack's diffs only
    assert not out.exists()
    assert capsys.readouterr().err.splitlines()[-1].startswith("Dev-Network: cloudformation GetTemplate: AccessDenied")


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
