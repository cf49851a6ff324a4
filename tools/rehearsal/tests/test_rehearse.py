"""The offline deploy rehearsal (tools/rehearsal/rehearse.py): its plan, its summary, and its failure paths.

The rehearsal's own tests: `make test-rehearsal` installs tools/rehearsal/requirements.txt (moto) and
runs them; CI runs it before the rehearsals. None of them skips: without moto, the run stops at once
with the line that says how to install it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bootstrap.permissions_boundary import BOUNDARY_NAME, POLICY_FILE
from config import Config
from release_guard import environment_deploy
from stacks.assembly import AssemblyStack, CloudAssembly
from tests.support import DOCUMENTED_ORDER, ROOT, SynthesizedApp
from tools.rehearsal import rehearse
from tools.rehearsal.rehearse import (
    DEPLOY_DOC,
    EXECUTION_POLICY_NAME,
    Credentials,
    Moto,
    RehearsalError,
    StackRecord,
    bootstrap_plan,
    deploy_plan,
    deployed_stacks,
    execution_policy_document,
    leftovers,
    pipeline_plan,
    rehearsal_server,
    retained,
    same_resource,
    stack_output_references,
    summary_table,
    trusted_accounts,
)


@pytest.fixture(scope="module")
def assembly(synthesized: SynthesizedApp) -> CloudAssembly:
    return synthesized.manifest


def one_stack(tmp_path: Path, template: dict[str, Any], account: str = "111111111111") -> CloudAssembly:
    """An assembly of one stack 'S', built in memory."""
    stack = AssemblyStack(artifact_id="S", stack_name="S", account=account, region="eu-west-1", template=template)
    return CloudAssembly(directory=tmp_path, stacks={"S": stack})


# -- the plan -----------------------------------------------------------------------------------


def test_bootstrap_starts_with_the_tools_account_which_trusts_nobody(config: Config) -> None:
    plan = bootstrap_plan(config)
    assert [(b.label, b.account, b.trust) for b in plan] == [
        ("tools", config.accounts.tools, None),
        ("dev", config.accounts.dev, config.accounts.tools),
        ("staging", config.accounts.staging, config.accounts.tools),
        ("prod", config.accounts.prod, config.accounts.tools),
    ]


def test_bootstrap_arguments_follow_docs_deploy(config: Config) -> None:
    tools, dev = bootstrap_plan(config)[:2]
    tools_args = tools.cdk_args(Path("cdk.out"))
    dev_args = dev.cdk_args(Path("cdk.out"))
    assert tools_args[:3] == ["cdk", "bootstrap", f"aws://{config.accounts.tools}/{config.region}"]
    assert "--trust" not in tools_args
    assert dev_args[dev_args.index("--trust") + 1] == config.accounts.tools
    policy = f"arn:aws:iam::{config.accounts.dev}:policy/{EXECUTION_POLICY_NAME}"
    assert dev_args[dev_args.index("--cloudformation-execution-policies") + 1] == policy


def test_the_target_accounts_and_only_they_are_bootstrapped_with_the_boundary(config: Config) -> None:
    """docs/deploy.md: --custom-permissions-boundary on the three target bootstraps, not the tools one."""
    for step in bootstrap_plan(config):
        args = step.cdk_args(Path("cdk.out"))
        if step.trust is None:
            assert "--custom-permissions-boundary" not in args and step.permissions_boundary_arn is None
        else:
            assert args[args.index("--custom-permissions-boundary") + 1] == BOUNDARY_NAME
            assert step.permissions_boundary_arn == f"arn:aws:iam::{step.account}:policy/{BOUNDARY_NAME}"


def test_the_boundary_created_is_the_committed_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert json.loads(rehearse.boundary_policy_document()) == json.loads(POLICY_FILE.read_text())
    broken = tmp_path / "permissions-boundary.json"
    broken.write_text("{not json")
    monkeypatch.setattr(rehearse, "POLICY_FILE", broken)
    with pytest.raises(RehearsalError, match=rf"^{re.escape(str(broken))}: not a policy document: "):
        rehearse.boundary_policy_document()


def test_deploy_arguments_deploy_one_stack_directly_without_talking_to_the_internet(
    config: Config, assembly: CloudAssembly
) -> None:
    step = deploy_plan(config, assembly)[0]
    args = step.deploy_args(Path("cdk.out"))
    assert args[:3] == ["cdk", "deploy", "Tools-GithubOidc"]
    assert args[args.index("--app") + 1] == "cdk.out"
    # Dependencies are the plan's business; notices and telemetry would leave localhost.
    assert {
        "--exclusively",
        "--method=direct",
        "--require-approval=never",
        "--no-notices",
        "--no-version-reporting",
    } <= set(args)


def test_destroy_arguments_destroy_one_stack_without_a_prompt(config: Config, assembly: CloudAssembly) -> None:
    step = deploy_plan(config, assembly)[-1]
    args = step.destroy_args(Path("cdk.out"))
    assert args[:3] == ["cdk", "destroy", step.name]
    assert {"--exclusively", "--force", "--no-notices", "--no-version-reporting"} <= set(args)


def test_every_stack_is_planned_in_the_assembly_order_in_its_own_account(
    config: Config, assembly: CloudAssembly
) -> None:
    plan = deploy_plan(config, assembly)
    assert [step.name for step in plan] == list(DOCUMENTED_ORDER)
    accounts = {step.name: step.account for step in plan}
    assert accounts["Tools-Pipeline"] == config.accounts.tools
    for environment in config.environments:
        for kind in ("DeployRole", "Network", "Service"):
            assert accounts[f"{environment.title}-{kind}"] == environment.account


def test_an_assembly_synthesized_from_another_configuration_is_refused(config: Config, assembly: CloudAssembly) -> None:
    moved = dataclasses.replace(
        assembly,
        stacks=assembly.stacks
        | {"Dev-Network": dataclasses.replace(assembly.stacks["Dev-Network"], account="999999999999")},
    )
    with pytest.raises(RehearsalError) as error:
        deploy_plan(config, moved)
    assert str(error.value) == (
        f"{assembly.manifest}: Dev-Network is synthesized for account 999999999999, {config.source} gives "
        f"{config.accounts.dev}: run `make synth` with the same CONFIG"
    )
    stranger = AssemblyStack(artifact_id="Other", stack_name="Other", account="1", region="eu-west-1", template={})
    with pytest.raises(RehearsalError) as error:
        deploy_plan(config, dataclasses.replace(assembly, stacks=assembly.stacks | {"Other": stranger}))
    assert str(error.value) == f"{assembly.manifest}: 'Other' is not a stack name of this app (stacks/names.py)"


def test_the_pipeline_deploys_tools_then_each_environment_after_the_first_creation_by_hand(
    config: Config, assembly: CloudAssembly
) -> None:
    """docs/deploy.md: people deploy what Tools-Pipeline needs in the target accounts, then the pipeline deploys."""
    plan = pipeline_plan(config, assembly, deploy_plan(config, assembly))
    assert [step.name for step in plan.first_creation] == [
        "Tools-GithubOidc",
        "Tools-PipelineRole",
        "Dev-DeployRole",
        "Staging-DeployRole",
        "Prod-DeployRole",
    ]
    assert [e.environment for e in plan.environments] == ["tools", "dev", "staging", "prod"]
    for environment in plan.environments:
        # The pipeline command's own selection, not a second copy of it.
        selected = environment_deploy.environment_stacks(assembly, environment.environment)
        assert [step.name for step in environment.stacks] == [stack.stack_name for stack in selected]
        assert {step.account for step in environment.stacks} == {selected[0].account}
    deployed = [step.name for environment in plan.environments for step in environment.stacks]
    assert sorted(deployed) == sorted(DOCUMENTED_ORDER)
    assert [e.image_tag for e in plan.environments] == [None, *[config.service.initial_image_tag] * 3]


def test_each_environment_runs_the_pipelines_command_and_differs_only_by_the_direct_method(
    config: Config, assembly: CloudAssembly
) -> None:
    """The same stacks, order, parameters and flags; the pipeline deploys each through its change set instead."""
    plan = pipeline_plan(config, assembly, deploy_plan(config, assembly))
    arn = "arn:aws:cloudformation:eu-west-1:111111111111:changeSet/environment-deploy/0f1e2d3c"
    changed = {"Status": "CREATE_COMPLETE", "ChangeSetId": arn, "Changes": []}

    class CloudFormation:
        def describe_change_set(self, **_: str) -> dict[str, object]:
            return changed

    for environment in plan.environments:
        args = environment.deploy_args(assembly.directory)
        assert args[:3] == [sys.executable, "-m", "release_guard.environment_deploy"]
        assert args[-2:] == ["--method", "direct"]
        rehearsed: list[list[str]] = []
        pipeline: list[list[str]] = []

        def record(commands: list[list[str]]) -> environment_deploy.Runner:
            return lambda command: commands.append(list(command)) or subprocess.CompletedProcess(command, 0)

        # What the rehearsal runs, and the same without --method direct: the pipeline's command line.
        assert environment_deploy.main(args[3:], run=record(rehearsed)) == 0
        clients = lambda account, region: CloudFormation()  # noqa: E731
        assert environment_deploy.main(args[3:-2], run=record(pipeline), clients=clients) == 0
        (cdk,) = rehearsed
        stacks = [step.name for step in environment.stacks]
        assert cdk[4 : 4 + len(stacks)] == stacks and "--method=direct" in cdk
        assert all(c[:4] == cdk[:4] for c in pipeline)  # cdk deploy --app <the same assembly>
        prepares, executes = pipeline[0::2], pipeline[1::2]
        assert [c[4] for c in prepares] == [c[4] for c in executes] == stacks
        assert all("--method=prepare-change-set" in c for c in prepares)
        assert all("--method=execute-change-set" in c for c in executes)
        flags = {token for token in cdk[4 + len(stacks) :] if token != "--method=direct"}
        for prepare in prepares:
            named = {"--method=prepare-change-set", "--change-set-name", environment_deploy.CHANGE_SET_NAME}
            assert {token for token in prepare[5:] if token not in named} <= flags
        parameters = [token for c in prepares for token in c if ":ImageTag=" in token]
        assert parameters == [token for token in cdk if ":ImageTag=" in token]
    makefile = (ROOT / "Makefile").read_text()
    assert "python -m release_guard.environment_deploy --assembly " in makefile


def test_a_stack_the_pipeline_would_deploy_before_its_dependency_is_refused(
    config: Config, assembly: CloudAssembly
) -> None:
    network = assembly.by_name("Dev-Network")
    later = dataclasses.replace(network, dependencies=(*network.dependencies, "Staging-Network"))
    changed = dataclasses.replace(assembly, stacks=assembly.stacks | {"Dev-Network": later})
    with pytest.raises(RehearsalError) as error:
        pipeline_plan(config, changed, deploy_plan(config, changed))
    assert str(error.value) == (
        f"{assembly.manifest}: Dev-Network would deploy before Staging-Network, which it depends on"
    )


def test_the_first_creation_is_only_what_the_tools_stacks_need_outside_the_tools_account(
    config: Config, assembly: CloudAssembly
) -> None:
    pipeline = assembly.by_name("Tools-Pipeline")
    alone = dataclasses.replace(pipeline, dependencies=("Tools-PipelineRole",))
    changed = dataclasses.replace(assembly, stacks=assembly.stacks | {"Tools-Pipeline": alone})
    plan = pipeline_plan(config, changed, deploy_plan(config, changed))
    assert plan.first_creation == ()
    assert [step.name for step in plan.environments[0].stacks] == [
        "Tools-GithubOidc",
        "Tools-PipelineRole",
        "Tools-Pipeline",
    ]


def test_a_service_stack_without_a_default_image_tag_is_refused_in_the_pipeline_commands_words(
    config: Config, assembly: CloudAssembly
) -> None:
    service = assembly.by_name("Staging-Service")
    template = {**service.template, "Parameters": {"ImageTag": {"Type": "String"}}}
    changed = dataclasses.replace(
        assembly, stacks=assembly.stacks | {"Staging-Service": dataclasses.replace(service, template=template)}
    )
    with pytest.raises(RehearsalError) as error:
        pipeline_plan(config, changed, deploy_plan(config, changed))
    assert str(error.value) == (
        f"{assembly.manifest}: environment_deploy --environment staging: "
        "--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got None"
    )


def test_a_planned_stack_no_environment_deploy_covers_is_refused(config: Config, assembly: CloudAssembly) -> None:
    steps = [*deploy_plan(config, assembly), rehearse.StackStep("Dev-Extra", config.accounts.dev)]
    with pytest.raises(RehearsalError) as error:
        pipeline_plan(config, assembly, steps)
    assert str(error.value) == f"{assembly.manifest}: no environment deploy of the pipeline deploys Dev-Extra"


def test_the_clis_own_per_stack_deployment_times_are_read_from_its_log() -> None:
    log = (
        "python -m ... cdk deploy ...\n"
        "\x1b[1mDev-DeployRole\x1b[22m: deploying... [1/3]\n\n"
        "\x1b[32m\n✅  Dev-DeployRole (no changes)\x1b[39m\n\n✨  Deployment time: 0.41s\n\n"
        "Dev-Network: deploying... [2/3]\n\n✅  Dev-Network\n\n✨  Deployment time: 3.2s\n\n"
        "Stack ARN:\narn:aws:cloudformation:eu-west-1:222222222222:stack/Dev-Network/1\n"
        "Dev-Service: deploying... [3/3]\n❌  Dev-Service failed to deploy\n"
    )
    assert deployed_stacks(log) == {
        "Dev-DeployRole": rehearse.StackDeployed(0.41, changed=False),
        "Dev-Network": rehearse.StackDeployed(3.2, changed=True),
    }


class _ToolsOnly:
    """Stands in for Moto in deploy(): each account's credentials are its id."""

    def admin(self, account: str) -> str:
        return account

    def cli_env(self, credentials: str, run_dir: Path) -> dict[str, str]:
        return {"ACCOUNT": credentials}


