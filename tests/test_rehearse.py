"""The offline deploy rehearsal's plan (scripts/rehearse.py): everything that needs no moto server.

`make rehearse` runs the rehearsal itself; it is not part of `make test`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import Config
from scripts.rehearse import (
    DEPLOY_DOC,
    EXECUTION_POLICY_NAME,
    Assembly,
    Credentials,
    Moto,
    RehearsalError,
    bootstrap_plan,
    deploy_plan,
    execution_policy_document,
    moto_blocker,
    trusted_accounts,
)
from stacks.delivery_app import stack_names
from tests.support import ROOT, SynthesizedApp

# What the pinned moto's CloudFormation does not model among the app's resource types
# (moto.cloudformation.parsing.resource_class_from_type returns None for these).
NOT_MODELLED_BY_MOTO = {
    "AWS::CloudWatch::Alarm",
    "AWS::CodeBuild::Project",
    "AWS::CodeBuild::ReportGroup",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::CodePipeline::Pipeline",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::IAM::OIDCProvider",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SecretsManager::Secret",
}


def modelled_by_moto(resource_type: str) -> bool:
    return resource_type not in NOT_MODELLED_BY_MOTO


@pytest.fixture(scope="module")
def assembly(synthesized: SynthesizedApp) -> Assembly:
    return Assembly.read(Path(synthesized.assembly.directory))


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


def test_deploy_arguments_deploy_one_stack_directly_without_talking_to_the_internet(
    config: Config, assembly: Assembly
) -> None:
    step = deploy_plan(config, assembly, modelled_by_moto)[0]
    args = step.cdk_args(Path("cdk.out"))
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


def test_every_stack_is_planned_in_the_documented_order_in_its_own_account(config: Config, assembly: Assembly) -> None:
    plan = deploy_plan(config, assembly, modelled_by_moto)
    assert [step.name for step in plan] == stack_names(config)
    accounts = {step.name: step.account for step in plan}
    assert accounts["Tools-Pipeline"] == config.accounts.tools
    for environment in config.environments:
        assert accounts[f"{environment.title}-DeployRole"] == environment.account


def test_moto_deploys_the_oidc_pipeline_role_and_deploy_role_stacks_and_skips_the_rest_with_its_reason(
    config: Config, assembly: Assembly
) -> None:
    plan = {step.name: step.skip for step in deploy_plan(config, assembly, modelled_by_moto)}
    deployed = sorted(name for name, skip in plan.items() if skip is None)
    assert deployed == sorted(
        ["Tools-GithubOidc", "Tools-PipelineRole", *(f"{e.title}-DeployRole" for e in config.environments)]
    )
    assert plan["Tools-Pipeline"] == (
        "moto does not model AWS::CodeBuild::Project, AWS::CodeBuild::ReportGroup, "
        "whose attributes the template reads with Fn::GetAtt"
    )
    for environment in config.environments:
        assert "Custom::VpcRestrictDefaultSG in Docker" in str(plan[f"{environment.title}-Network"])
        assert plan[f"{environment.title}-Service"] == (
            f"moto does not resolve Fn::GetStackOutput (reads outputs of {environment.title}-Network)"
        )


def test_network_and_service_stacks_stay_skipped_even_if_moto_modelled_every_type(
    config: Config, assembly: Assembly
) -> None:
    plan = {step.name: step.skip for step in deploy_plan(config, assembly, lambda _: True)}
    assert plan["Tools-Pipeline"] is None
    assert all(plan[f"{e.title}-Network"] and plan[f"{e.title}-Service"] for e in config.environments)


def bucket(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Type": "AWS::S3::Bucket", "Properties": extra or {}}


@pytest.mark.parametrize(
    ("resources", "blocker"),
    [
        ({"B": bucket()}, None),
        # A Ref to a type moto does not model resolves to nothing, but does not stop the stack.
        ({"P": {"Type": "AWS::CodeBuild::Project"}, "B": bucket({"Tags": [{"Value": {"Ref": "P"}}]})}, None),
        (
            {"P": {"Type": "AWS::CodeBuild::Project"}, "B": bucket({"Name": {"Fn::GetAtt": ["P", "Arn"]}})},
            "moto does not model AWS::CodeBuild::Project, whose attributes the template reads with Fn::GetAtt",
        ),
        (
            {"P": {"Type": "AWS::CodeBuild::Project"}, "B": bucket({"Name": {"Fn::GetAtt": "P.Arn"}})},
            "moto does not model AWS::CodeBuild::Project, whose attributes the template reads with Fn::GetAtt",
        ),
        (
            {"P": {"Type": "AWS::CodeBuild::Project"}, "B": bucket({"Name": {"Fn::Sub": "x-${P.Arn}"}})},
            "moto does not model AWS::CodeBuild::Project, whose attributes the template reads with Fn::GetAtt",
        ),
        (
            {"C": {"Type": "AWS::CloudFormation::CustomResource", "Properties": {"ServiceToken": "arn"}}},
            "moto runs the Lambda function behind AWS::CloudFormation::CustomResource in Docker and waits for "
            "its answer; the rehearsal runs without Docker",
        ),
        (
            {"B": bucket({"Name": {"Fn::GetStackOutput": {"StackName": "Net", "Region": "r", "OutputName": "O"}}})},
            "moto does not resolve Fn::GetStackOutput (reads outputs of Net)",
        ),
    ],
    ids=["plain", "ref-to-unmodelled", "getatt-list", "getatt-string", "sub", "custom-resource", "stack-output"],
)
def test_moto_blocker(resources: dict[str, Any], blocker: str | None) -> None:
    assert moto_blocker({"Resources": resources}, modelled_by_moto) == blocker


def test_an_assembly_synthesized_from_another_configuration_is_refused(config: Config, assembly: Assembly) -> None:
    partial = Assembly(
        assembly.path,
        {k: v for k, v in assembly.accounts.items() if k != "Prod-Service"},
        {k: v for k, v in assembly.templates.items() if k != "Prod-Service"},
        assembly.deploy_roles,
        assembly.execution_roles,
    )
    with pytest.raises(RehearsalError, match=r"run `make synth` with the same CONFIG$"):
        deploy_plan(config, partial, modelled_by_moto)
    moved = Assembly(
        assembly.path,
        assembly.accounts | {"Dev-Network": "999999999999"},
        assembly.templates,
        assembly.deploy_roles,
        assembly.execution_roles,
    )
    with pytest.raises(RehearsalError, match=r"^Dev-Network is synthesized for account 999999999999"):
        deploy_plan(config, moved, modelled_by_moto)


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


def test_only_make_rehearse_installs_moto() -> None:
    def dry_run(target: str) -> str:
        return subprocess.run(
            ["make", "--dry-run", "--always-make", target], cwd=ROOT, capture_output=True, text=True, timeout=60
        ).stdout

    assert "requirements-rehearse.txt" not in dry_run("synth") + dry_run("test")
    planned = dry_run("rehearse")
    assert "-r requirements-rehearse.txt" in planned
    assert "scripts/rehearse.py" in planned


def test_rehearsal_requirements_are_pinned_and_agree_with_the_dev_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        lines = [line for line in (ROOT / name).read_text().splitlines() if line and not line.startswith(("#", "-r"))]
        parsed = [re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[a-z,]+\])?==(\S+)", line) for line in lines]
        assert all(parsed), lines
        return {m.group(1).lower().replace("_", "-"): m.group(2) for m in parsed if m}

    text = (ROOT / "requirements-rehearse.txt").read_text()
    assert "-r requirements-dev.txt" in text
    assert "moto[server]==" in text
    rehearse, dev, runtime = pins("requirements-rehearse.txt"), pins("requirements-dev.txt"), pins("requirements.txt")
    assert not set(rehearse) & (set(dev) | set(runtime)), "pinned twice"


def test_the_table_of_unmodelled_types_matches_the_pinned_moto(assembly: Assembly) -> None:
    """Runs where `make rehearse` has installed moto; elsewhere it is skipped."""
    parsing = pytest.importorskip("moto.cloudformation.parsing")
    types = {
        resource["Type"] for template in assembly.templates.values() for resource in template["Resources"].values()
    }
    unmodelled = {t for t in types if not t.startswith("Custom::") and parsing.resource_class_from_type(t) is None}
    assert unmodelled == NOT_MODELLED_BY_MOTO