def test_deploy_runs_the_first_creation_then_each_environment_with_the_tools_credentials_only(
    tmp_path: Path,
    config: Config,
    assembly: CloudAssembly,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    steps = deploy_plan(config, assembly)
    plan = pipeline_plan(config, assembly, steps)
    by_hand = {step.name for step in plan.first_creation}
    runs: list[tuple[list[str], str]] = []

    def run_cli(args: list[str], env: dict[str, str], log_file: Path, timeout: float) -> float:
        runs.append((list(args), env["ACCOUNT"]))
        if args[:2] == ["cdk", "deploy"]:
            stacks = [args[2]]
        else:
            name = args[args.index("--environment") + 1]
            stacks = [s.name for e in plan.environments if e.environment == name for s in e.stacks]
        log_file.write_text(
            "".join(
                f"✅  {stack}{' (no changes)' if stack in by_hand and args[0] != 'cdk' else ''}\n\n"
                f"✨  Deployment time: {1 + index}.5s\n\n"
                for index, stack in enumerate(stacks)
            )
        )
        return 9.0

    monkeypatch.setattr(rehearse, "run_cli", run_cli)
    monkeypatch.setattr(rehearse, "record_resources", lambda run, step: [])
    records = {step.name: StackRecord(step.name, step.account) for step in steps}
    run = rehearse.Run(config, assembly, tmp_path, _ToolsOnly(), steps, records, plan)  # type: ignore[arg-type]
    rehearse.deploy(run)

    assert {account for _, account in runs} == {config.accounts.tools}
    assert [args[2] for args, _ in runs[:5]] == [step.name for step in plan.first_creation]
    assert [args[args.index("--environment") + 1] for args, _ in runs[5:]] == ["tools", "dev", "staging", "prod"]
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert all(line[0] == "deploy" for line in lines)
    # One line per stack by hand, then per environment and each of its stacks.
    assert [line[1] for line in lines] == [
        *(step.name for step in plan.first_creation),
        *(name for e in plan.environments for name in (e.environment, *(s.name for s in e.stacks))),
    ]
    assert " ".join(lines[6]) == "deploy Tools-GithubOidc 111111111111 ok: no changes, by the pipeline (1.5 s)"
    # The table counts each stack as first deployed: by hand, or else by its environment's run.
    assert records["Prod-DeployRole"].deploy_seconds == 1.5
    assert records["Dev-Network"].deploy_seconds == 2.5
    assert records["Dev-Service"].deploy_seconds == 3.5


def test_a_stack_the_cli_did_not_report_fails_the_deploy_in_one_line(
    tmp_path: Path, config: Config, assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = deploy_plan(config, assembly)
    plan = pipeline_plan(config, assembly, steps)
    monkeypatch.setattr(rehearse, "run_cli", lambda args, env, log_file, timeout: log_file.write_text("") and 0.0)
    records = {step.name: StackRecord(step.name, step.account) for step in steps}
    run = rehearse.Run(config, assembly, tmp_path, _ToolsOnly(), steps, records, plan)  # type: ignore[arg-type]
    with pytest.raises(RehearsalError) as error:
        rehearse.deploy(run)
    log = tmp_path / "deploy-Tools-GithubOidc.log"
    assert str(error.value) == f"Tools-GithubOidc: the CDK CLI did not report deploying it (log: {log})"


def test_retained_resources_are_those_with_a_retain_deletion_policy(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "KeptUnlessCreationFails": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "RetainExceptOnCreate"},
            "Deleted": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"},
            "DeletedByDefault": {"Type": "AWS::S3::Bucket"},
        }
    }
    assert retained(one_stack(tmp_path, template).by_name("S")) == {"Kept", "KeptUnlessCreationFails"}


def test_the_cross_stack_references_of_a_service_stack_are_found_on_their_resources(
    assembly: CloudAssembly,
) -> None:
    """The checks read each Fn::GetStackOutput the service stacks take from their network stack."""
    references = stack_output_references(assembly.by_name("Prod-Service").template)
    assert references, "the service stack reads its network through Fn::GetStackOutput"
    assert {reference["StackName"] for _, _, _, reference in references} == {"Prod-Network"}
    found = {(resource_type, prop) for _, resource_type, prop, _ in references}
    assert {
        ("AWS::ElasticLoadBalancingV2::TargetGroup", "VpcId"),
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Subnets"),
        ("AWS::EC2::SecurityGroup", "VpcId"),
    } <= found
    # Each of them is read back from the deployed resource, but the service's: moto keeps no network configuration.
    read_back = {(t, p) for t, (_, readers) in rehearse.DEPLOYED_VALUES.items() for p in readers}
    assert read_back == found - {("AWS::ECS::Service", "NetworkConfiguration")}


def test_the_execution_policy_is_the_one_docs_deploy_tells_operators_to_create() -> None:
    doc = DEPLOY_DOC.read_text()
    policy = json.loads(execution_policy_document(doc))
    assert f"--policy-name {EXECUTION_POLICY_NAME}" in doc
    assert "cloudformation:*" in policy["Statement"][0]["Action"]
    with pytest.raises(RehearsalError, match=r"no `cat > cfn-exec\.json"):
        execution_policy_document("no policy here")


def test_trusted_accounts_reads_assume_role_principals_only() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}},
            {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"AWS": ["222222222222"]}},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::3:role/p"}},
            {"Effect": "Allow", "Action": "sts:TagSession", "Principal": {"AWS": "444444444444"}},
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": "555555555555"}},
        ]
    }
    assert trusted_accounts(policy) == {"111111111111", "222222222222", "arn:aws:iam::3:role/p"}


@pytest.mark.parametrize(
    ("found", "physical_id", "same"),
    [
        ("vpc-1", "vpc-1", True),
        ("arn:aws:ecs:eu-west-1:1:cluster/web", "web", True),
        ("web", "arn:aws:ecs:eu-west-1:1:cluster/web", True),
        ("arn:aws:sns:eu-west-1:1:topic", "topic", True),
        ("arn:aws:ecs:eu-west-1:1:cluster/web-2", "web", False),
        ("vpc-12", "vpc-1", False),
    ],
)
def test_same_resource_matches_names_ids_and_arns(found: str, physical_id: str, same: bool) -> None:
    assert same_resource(found, physical_id) is same


def test_leftovers_are_what_exists_after_and_did_not_before() -> None:
    before = {"AWS::S3::Bucket": {"cdk-assets"}, "AWS::IAM::Role": {"cdk-deploy"}}
    after = {"AWS::S3::Bucket": {"cdk-assets", "artifacts"}, "AWS::IAM::Role": set(), "AWS::KMS::Key": {"k1"}}
    assert leftovers(before, after) == [("AWS::KMS::Key", "k1"), ("AWS::S3::Bucket", "artifacts")]


def test_the_summary_table_has_one_row_per_stack_and_the_totals() -> None:
    records = [
        StackRecord(
            "Tools-Pipeline", "111111111111", modelled=26, placeholders=8, deploy_seconds=1.24, destroy_seconds=1.2
        ),
        StackRecord("Dev-Network", "222222222222", modelled=32, custom=1, deploy_seconds=1.0, destroy_seconds=0.96),
        StackRecord("Dev-Service", "222222222222", modelled=27, placeholders=11, deploy_seconds=1.1),
    ]
    records[0].destroyed = records[1].destroyed = True
    records[1].problems = ["AWS::EC2::VPC Vpc left behind"]
    lines = summary_table(records).splitlines()
    assert lines[0].split() == [
        "stack",
        "account",
        "resources",
        "modelled",
        "placeholder",
        "custom",
        "deploy",
        "destroy",
        "clean",
    ]
    assert [line.split() for line in lines[2:5]] == [
        ["Tools-Pipeline", "111111111111", "34", "26", "8", "0", "1.2", "s", "1.2", "s", "yes"],
        ["Dev-Network", "222222222222", "33", "32", "0", "1", "1.0", "s", "1.0", "s", "no"],
        ["Dev-Service", "222222222222", "38", "27", "11", "0", "1.1", "s", "-", "-"],
    ]
    assert lines[6].split() == ["total", "105", "85", "19", "1", "3.3", "s", "2.2", "s", "1/3"]


def test_the_cli_talks_to_moto_only_with_the_given_account_and_no_local_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "tools")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "999999999999")
    env = Moto("http://localhost:4566", "eu-west-1").cli_env(Credentials("111111111111", "AK", "SK", "ST"), tmp_path)
    assert "AWS_PROFILE" not in env
    assert "CDK_DEFAULT_ACCOUNT" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"]) == ("AK", "ST")
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["CDK_DISABLE_CLI_TELEMETRY"] == "true"


# -- make, CI and pins --------------------------------------------------------------------------


def make_dry_run(*args: str) -> str:
    """What make would run by default: a DELIVERY_CONFIG or CONFIG exported in the shell is left out."""
    env = {name: value for name, value in os.environ.items() if name not in ("DELIVERY_CONFIG", "CONFIG")}
    return subprocess.run(
        ["make", "--dry-run", "--always-make", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    ).stdout


def test_only_the_rehearsal_targets_install_moto() -> None:
    assert "tools/rehearsal/requirements.txt" not in make_dry_run("synth") + make_dry_run("test")
    for target in ("rehearse", "test-rehearsal"):
        assert "-r tools/rehearsal/requirements.txt" in make_dry_run(target), target
    assert 'python -m tools.rehearsal --config "config/sandbox.toml" --assembly cdk.out' in make_dry_run("rehearse")
    assert "python -m pytest tools/rehearsal/tests" in make_dry_run("test-rehearsal")


def test_make_test_does_not_collect_the_rehearsal_tests() -> None:
    """They need moto, which make test does not install: they are make test-rehearsal's."""
    collected = subprocess.run(
        # syrupy calls the snapshots unused when nothing runs: only its warning, not a failure here.
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--snapshot-warn-unused"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.splitlines()
    ids = [line for line in collected if "::" in line]
    assert ids, "make test's command collected nothing"
    assert all(line.startswith("tests/") for line in ids), [line for line in ids if not line.startswith("tests/")][:3]


def test_rehearse_port_passes_the_port_and_its_absence_picks_a_free_one() -> None:
    assert 'python -m tools.rehearsal --config "config/sandbox.toml" --assembly cdk.out --port 45123' in make_dry_run(
        "rehearse", "REHEARSE_PORT=45123"
    )
    assert "--port" not in make_dry_run("rehearse")


def test_ci_runs_the_rehearsal_tests_and_rehearses_every_committed_configuration() -> None:
    """By the glob config/*.toml, not by name: a team's own configuration file is rehearsed too."""
    every_config = 'for config in config/*.toml; do make rehearse CONFIG="$config"; done'
    steps = ["make test", "make test-rehearsal", every_config]
    for ci_file in (ROOT / ".ci" / "run", ROOT / ".github" / "workflows" / "ci.yml"):
        commands = [line.strip().removeprefix("run: ") for line in ci_file.read_text().splitlines()]
        assert [c for c in commands if c in steps] == steps, ci_file
        assert "ecs-native.toml" not in ci_file.read_text(), f"{ci_file}: a configuration named instead of globbed"


def test_rehearsal_requirements_are_pinned_and_agree_with_the_dev_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        lines = [line for line in (ROOT / name).read_text().splitlines() if line and not line.startswith(("#", "-r"))]
        parsed = [re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[a-z,]+\])?==(\S+)", line) for line in lines]
        assert all(parsed), lines
        return {m.group(1).lower().replace("_", "-"): m.group(2) for m in parsed if m}

    text = (ROOT / "tools/rehearsal/requirements.txt").read_text()
    assert "-r ../../requirements-dev.txt" in text
    rehearse_pins, dev, runtime = (
        pins("tools/rehearsal/requirements.txt"),
        pins("requirements-dev.txt"),
        pins("requirements.txt"),
    )
    assert not set(rehearse_pins) & (set(dev) | set(runtime)), "pinned twice"


def test_the_server_extensions_are_written_for_the_pinned_moto() -> None:
    from tools.rehearsal.server import MOTO_VERSION

    assert f"moto[server]=={MOTO_VERSION}\n" in (ROOT / "tools/rehearsal/requirements.txt").read_text()


# -- bad input: one line, non-zero exit, no server left running ---------------------------------


def pid_gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (or is a zombie waiting for init), polling up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


FAKE_SERVER = """
import http.server, os, subprocess, sys, time
port = int(sys.argv[-1])
with open(sys.argv[1], "w") as f:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    f.write(f"{os.getpid()} {child.pid}")
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"[]")
    def log_message(self, *args):
        pass
if os.environ.get("FAKE_SERVER_SILENT"):
    time.sleep(120)
http.server.HTTPServer(("127.0.0.1", port), Answer).serve_forever()
"""


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """A stand-in server command that answers every GET, starts a child, and writes both pids."""
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    pids = tmp_path / "pids"
    yield [sys.executable, str(script), str(pids)], pids


def started_pids(pids: Path) -> list[int]:
    return [int(pid) for pid in pids.read_text().split()]


def test_the_server_and_what_it_started_are_stopped_after_the_rehearsal(
    fake_server: tuple[list[str], Path], tmp_path: Path
) -> None:
    command, pids = fake_server
    with rehearsal_server(tmp_path / "server.log", command=command) as endpoint:
        assert endpoint.startswith("http://localhost:")
        server, child = started_pids(pids)
        assert not pid_gone(server, within=0.1)
    assert pid_gone(server)
    assert pid_gone(child)


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, rehearse.Terminated, RehearsalError])
def test_the_server_is_stopped_on_ctrl_c_sigterm_and_failure(
    fake_server: tuple[list[str], Path], tmp_path: Path, interruption: type[BaseException]
) -> None:
    command, pids = fake_server
    with pytest.raises(interruption), rehearsal_server(tmp_path / "server.log", command=command):
        raise interruption()
    assert all(pid_gone(pid) for pid in started_pids(pids))


def test_background_commands_run_in_order_and_stop_with_what_they_started(
    fake_server: tuple[list[str], Path], tmp_path: Path
) -> None:
    command, pids = fake_server
    with rehearse.background() as commands:
        done = commands.submit([sys.executable, "-c", "print('first')"], os.environ, tmp_path / "first.log", 60)
        assert done.result(timeout=60) >= 0
        assert (tmp_path / "first.log").read_text() == "first\n"
        failed = commands.submit(
            [sys.executable, "-c", "print('Error: no'); raise SystemExit(2)"], os.environ, tmp_path / "f.log", 60
        )
        with pytest.raises(RehearsalError, match=r"failed: Error: no \(log: "):
            failed.result(timeout=60)
        running = commands.submit([*command, "0"], os.environ | {"FAKE_SERVER_SILENT": "1"}, tmp_path / "r.log", 60)
        never = commands.submit([sys.executable, "-c", "print('never')"], os.environ, tmp_path / "never.log", 60)
        deadline = time.monotonic() + 30
        while not pids.exists() or len(pids.read_text().split()) < 2:
            assert time.monotonic() < deadline, "the background command did not start"
            time.sleep(0.05)
    assert all(pid_gone(pid) for pid in started_pids(pids))
    with pytest.raises(RehearsalError):
        running.result(timeout=10)
    assert never.cancelled()  # dropped, never started


def test_a_server_that_exits_at_start_gives_its_last_line(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('starting'); print('boom: no such thing'); sys.exit(3)"]
    with pytest.raises(RehearsalError) as failure, rehearsal_server(tmp_path / "server.log", command=command):
        pass
    assert str(failure.value) == (
        f"the rehearsal server exited with code 3: boom: no such thing (log: {tmp_path / 'server.log'})"
    )


def test_a_server_that_never_answers_is_stopped_after_the_start_timeout(
    fake_server: tuple[list[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, pids = fake_server
    monkeypatch.setenv("FAKE_SERVER_SILENT", "1")
    monkeypatch.setattr(rehearse, "SERVER_START_TIMEOUT", 1.0)
    silent = rehearsal_server(tmp_path / "server.log", command=command)
    with pytest.raises(RehearsalError, match=r"^the rehearsal server is not answering after 1 s \(log: "), silent:
        pass
    assert all(pid_gone(pid) for pid in started_pids(pids))


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_a_port_in_use_is_refused_before_anything_starts(busy_port: int, tmp_path: Path) -> None:
    never = [sys.executable, "-c", "raise SystemExit('must not start')"]
    with pytest.raises(RehearsalError) as failure, rehearsal_server(tmp_path / "server.log", busy_port, command=never):
        pass
    assert str(failure.value) == (
        f"port {busy_port} on 127.0.0.1 is in use: choose another (REHEARSE_PORT=...) or leave it unset for a free one"
    )
    assert not (tmp_path / "server.log").exists()


@pytest.fixture
def fake_cdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `cdk` on PATH that must not be reached: main() fails before any CLI run in these tests."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cdk = bin_dir / "cdk"
    cdk.write_text("#!/bin/sh\necho 'cdk must not run here' >&2\nexit 9\n")
    cdk.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_main_without_the_cdk_cli_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert rehearse.main([]) == 1
    captured = capsys.readouterr()
    assert captured.err == "rehearse: FAILED: the CDK CLI is not on PATH (run through `make rehearse`)\n"
    assert captured.out == ""


def test_the_rehearsal_never_loads_the_cdk_library() -> None:
    """It drives the CLI only. Loading aws-cdk-lib would start a Node runtime, which prints its own
    banner (or fails) before the rehearsal's one line when the CLI is missing."""
    probe = "import sys, tools.rehearsal.rehearse; print(sorted(m for m in ('aws_cdk', 'jsii') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == "[]\n"


@pytest.mark.usefixtures("fake_cdk")
def test_main_with_a_port_in_use_says_so_in_one_line(
    busy_port: int, assembly: CloudAssembly, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rehearse.main(["--assembly", str(assembly.directory), "--port", str(busy_port)]) == 1
    assert re.fullmatch(
        rf"rehearse: FAILED after \d+ s: port {busy_port} on 127\.0\.0\.1 is in use: choose another "
        r"\(REHEARSE_PORT=\.\.\.\) or leave it unset for a free one\n",
        capsys.readouterr().err,
    )


@pytest.mark.parametrize("port", ["0", "70000"])
def test_main_refuses_a_port_out_of_range(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert rehearse.main(["--port", port]) == 1
    assert capsys.readouterr().err == (f"rehearse: FAILED: --port {port}: expected a port number between 1 and 65535\n")


@pytest.mark.usefixtures("fake_cdk")
def test_main_without_a_synthesized_assembly_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rehearse.main(["--assembly", str(tmp_path / "nothing")]) == 1
    assert re.fullmatch(
        rf"rehearse: FAILED after \d+ s: {re.escape(str(tmp_path / 'nothing' / 'manifest.json'))}: not found; "
        r"synthesize first \(make synth\), or pass --assembly\n",
        capsys.readouterr().err,
    )


@pytest.mark.usefixtures("fake_cdk")
def test_main_with_a_bad_configuration_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rehearse.main(["--config", str(tmp_path / "missing.toml")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("rehearse: FAILED after ")
    assert "missing.toml" in error
    assert error.count("\n") == 1


@pytest.mark.usefixtures("fake_cdk")
@pytest.mark.parametrize(
    ("stop", "code", "word"), [(KeyboardInterrupt, 130, "interrupted"), (rehearse.Terminated, 143, "terminated")]
)
def test_main_reports_ctrl_c_and_sigterm_in_one_line(
    stop: type[BaseException],
    code: int,
    word: str,
    assembly: CloudAssembly,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def interrupted(*args: Any) -> str:
        raise stop()

    monkeypatch.setattr(rehearse, "rehearse", interrupted)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert rehearse.main(["--assembly", str(assembly.directory)]) == code
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert re.fullmatch(rf"rehearse: FAILED after \d+ s: {word}; the server is stopped\n", capsys.readouterr().err)


def test_sigterm_unwinds_like_ctrl_c() -> None:
    with pytest.raises(rehearse.Terminated):
        rehearse._on_sigterm(signal.SIGTERM, None)


# -- the server's version guard (no moto needed) ------------------------------------------------


def test_the_extensions_refuse_another_moto_version_in_one_line() -> None:
    from tools.rehearsal.server import MOTO_VERSION, ExtensionError, check_moto_version

    check_moto_version(MOTO_VERSION)
    with pytest.raises(ExtensionError) as failure:
        check_moto_version("5.2.6")
    assert str(failure.value) == (
        f"moto 5.2.6 is installed, the rehearsal's CloudFormation extensions are written for moto {MOTO_VERSION} "
        "(tools/rehearsal/requirements.txt): reinstall the pin or review the extensions"
    )
    assert "\n" not in str(failure.value)


def test_the_extensions_say_when_moto_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    from tools.rehearsal import server as rehearsal_server

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(rehearsal_server.metadata, "version", not_installed)
    with pytest.raises(rehearsal_server.ExtensionError, match=r"^moto is not installed: `make rehearse` installs"):
        rehearsal_server.check_moto_version()


def test_placeholder_arns_are_well_formed() -> None:
    from tools.rehearsal.server import placeholder_arn

    assert placeholder_arn("AWS::CodeBuild::Project", "eu-west-1", "111111111111", "Tools-Pipeline-Build-ABC") == (
        "arn:aws:codebuild:eu-west-1:111111111111:project/Tools-Pipeline-Build-ABC"
    )


# -- with moto (`make rehearse` installs it): the server and its extensions -----------------------


@pytest.fixture
def moto_cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with the rehearsal's extensions, and a boto3 session against it."""
    import boto3
    from moto import mock_aws

    from tools.rehearsal import server as rehearsal_server

    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    rehearsal_server.install()
    rehearsal_server.LEDGER.clear()
    with mock_aws():
        yield boto3.session.Session(region_name="eu-west-1")


def create(session: Any, name: str, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    template: dict[str, Any] = {"Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    session.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return str(session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def parameter(name: str, value: Any) -> dict[str, Any]:
    """A carrier for a resolved value: moto's SSM parameter keeps it as given."""
    return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}


def parameter_value(session: Any, stack: str, logical_id: str) -> str:
    name = session.client("cloudformation").describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    return str(session.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])


def ledger_of(stack: str) -> list[dict[str, Any]]:
    from tools.rehearsal.server import LEDGER

    return [entry.__dict__ for entry in LEDGER.entries() if entry.stack_name == stack]


def test_get_stack_output_reads_the_named_stack_in_the_same_account_and_region(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    outputs = {"VpcId": {"Value": "vpc-0123"}}
    assert create(session, "Net", {"P": parameter("/net/p", "x")}, outputs) == "CREATE_COMPLETE"
    reads = {"Fn::GetStackOutput": {"StackName": "Net", "OutputName": "VpcId", "Region": {"Ref": "AWS::Region"}}}
    assert create(session, "App", {"Reads": parameter("/app/reads", reads)}) == "CREATE_COMPLETE"
    assert parameter_value(session, "App", "Reads") == "vpc-0123"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"StackName": "Net", "OutputName": "Nope", "Region": "eu-west-1"}, "stack Net has no output Nope"),
        (
            {"StackName": "Gone", "OutputName": "VpcId", "Region": "eu-west-1"},
            "stack Gone does not exist in 123456789012/eu-west-1",
        ),
        (
            {"StackName": "Net", "OutputName": "VpcId", "Region": "eu-west-2"},
            "stack Net does not exist in 123456789012/eu-west-2",
        ),
    ],
    ids=["missing-output", "missing-stack", "other-region"],
)
def test_get_stack_output_fails_the_stack_like_cloudformation(
    moto_cloudformation: Any, arguments: dict[str, str], message: str
) -> None:
    from botocore.exceptions import ClientError

    session = moto_cloudformation
    create(session, "Net", {"P": parameter("/net/p", "x")}, {"VpcId": {"Value": "vpc-0123"}})
    with pytest.raises(ClientError, match=re.escape(f"Template error: Fn::GetStackOutput: {message}")):
        create(session, "App", {"Reads": parameter("/app/reads", {"Fn::GetStackOutput": arguments})})


def test_an_unmodelled_type_is_a_recorded_placeholder_with_a_well_formed_arn(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    resources = {
        "Build": {"Type": "AWS::CodeBuild::Project", "Properties": {"Name": "b"}},
        "Reports": {"Type": "AWS::CodeBuild::ReportGroup", "DeletionPolicy": "Retain", "Properties": {}},
        "BuildArn": parameter("/pipe/build-arn", {"Fn::GetAtt": ["Build", "Arn"]}),
    }
    assert create(session, "Pipe", resources) == "CREATE_COMPLETE"
    entries = {e["logical_id"]: e for e in ledger_of("Pipe")}
    assert {(e["type"], e["kind"]) for e in entries.values()} == {
        ("AWS::CodeBuild::Project", "placeholder"),
        ("AWS::CodeBuild::ReportGroup", "placeholder"),
    }
    build_id = entries["Build"]["physical_id"]
    assert build_id.startswith("Pipe-Build-")
    assert (
        parameter_value(session, "Pipe", "BuildArn") == f"arn:aws:codebuild:eu-west-1:123456789012:project/{build_id}"
    )
    session.client("cloudformation").delete_stack(StackName="Pipe")
    deleted = {e["logical_id"]: e["deleted"] for e in ledger_of("Pipe")}
    assert deleted == {"Build": True, "Reports": False}  # DeletionPolicy Retain is kept


@pytest.mark.parametrize("custom_type", ["Custom::VpcRestrictDefaultSG", "AWS::CloudFormation::CustomResource"])
def test_a_custom_resource_is_answered_without_running_its_function(moto_cloudformation: Any, custom_type: str) -> None:
    session = moto_cloudformation
    role = session.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = session.client("lambda").create_function(
        FunctionName="provider",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"not even a zip: never run"},
    )["FunctionArn"]
    resources = {"Restrict": {"Type": custom_type, "Properties": {"ServiceToken": function}}}
    assert create(session, "Net", resources) == "CREATE_COMPLETE"
    (entry,) = ledger_of("Net")
    assert (entry["logical_id"], entry["type"], entry["kind"]) == ("Restrict", custom_type, "custom")
    session.client("cloudformation").delete_stack(StackName="Net")
    assert [e["deleted"] for e in ledger_of("Net")] == [True]


def test_a_custom_resource_without_its_provider_function_fails(moto_cloudformation: Any) -> None:
    from botocore.exceptions import ClientError

    token = "arn:aws:lambda:eu-west-1:123456789012:function:missing"
    with pytest.raises(ClientError, match="missing"):
        create(moto_cloudformation, "Net", {"R": {"Type": "Custom::X", "Properties": {"ServiceToken": token}}})


NETWORK_AND_SERVICE: dict[str, Any] = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"}},
    "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
    "Association": {
        "Type": "AWS::EC2::SubnetRouteTableAssociation",
        "Properties": {"RouteTableId": {"Ref": "Table"}, "SubnetId": {"Ref": "Subnet"}},
    },
    "Gateway": {"Type": "AWS::EC2::InternetGateway"},
    "Attachment": {
        "Type": "AWS::EC2::VPCGatewayAttachment",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Gateway"}},
    },
    "S3Endpoint": {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "ServiceName": "com.amazonaws.eu-west-1.s3",
            "VpcEndpointType": "Gateway",
            "RouteTableIds": [{"Ref": "Table"}],
        },
    },
    "Blue": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {"Port": 8080, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
    },
    "BlueName": parameter("/net/blue-name", {"Fn::GetAtt": ["Blue", "TargetGroupFullName"]}),
    "Cluster": {"Type": "AWS::ECS::Cluster"},
    "Policy": {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        },
    },
}


def test_target_group_attributes_resolve(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    assert create(session, "Net", NETWORK_AND_SERVICE) == "CREATE_COMPLETE"
    arn = session.client("cloudformation").describe_stack_resource(StackName="Net", LogicalResourceId="Blue")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    assert parameter_value(session, "Net", "BlueName") == arn.split(":")[-1]
    assert parameter_value(session, "Net", "BlueName").startswith("targetgroup/")


def test_deleting_the_stack_deletes_what_moto_alone_would_leave(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    ec2, ecs, elbv2, iam = (session.client(s) for s in ("ec2", "ecs", "elbv2", "iam"))
    before_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert create(session, "Net", NETWORK_AND_SERVICE) == "CREATE_COMPLETE"
    session.client("cloudformation").delete_stack(StackName="Net")
    assert {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]} == before_vpcs
    assert [e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"] == []
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    assert {c["status"] for c in clusters} <= {"INACTIVE"}
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_the_server_refuses_a_port_in_use_in_one_line(busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "rehearsal" / "server.py"), "-p", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == f"rehearsal server: cannot listen on 127.0.0.1:{busy_port}: Address already in use\n"


def test_every_type_the_pinned_moto_does_not_model_is_named_in_docs_rehearsal(assembly: CloudAssembly) -> None:
    from moto.cloudformation import parsing

    types = {resource["Type"] for stack in assembly for resource in stack.template["Resources"].values()}
    unmodelled = {t for t in types if not t.startswith("Custom::") and t not in parsing.get_model_map()}
    doc = (ROOT / "docs" / "rehearsal.md").read_text()
    assert unmodelled
    assert sorted(t for t in unmodelled if f"`{t}`" not in doc) == []


def test_sigterm_during_a_rehearsal_stops_its_server_and_says_so_in_one_line(assembly: CloudAssembly) -> None:
    assert shutil.which("cdk") is not None, "the CDK CLI is not on PATH: run through make rehearse"
    rehearsal = subprocess.Popen(
        [sys.executable, "-m", "tools.rehearsal", "--assembly", str(assembly.directory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert rehearsal.stdout is not None
        first = rehearsal.stdout.readline()  # printed once the server answers
        port = int(re.search(r"http://localhost:(\d+)", first).group(1))  # type: ignore[union-attr]
        rehearsal.send_signal(signal.SIGTERM)
        _, errors = rehearsal.communicate(timeout=60)
    finally:
        if rehearsal.poll() is None:
            rehearsal.kill()
            rehearsal.wait()
    assert rehearsal.returncode == 143
    assert re.fullmatch(r"rehearse: FAILED after \d+ s: terminated; the server is stopped \(logs: \S+\)\n", errors)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the server still answers"


# -- the destroy checks, against a recorded account (no server) ---------------------------------


def destroyed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config, after: dict[str, set[str]]
) -> rehearse.Run:
    """A run whose stack 'S' in account 1 created a VPC and a retained bucket; the account now holds ``after``."""
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC"},
            "Logs": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "DeletionPolicy": "Retain"},
        }
    }
    assembly = one_stack(tmp_path, template)
    run = rehearse.Run(config, assembly, tmp_path, Moto("http://localhost:1", "eu-west-1"), [], {})
    run.records["S"] = StackRecord("S", "111111111111", destroyed=True)
    run.resources["S"] = [
        rehearse.Resource("Vpc", "AWS::EC2::VPC", "vpc-1", "modelled", retained=False),
        rehearse.Resource("Logs", "AWS::S3::Bucket", "s-logs", "modelled", retained=True),
        rehearse.Resource("Alarm", "AWS::CloudWatch::Alarm", "S-Alarm-X", "placeholder", retained=True),
    ]
    run.baseline["111111111111"] = {"AWS::EC2::VPC": {"vpc-default"}, "AWS::S3::Bucket": {"cdk-assets"}}
    monkeypatch.setattr(rehearse, "inventory", lambda moto, account: after)
    return run


def test_a_destroy_that_leaves_exactly_the_retained_resources_is_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    after = {"AWS::EC2::VPC": {"vpc-default"}, "AWS::S3::Bucket": {"cdk-assets", "s-logs"}}
    run = destroyed_run(tmp_path, monkeypatch, config, after)
    assert rehearse.check_nothing_left(run) == (
        "1 resources remain, exactly those the templates retain (DeletionPolicy Retain); "
        "1 more retained ones were placeholders, never created"
    )


@pytest.mark.parametrize(
    ("after", "first_problem"),
    [
        (
            {"AWS::EC2::VPC": {"vpc-default", "vpc-1"}, "AWS::S3::Bucket": {"cdk-assets", "s-logs"}},
            "111111111111: AWS::EC2::VPC vpc-1 left behind",
        ),
        (
            {"AWS::EC2::VPC": {"vpc-default"}, "AWS::S3::Bucket": {"cdk-assets", "s-logs"}, "AWS::KMS::Key": {"k"}},
            "111111111111: AWS::KMS::Key k left behind",
        ),
        (
            {"AWS::EC2::VPC": {"vpc-default"}, "AWS::S3::Bucket": {"cdk-assets"}},
            "111111111111: retained AWS::S3::Bucket Logs is gone",
        ),
    ],
    ids=["stack-resource-left", "foreign-resource-left", "retained-resource-gone"],
)
def test_anything_else_left_or_a_retained_resource_gone_fails_the_rehearsal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config, after: dict[str, set[str]], first_problem: str
) -> None:
    run = destroyed_run(tmp_path, monkeypatch, config, after)
    with pytest.raises(RehearsalError) as failure:
        rehearse.check_nothing_left(run)
    assert str(failure.value) == f"the destroy was not clean: {first_problem} (1 problems in all)"


@pytest.mark.parametrize(
    ("after", "ledger_deleted", "problems"),
    [
        ({"AWS::S3::Bucket": {"s-logs"}}, {"Alarm": False, "Build": True}, []),
        (
            {"AWS::S3::Bucket": {"s-logs"}, "AWS::CloudFormation::Stack": {"S"}},
            {"Alarm": False, "Build": True},
            ["the stack still exists"],
        ),
        (
            {"AWS::S3::Bucket": set(), "AWS::EC2::VPC": {"vpc-1"}},
            {"Alarm": False, "Build": True},
            [
                "AWS::EC2::VPC Vpc (vpc-1) left behind",
                "AWS::S3::Bucket Logs has DeletionPolicy Retain but was deleted",
            ],
        ),
        (
            {"AWS::S3::Bucket": {"s-logs"}},
            {"Alarm": True, "Build": False},
            ["placeholder Alarm deleted", "placeholder Build not deleted"],
        ),
    ],
    ids=["clean", "stack-left", "resource-left-and-retained-gone", "placeholders-wrong"],
)
def test_each_stack_destroy_is_checked_against_its_own_resources(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: Config,
    after: dict[str, set[str]],
    ledger_deleted: dict[str, bool],
    problems: list[str],
) -> None:
    full_after = {"AWS::CloudFormation::Stack": set(), "AWS::EC2::VPC": set()} | after
    run = destroyed_run(tmp_path, monkeypatch, config, full_after)
    run.resources["S"].append(rehearse.Resource("Build", "AWS::CodeBuild::Project", "S-Build-X", "placeholder", False))
    ledger = [
        {"stack_name": "S", "account": "111111111111", "logical_id": logical, "kind": "placeholder", "deleted": deleted}
        for logical, deleted in ledger_deleted.items()
    ]
    monkeypatch.setattr(run.moto, "ledger", lambda: ledger)
    assert rehearse.destroy_problems(run, rehearse.StackStep("S", "111111111111")) == problems


# -- the extensions for the day-2 phase (with moto) ------------------------------------------------

BALANCED: dict[str, Any] = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "SubnetA": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "eu-west-1a"},
    },
    "SubnetB": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "eu-west-1b"},
    },
    "Balancer": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "Type": "application"},
    },
    **{
        colour: {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {"Port": 8080, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
        }
        for colour in ("Blue", "Green")
    },
    "Listener": {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": {"Ref": "Balancer"},
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": {"Ref": "Blue"}, "Weight": 0},
                            {"TargetGroupArn": {"Ref": "Green"}, "Weight": 100},
                        ]
                    },
                }
            ],
        },
    },
}


def physical_id(session: Any, stack: str, logical_id: str) -> str:
    return str(
        session.client("cloudformation").describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
    )


def test_a_listener_takes_a_weighted_forward_from_cloudformation(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    assert create(session, "Lb", BALANCED) == "CREATE_COMPLETE"
    (listener,) = session.client("elbv2").describe_listeners(ListenerArns=[physical_id(session, "Lb", "Listener")])[
        "Listeners"
    ]
    groups = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    weights = {group["TargetGroupArn"]: group["Weight"] for group in groups}
    assert weights == {physical_id(session, "Lb", "Blue"): 0, physical_id(session, "Lb", "Green"): 100}


SERVICES: dict[str, Any] = {
    "Cluster": {"Type": "AWS::ECS::Cluster"},
    "Tasks": {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": "web",
            "ContainerDefinitions": [{"Name": "web", "Image": "repo:bootstrap", "Memory": 512}],
        },
    },
    **{
        f"{controller.title().replace('_', '')}Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "TaskDefinition": {"Ref": "Tasks"},
                "DesiredCount": 0,
                "DeploymentController": {"Type": controller},
            },
        }
        for controller in ("CODE_DEPLOY", "ECS")
    },
}


def test_a_service_keeps_its_deployment_controller_and_an_ecs_update_finishes(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    ecs = session.client("ecs")
    assert create(session, "Svc", SERVICES) == "CREATE_COMPLETE"
    cluster = physical_id(session, "Svc", "Cluster")
    code_deploy, native = (physical_id(session, "Svc", name) for name in ("CodeDeployService", "EcsService"))
    (service,) = ecs.describe_services(cluster=cluster, services=[code_deploy])["services"]
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert service.get("deployments", []) == []  # task sets, not ECS deployments
    revision = ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "repo:release-1", "memory": 512}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=native, taskDefinition=revision)
    (service,) = ecs.describe_services(cluster=cluster, services=[native])["services"]
    assert service["deploymentController"] == {"type": "ECS"}
    assert [(d["status"], d["rolloutState"], d["taskDefinition"]) for d in service["deployments"]] == [
        ("PRIMARY", "COMPLETED", revision)
    ]


def test_an_update_with_the_previous_value_of_a_defaulted_parameter_applies_the_default(
    moto_cloudformation: Any,
) -> None:
    session = moto_cloudformation
    cloudformation = session.client("cloudformation")
    template = {
        "Parameters": {"Version": {"Type": "String", "Default": "/cdk-bootstrap/version"}, "Tag": {"Type": "String"}},
        "Resources": {"P": parameter("/svc/tag", {"Ref": "Tag"})},
    }
    cloudformation.create_stack(
        StackName="Svc", TemplateBody=json.dumps(template), Parameters=[{"ParameterKey": "Tag", "ParameterValue": "a"}]
    )
    cloudformation.update_stack(
        StackName="Svc",
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "Version", "UsePreviousValue": True},
            {"ParameterKey": "Tag", "ParameterValue": "b"},
        ],
    )
    assert cloudformation.describe_stacks(StackName="Svc")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert parameter_value(session, "Svc", "P") == "b"


def test_an_update_of_a_resource_moto_cannot_update_keeps_it_in_the_stack(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    cloudformation, elbv2 = session.client("cloudformation"), session.client("elbv2")
    assert create(session, "Lb", BALANCED) == "CREATE_COMPLETE"
    blue = physical_id(session, "Lb", "Blue")
    changed = json.loads(json.dumps(BALANCED))
    changed["Blue"]["Properties"]["HealthCheckPath"] = "/ready"
    cloudformation.update_stack(StackName="Lb", TemplateBody=json.dumps({"Resources": changed}))
    assert physical_id(session, "Lb", "Blue") == blue
    cloudformation.delete_stack(StackName="Lb")
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_a_failed_update_rolls_back_to_the_previous_template_and_parameter_values(moto_cloudformation: Any) -> None:
    from tools.rehearsal.server import FAIL_UPDATE, HOOKS, INJECTED_FAILURE

    session = moto_cloudformation
    cloudformation = session.client("cloudformation")
    template = {"Parameters": {"Tag": {"Type": "String"}}, "Resources": {"P": parameter("/svc/tag", {"Ref": "Tag"})}}
    changed = json.loads(json.dumps(template))
    changed["Resources"]["P"]["Properties"]["Value"] = {"Fn::Join": ["-", [{"Ref": "Tag"}, "new"]]}
    cloudformation.create_stack(
        StackName="Svc", TemplateBody=json.dumps(template), Parameters=[{"ParameterKey": "Tag", "ParameterValue": "a"}]
    )
    account = session.client("sts").get_caller_identity()["Account"]
    HOOKS.arm((account, "eu-west-1", "Svc"), FAIL_UPDATE)
    given = [{"ParameterKey": "Tag", "ParameterValue": "b"}]
    cloudformation.update_stack(StackName="Svc", TemplateBody=json.dumps(changed), Parameters=given)
    (stack,) = cloudformation.describe_stacks(StackName="Svc")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Tag", "ParameterValue": "a"}]
    assert parameter_value(session, "Svc", "P") == "a"  # written as "b-new" by the update, then rolled back
    events = cloudformation.describe_stack_events(StackName="Svc")["StackEvents"]
    assert [(e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events[:3]] == [
        ("UPDATE_ROLLBACK_COMPLETE", None),
        ("UPDATE_ROLLBACK_IN_PROGRESS", INJECTED_FAILURE),
        ("UPDATE_IN_PROGRESS", "User Initiated"),
    ]
    # Armed once: the next update goes through.
    cloudformation.update_stack(StackName="Svc", TemplateBody=json.dumps(changed), Parameters=given)
    assert cloudformation.describe_stacks(StackName="Svc")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert parameter_value(session, "Svc", "P") == "b-new"


def test_a_resource_that_fails_its_update_rolls_the_stack_back(moto_cloudformation: Any) -> None:
    session = moto_cloudformation
    cloudformation = session.client("cloudformation")
    template = {"Resources": {"P": parameter("/svc/tag", "a")}}
    changed = {"Resources": {"P": parameter("/svc/tag", "b"), "Q": parameter("/svc/other", "x")}}
    changed["Resources"]["Q"]["Properties"]["Type"] = "NotAType"  # moto's SSM rejects it, as SSM does
    assert create(session, "Svc", template["Resources"]) == "CREATE_COMPLETE"
    # The rollback removes what the failed update added; Q was never created, and moto says so.
    with pytest.warns(UserWarning, match="Unable to delete Q, as it was never created"):
        cloudformation.update_stack(StackName="Svc", TemplateBody=json.dumps(changed))
    (stack,) = cloudformation.describe_stacks(StackName="Svc")["Stacks"]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert parameter_value(session, "Svc", "P") == "a"


def test_the_hooks_arm_once_clear_and_refuse_an_unknown_one() -> None:
    from tools.rehearsal.server import CLEAR, FAIL_UPDATE, HOOKS, RELEASE_DURING_UPDATE, hook

    where = {"account": "444444444444", "region": "eu-west-1", "stack": "Prod-Service"}
    key = ("444444444444", "eu-west-1", "Prod-Service")
    assert hook({"hook": FAIL_UPDATE, **where}) == {"armed": FAIL_UPDATE}
    assert not HOOKS.take(key, RELEASE_DURING_UPDATE)
    assert HOOKS.take(key, FAIL_UPDATE) and not HOOKS.take(key, FAIL_UPDATE)
    assert hook({"hook": RELEASE_DURING_UPDATE, **where}) == {"armed": RELEASE_DURING_UPDATE}
    HOOKS.started(key, lambda: "stopped it")
    assert hook({"hook": CLEAR, **where}) == {"cleared": "stopped it"}
    assert not HOOKS.take(key, RELEASE_DURING_UPDATE)  # cleared: no longer armed
    assert hook({"hook": CLEAR, **where}) == {"cleared": "nothing to stop"}
    with pytest.raises(ValueError, match="unknown hook 'explode'"):
        hook({"hook": "explode", **where})


def test_the_day2_extensions_check_that_moto_still_lacks_them() -> None:
    source = (ROOT / "tools" / "rehearsal" / "server.py").read_text()
    for number in (6, 7, 8, 9, 10, 11):
        assert f"extension {number}" in source


# -- the wiring checks, against a recorded account (no server) ---------------------------------

TOOLS, TARGET = "111111111111", "222222222222"
EXEC_ROLE = f"arn:aws:iam::{TARGET}:role/cdk-hnb659fds-cfn-exec-role-{TARGET}-eu-west-1"
DEPLOY_ROLE = f"arn:aws:iam::{TARGET}:role/cdk-hnb659fds-deploy-role-{TARGET}-eu-west-1"
BOUNDARY = f"arn:aws:iam::{TARGET}:policy/{BOUNDARY_NAME}"


class Recorded:
    """What a stand-in for moto answers: one object per service, each method a lambda over ``state``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def in_account(self, service: str, account: str) -> Any:
        state = self.state

        class Client:
            def describe_stacks(self, StackName: str) -> dict[str, Any]:
                return {"Stacks": [state["stacks"][account][StackName]]}

            def list_stacks(self) -> dict[str, Any]:
                return {"StackSummaries": [{"StackName": name} for name in state["stacks"].get(account, {})]}

            def get_role(self, RoleName: str) -> dict[str, Any]:
                return {"Role": state["roles"][account][RoleName]}

            def get_paginator(self, operation: str) -> Any:
                assert operation == "list_policies"
                policies = [{"Arn": arn} for arn in state["policies"].get(account, [])]

                class Pages:
                    def paginate(self, Scope: str) -> list[dict[str, Any]]:
                        return [{"Policies": policies}]

                return Pages()

            def describe_target_groups(self, TargetGroupArns: list[str]) -> dict[str, Any]:
                return {"TargetGroups": [{"VpcId": state["vpc_of"][TargetGroupArns[0]]}]}

        return Client()


def service_stack(tmp_path: Path) -> AssemblyStack:
    template = {
        "Resources": {
            "Group": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "VpcId": {"Fn::GetStackOutput": {"StackName": "Net", "OutputName": "Vpc", "Region": "eu-west-1"}}
                },
            }
        }
    }
    return AssemblyStack(
        artifact_id="App",
        stack_name="App",
        account=TARGET,
        region="eu-west-1",
        template=template,
        deploy_role_arn=DEPLOY_ROLE,
        # As the manifest names it: the check compares it in moto's partition.
        execution_role_arn=EXEC_ROLE.replace("arn:aws:", "arn:${AWS::Partition}:"),
    )


def recorded_run(tmp_path: Path, config: Config, **changes: Any) -> tuple[rehearse.Run, AssemblyStack]:
    stack = service_stack(tmp_path)
    state: dict[str, Any] = {
        "stacks": {
            TARGET: {
                "App": {"StackStatus": "CREATE_COMPLETE", "RoleARN": EXEC_ROLE},
                "Net": {"Outputs": [{"OutputKey": "Vpc", "OutputValue": "vpc-1"}]},
            },
            TOOLS: {},
        },
        "roles": {
            TARGET: {
                DEPLOY_ROLE.split("/")[-1]: {"RoleLastUsed": {"LastUsedDate": "2026-12-02"}},
                EXEC_ROLE.split("/")[-1]: {"PermissionsBoundary": {"PermissionsBoundaryArn": BOUNDARY}},
                "app-role": {"PermissionsBoundary": {"PermissionsBoundaryArn": BOUNDARY}},
            }
        },
        "policies": {TARGET: [BOUNDARY]},
        "vpc_of": {"arn:group": "vpc-1"},
    }
    for path, value in changes.items():
        *keys, last = path.split(".")
        target = state
        for key in keys:
            target = target[key]
        target[last] = value
    run = rehearse.Run(config, CloudAssembly(tmp_path, {"App": stack}), tmp_path, Recorded(state), [], {})  # type: ignore[arg-type]
    run.resources["App"] = [
        rehearse.Resource("Group", "AWS::ElasticLoadBalancingV2::TargetGroup", "arn:group", "modelled", False),
        rehearse.Resource("Role", "AWS::IAM::Role", "app-role", "modelled", False),
    ]
    return run, stack


def reference_problem(run: rehearse.Run, stack: AssemblyStack) -> str | None:
    ((logical, resource_type, prop, reference),) = stack_output_references(stack.template)
    return rehearse.check_reference(run, stack, logical, resource_type, prop, reference)


def test_a_reference_resolved_to_the_published_output_passes(tmp_path: Path, config: Config) -> None:
    assert reference_problem(*recorded_run(tmp_path, config)) is None


def test_a_reference_to_an_output_the_stack_does_not_publish_is_one_line(tmp_path: Path, config: Config) -> None:
    run, stack = recorded_run(tmp_path, config, **{f"stacks.{TARGET}.Net.Outputs": []})
    assert reference_problem(run, stack) == "Group.VpcId reads Net.Vpc, which Net does not publish"


def test_a_deployed_value_other_than_the_output_is_one_line(tmp_path: Path, config: Config) -> None:
    run, stack = recorded_run(tmp_path, config, **{"vpc_of.arn:group": "vpc-other"})
    assert reference_problem(run, stack) == "Group.VpcId is ['vpc-other'], not Net.Vpc = vpc-1"


def test_a_placeholder_carries_no_value_to_read_back(tmp_path: Path, config: Config) -> None:
    run, stack = recorded_run(tmp_path, config, **{"vpc_of.arn:group": "vpc-other"})
    run.resources["App"] = [dataclasses.replace(run.resources["App"][0], kind="placeholder")]
    assert reference_problem(run, stack) is None


def stack_check(run: rehearse.Run) -> str | None:
    checks = dict(rehearse.wiring_checks(run))
    return checks[f"App in {TARGET}"]()


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({}, None),
        ({f"stacks.{TARGET}.App.StackStatus": "UPDATE_ROLLBACK_COMPLETE"}, "App is UPDATE_ROLLBACK_COMPLETE"),
        (
            {f"stacks.{TARGET}.App.RoleARN": "arn:aws:iam::1:role/admin"},
            f"App ran as arn:aws:iam::1:role/admin, not {EXEC_ROLE}",
        ),
        (
            {f"stacks.{TARGET}.App.EnableTerminationProtection": True},
            "App termination protection is True, not as synthesized",
        ),
        (
            {f"roles.{TARGET}.{DEPLOY_ROLE.split('/')[-1]}.RoleLastUsed": {}},
            f"{DEPLOY_ROLE.split('/')[-1]} was never assumed",
        ),
        ({f"stacks.{TOOLS}.App": {}}, f"App also exists in the tools account {TOOLS}"),
    ],
    ids=["as-deployed", "status", "execution-role", "termination-protection", "deploy-role-unused", "in-tools"],
)
def test_each_stack_is_checked_in_its_account_through_the_chain_of_roles(
    tmp_path: Path, config: Config, changes: dict[str, Any], line: str | None
) -> None:
    run, _ = recorded_run(tmp_path, config, **changes)
    assert stack_check(run) == line


def test_an_account_without_a_stack_is_a_failed_check_not_a_traceback(tmp_path: Path, config: Config) -> None:
    run, _ = recorded_run(tmp_path, config)
    checks = dict(rehearse.wiring_checks(run))
    assert checks[f"CDKToolkit {config.accounts.prod} trusts tools"]() == (
        f"the assembly has no stack in {config.accounts.prod}, so no bootstrap deploy role to look at"
    )


def test_an_assembly_that_lacks_a_stack_of_the_configuration_is_refused(
    config: Config, assembly: CloudAssembly
) -> None:
    partial = dataclasses.replace(
        assembly, stacks={k: v for k, v in assembly.stacks.items() if k not in ("Prod-Service", "Dev-Service")}
    )
    with pytest.raises(RehearsalError) as error:
        deploy_plan(config, partial)
    assert str(error.value) == (
        f"{assembly.manifest}: no Dev-Service, Prod-Service, which {config.source} implies: "
        "run `make synth` with the same CONFIG"
    )


EXEC_ROLE_NAME = EXEC_ROLE.split("/")[-1]


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({}, None),
        (
            {f"roles.{TARGET}.{EXEC_ROLE_NAME}.PermissionsBoundary": {}},
            f"{EXEC_ROLE_NAME} has the boundary None, not {BOUNDARY}",
        ),
        (
            {f"roles.{TARGET}.{EXEC_ROLE_NAME}.PermissionsBoundary.PermissionsBoundaryArn": "arn:aws:iam::1:policy/x"},
            f"{EXEC_ROLE_NAME} has the boundary arn:aws:iam::1:policy/x, not {BOUNDARY}",
        ),
        ({f"policies.{TARGET}": []}, f"{EXEC_ROLE_NAME} names the boundary {BOUNDARY}, which does not exist"),
    ],
    ids=["bounded", "no-boundary", "another-boundary", "policy-missing"],
)
def test_a_target_execution_role_without_the_boundary_fails_its_check(
    tmp_path: Path, config: Config, changes: dict[str, Any], line: str | None
) -> None:
    run, _ = recorded_run(tmp_path, config, **changes)
    assert dict(rehearse.wiring_checks(run))[f"CDKToolkit {TARGET} execution role boundary"]() == line


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({}, None),
        ({f"roles.{TARGET}.app-role": {}}, f"Role (app-role) has the boundary None, not {BOUNDARY}"),
    ],
    ids=["bounded", "unbounded"],
)
def test_a_target_stack_role_without_the_boundary_fails_its_check(
    tmp_path: Path, config: Config, changes: dict[str, Any], line: str | None
) -> None:
    run, _ = recorded_run(tmp_path, config, **changes)
    assert dict(rehearse.wiring_checks(run))["App 1 roles with the boundary"]() == line
