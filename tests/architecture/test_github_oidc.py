"""Tools-GithubOidc: the GitHub OIDC provider, exact trust policies and least-privilege roles.

Also checks that the workflows in .github/workflows assume the roles this stack creates
with the subjects those roles trust.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam

from components.github_oidc import (
    PRESET_BOOTSTRAP_ROLES,
    GithubActionsRole,
    bootstrap_role_arn,
    trust_conditions,
)
from config import Config
from config.oidc import PRESETS
from config.workflow_env import workflow_env
from stacks.github_oidc_stack import GithubOidcStack, role_construct_id
from tests.support import ROOT, SynthesizedApp

STACK = "Tools-GithubOidc"
WORKFLOWS = ROOT / ".github" / "workflows"
AUD = "token.actions.githubusercontent.com:aud"
SUB = "token.actions.githubusercontent.com:sub"


def expected_bootstrap_arns(config: Config, kinds: tuple[str, ...]) -> list[str]:
    """Written out independently of components/github_oidc so that a typo there shows up here.

    The tools account's only: GitHub Actions creates the pipeline there and deploys nothing into
    dev, staging or prod (issue 20).
    """
    account = config.accounts.tools
    return [f"arn:aws:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-{config.region}" for kind in kinds]


def expected_reader_arns(config: Config) -> list[str]:
    return [
        f"arn:aws:iam::{account}:role/delivery-ref-template-reader"
        for account in (config.accounts.tools, config.accounts.dev, config.accounts.staging, config.accounts.prod)
    ]


def role_properties(synthesized: SynthesizedApp, name: str) -> dict[str, Any]:
    roles = synthesized.template(STACK).find_resources("AWS::IAM::Role", {"Properties": {"RoleName": name}})
    assert len(roles) == 1, f"expected one role named {name}, found {list(roles)}"
    return dict(next(iter(roles.values()))["Properties"])


def github_roles(synthesized: SynthesizedApp) -> dict[str, Any]:
    """The roles of the stack that GitHub tokens assume: all of them but the template reader.

    The template reader of the tools account sits in this stack too; it trusts the diff role,
    not the provider (tests/architecture/test_pull_request_exposure.py checks it).
    """
    roles = synthesized.template(STACK).find_resources("AWS::IAM::Role")
    readers = {name for name, role in roles.items() if role["Properties"]["RoleName"] == "delivery-ref-template-reader"}
    assert len(readers) == 1, "the tools account's template reader sits beside the GitHub roles"
    return {name: role for name, role in roles.items() if name not in readers}


def logical_id(synthesized: SynthesizedApp, *path: str) -> str:
    stack = synthesized.stack(STACK)
    construct: Any = stack
    for child in path:
        construct = construct.node.find_child(child)
    return stack.get_logical_id(construct.node.default_child)


# -- the provider ------------------------------------------------------------------------


def test_provider_is_the_native_resource_for_github_with_the_sts_audience(synthesized: SynthesizedApp) -> None:
    template = synthesized.template(STACK)
    template.resource_count_is("AWS::IAM::OIDCProvider", 1)
    template.has_resource(
        "AWS::IAM::OIDCProvider",
        {
            "Properties": {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]},
            "DeletionPolicy": "Retain",
        },
    )
    assert not [t for t in template.to_json()["Resources"].values() if t["Type"].startswith("Custom::")]
    assert not template.find_resources("AWS::Lambda::Function"), "the custom-resource provider is not used"


def test_only_the_tools_account_has_a_github_provider(synthesized: SynthesizedApp) -> None:
    holders = [
        name for name in synthesized.stack_names if synthesized.template(name).find_resources("AWS::IAM::OIDCProvider")
    ]
    assert holders == [STACK]
    assert synthesized.stack(STACK).account == "111111111111"


# -- trust policies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_name", "subjects"),
    [
        ("github-deploy", ["repo:example-org/delivery-reference:environment:tools"]),
        ("github-diff", ["repo:example-org/delivery-reference:pull_request"]),
    ],
)
def test_trust_policy_checks_audience_and_the_exact_subjects(
    synthesized: SynthesizedApp, config: Config, role_name: str, subjects: list[str]
) -> None:
    role = next(role for role in config.oidc.roles if role.name == role_name)
    provider = logical_id(synthesized, "GithubProvider", "Provider")
    document = role_properties(synthesized, role_name)["AssumeRolePolicyDocument"]
    assert document["Statement"] == [
        {
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": {"Ref": provider}},
            "Condition": {"StringEquals": {AUD: "sts.amazonaws.com", SUB: subjects}},
        }
    ], f"{role_construct_id(role)}: one statement, StringEquals only, no StringLike"


def test_no_role_trusts_a_wildcard_subject(synthesized: SynthesizedApp) -> None:
    for resource in github_roles(synthesized).values():
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            assert "StringLike" not in statement["Condition"]
            for subject in statement["Condition"]["StringEquals"][SUB]:
                assert "*" not in subject and "?" not in subject


def test_the_deploy_role_never_trusts_pull_requests(synthesized: SynthesizedApp) -> None:
    document = role_properties(synthesized, "github-deploy")["AssumeRolePolicyDocument"]
    subjects = [s for statement in document["Statement"] for s in statement["Condition"]["StringEquals"][SUB]]
    assert not [s for s in subjects if s.endswith(":pull_request")]


# -- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role_name", "kinds"),
    [
        # What cdk deploy of the tools stacks uses: no lookup role, no image-publishing role.
        ("github-deploy", ("deploy", "file-publishing")),
        ("github-diff", ()),
    ],
)
def test_role_may_only_assume_its_presets_bootstrap_roles_in_the_tools_account(
    synthesized: SynthesizedApp, config: Config, role_name: str, kinds: tuple[str, ...]
) -> None:
    """The diff role gets no bootstrap role at all, only the template reader of each account;
    the deploy role no role of dev, staging or prod at all."""
    properties = role_properties(synthesized, role_name)
    expected = expected_bootstrap_arns(config, kinds) if kinds else expected_reader_arns(config)
    assert properties["Policies"] == [
        {
            "PolicyName": "AssumeDeliveryRoles",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AssumeDeliveryRoles",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": expected,
                    }
                ],
            },
        }
    ]
    assert "ManagedPolicyArns" not in properties


def test_no_other_iam_policy_grants_anything_to_the_roles(synthesized: SynthesizedApp) -> None:
    template = synthesized.template(STACK)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)  # the boundary, attached to no one


def test_sessions_last_at_most_one_hour(synthesized: SynthesizedApp) -> None:
    roles = synthesized.template(STACK).find_resources("AWS::IAM::Role")
    assert len(roles) == len(github_roles(synthesized)) + 1
    assert {resource["Properties"]["MaxSessionDuration"] for resource in roles.values()} == {3600}


def test_every_role_carries_the_boundary_that_caps_it_at_the_tools_bootstrap_roles_and_the_readers(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = synthesized.template(STACK)
    boundary = logical_id(synthesized, "RoleBoundary", "Policy")
    roles = github_roles(synthesized)
    assert len(roles) == len(config.oidc.roles)
    for resource in roles.values():
        assert resource["Properties"]["PermissionsBoundary"] == {"Ref": boundary}
    policy = template.to_json()["Resources"][boundary]["Properties"]
    statements = policy["PolicyDocument"]["Statement"]
    statements[0]["Resource"] = sorted(statements[0]["Resource"])
    assert statements == [
        {
            "Sid": "AssumeDeliveryRolesOnly",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            # In dev, staging and prod the template readers only, whatever a role's own policy says.
            "Resource": sorted(
                expected_bootstrap_arns(config, ("deploy", "file-publishing")) + expected_reader_arns(config)
            ),
        }
    ]
    assert "Roles" not in policy and "Users" not in policy and "Groups" not in policy


def test_every_preset_has_bootstrap_roles() -> None:
    assert set(PRESET_BOOTSTRAP_ROLES) == set(PRESETS)


def test_bootstrap_role_names_follow_the_cdk_bootstrap_template() -> None:
    assert (
        bootstrap_role_arn("lookup", account="222222222222", region="eu-west-1")
        == "arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1"
    )
    with pytest.raises(ValueError, match="unknown CDK bootstrap role 'cfn-exec'"):
        bootstrap_role_arn("cfn-exec", account="222222222222", region="eu-west-1")


# -- patterns (StringLike) -----------------------------------------------------------------


def test_exact_subjects_and_patterns_need_separate_statements() -> None:
    # In one statement StringEquals and StringLike would be ANDed: no token could match both.
    assert trust_conditions(
        audience="sts.amazonaws.com",
        exact_subjects=["repo:o/r:ref:refs/heads/main"],
        subject_patterns=["repo:o/r:ref:refs/heads/release/*"],
    ) == [
        {"StringEquals": {AUD: "sts.amazonaws.com", SUB: ["repo:o/r:ref:refs/heads/main"]}},
        {"StringEquals": {AUD: "sts.amazonaws.com"}, "StringLike": {SUB: ["repo:o/r:ref:refs/heads/release/*"]}},
    ]
    with pytest.raises(ValueError, match="at least one subject"):
        trust_conditions(audience="sts.amazonaws.com", exact_subjects=[], subject_patterns=[])


def test_a_role_with_a_pattern_gets_a_string_like_statement_that_still_checks_the_audience() -> None:
    stack = cdk.Stack(cdk.App(), "Probe")
    boundary = iam.ManagedPolicy(
        stack,
        "Boundary",
        statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=["arn:aws:iam::1:role/x"])],
    )
    GithubActionsRole(
        stack,
        "ReleaseRole",
        role_name="github-release",
        provider_arn="arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
        audience="sts.amazonaws.com",
        exact_subjects=["repo:example-org/delivery-reference:ref:refs/heads/main"],
        subject_patterns=["repo:example-org/delivery-reference:ref:refs/heads/release/*"],
        assumable_role_arns=["arn:aws:iam::111111111111:role/x"],
        permissions_boundary=boundary,
        description="probe",
    )
    statements = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role")
    (role,) = statements.values()
    conditions = [statement["Condition"] for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert conditions == [
        {"StringEquals": {AUD: "sts.amazonaws.com", SUB: ["repo:example-org/delivery-reference:ref:refs/heads/main"]}},
        {
            "StringEquals": {AUD: "sts.amazonaws.com"},
            "StringLike": {SUB: ["repo:example-org/delivery-reference:ref:refs/heads/release/*"]},
        },
    ]


# -- the workflows that use the roles --------------------------------------------------------


def workflow(name: str) -> str:
    return (WORKFLOWS / name).read_text()


def created_role_arn(synthesized: SynthesizedApp, config: Config, name: str) -> str:
    """The ARN of the role Tools-GithubOidc creates, path included (IAM's default ``/`` when none is set)."""
    properties = role_properties(synthesized, name)
    return f"arn:aws:iam::{config.accounts.tools}:role{properties.get('Path', '/')}{properties['RoleName']}"


def workflow_env_step(text: str) -> str:
    """The one step that writes AWS_REGION and AWS_ROLE_ARN from the configuration to $GITHUB_ENV."""
    (command,) = re.findall(r"run: (\.venv/bin/python -m config\.workflow_env .*)$", text, re.M)
    return str(command)


@pytest.mark.parametrize(("name", "role"), [("deploy.yml", "github-deploy"), ("diff.yml", "github-diff")])
def test_aws_workflows_take_region_and_role_from_the_delivery_config_variable(
    synthesized: SynthesizedApp, config: Config, name: str, role: str
) -> None:
    """No account id and no region in the workflow: the repository variable DELIVERY_CONFIG names the file."""
    text = workflow(name)
    assert "  DELIVERY_CONFIG: ${{ vars.DELIVERY_CONFIG || 'config/sandbox.toml' }}\n" in text
    assert "run: make synth\n" in text, "make reads DELIVERY_CONFIG as its CONFIG"
    command = workflow_env_step(text)
    assert (
        command == f'.venv/bin/python -m config.workflow_env --config "$DELIVERY_CONFIG" --role {role} >> "$GITHUB_ENV"'
    )
    assert text.index("run: make synth") < text.index(command) < text.index("configure-aws-credentials@")
    assert "aws-region: ${{ env.AWS_REGION }}" in text
    assert not re.search(r"^\s+AWS_(REGION|ROLE_ARN):", text, re.M), "set from the configuration, not written here"
    assert workflow_env(config, role) == {
        "AWS_REGION": synthesized.stack(STACK).region,
        "AWS_ROLE_ARN": created_role_arn(synthesized, config, role),
    }


@pytest.mark.parametrize("name", ["deploy.yml", "diff.yml"])
def test_aws_workflows_use_oidc_with_minimal_token_permissions_and_no_keys(name: str) -> None:
    text = workflow(name)
    assert re.search(r"^permissions:\n  id-token: write.*\n  contents: read\n\n", text, re.M), name
    assert re.search(r"uses: aws-actions/configure-aws-credentials@[0-9a-f]{40} # v\d", text), "pinned to a commit"
    assert "role-to-assume: ${{ env.AWS_ROLE_ARN }}" in text
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "secrets."):
        assert forbidden not in text
    assert text.index("run: make synth") < text.index("configure-aws-credentials@"), "synth needs no credentials"


def test_every_action_in_every_workflow_is_pinned_to_a_commit() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for action in re.findall(r"uses: (\S+)", path.read_text()):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action}"


def test_deploy_workflow_runs_in_the_environment_the_deploy_role_trusts(config: Config) -> None:
    text = workflow("deploy.yml")
    deploy = next(role for role in config.oidc.roles if role.name == "github-deploy")
    environment = re.search(r"^    environment: (\S+)$", text, re.M)
    assert environment is not None
    expected_subject = f"repo:{config.github.owner}/{config.github.repo}:environment:{environment[1]}"
    assert expected_subject in deploy.subjects
    assert "--role github-deploy" in workflow_env_step(text)


def deployed_stacks(text: str) -> list[str]:
    """The stacks of the workflow's one ``cdk deploy`` (a folded ``run: >-`` block)."""
    (command,) = re.findall(r"run: >-\n((?:          .*\n?)+)", text)
    words = " ".join(line.strip() for line in command.splitlines()).split()
    assert words[:2] == ["cdk", "deploy"], words
    assert "--all" not in words and "make" not in text.split("run: make synth")[1], "no make deploy, no --all"
    return [word for word in words[2:] if not word.startswith("--") and word not in ("cdk.out", "never")]


def test_deploy_workflow_creates_the_tools_account_stacks_only_and_exclusively(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """GitHub creates the pipeline; without --exclusively the CLI would add the DeployRole stacks it needs."""
    text = workflow("deploy.yml")
    assert "--exclusively" in text
    tools_stacks = [
        name for name in synthesized.stack_names if synthesized.stack(name).account == config.accounts.tools
    ]
    assert sorted(deployed_stacks(text)) == sorted(tools_stacks)
    assert "Tools-Pipeline" in tools_stacks and not [n for n in tools_stacks if n.startswith(("Dev-", "Prod-"))]


def test_the_deploy_role_reaches_every_role_cdk_deploy_of_the_tools_stacks_uses(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """The assembly names the deploy role and each asset's publishing role; the preset covers them all.

    So the tools stacks have no container image asset and need no lookup role: if one is added,
    this fails before the bootstrap run does.
    """
    document = role_properties(synthesized, "github-deploy")["Policies"][0]["PolicyDocument"]
    reachable = set(document["Statement"][0]["Resource"])
    artifacts = {artifact.stack_name: artifact for artifact in synthesized.assembly.stacks}
    needed: set[str] = set()
    for name in deployed_stacks(workflow("deploy.yml")):
        artifact = artifacts[name]
        needed.add(artifact.assume_role_arn)
        assets = json.loads((Path(synthesized.assembly.directory) / f"{artifact.id}.assets.json").read_text())
        for kind in ("files", "dockerImages"):
            for asset in assets.get(kind, {}).values():
                needed |= {destination["assumeRoleArn"] for destination in asset["destinations"].values()}
    resolved = {arn.replace("${AWS::Partition}", "aws") for arn in needed}
    assert resolved <= reachable, sorted(resolved - reachable)
    assert all(":role/cdk-hnb659fds-" in arn and config.accounts.tools in arn for arn in resolved)


def test_deploy_workflow_is_started_by_hand_so_it_never_races_a_release() -> None:
    """A push to main starts the pipeline, which then owns the stacks this workflow creates."""
    text = workflow("deploy.yml")
    assert re.search(r"^on:\n  workflow_dispatch:\n\n", text, re.M)
    assert not re.search(r"^  push:", text, re.M)


def test_diff_workflow_runs_on_pull_requests_with_the_read_only_role_and_template_diff(config: Config) -> None:
    text = workflow("diff.yml")
    diff = next(role for role in config.oidc.roles if role.name == "github-diff")
    assert re.search(r"^on:\n  pull_request:", text, re.M)
    assert "environment:" not in text, "an environment would change the subject away from pull_request"
    assert f"repo:{config.github.owner}/{config.github.repo}:pull_request" in diff.subjects
    assert diff.preset == "diff"
    assert "--role github-diff" in workflow_env_step(text)
    assert "cdk diff --app cdk.out --all --method=template" in text, "the default method needs the deploy role"


def test_ci_workflow_runs_lint_and_test() -> None:
    text = workflow("ci.yml")
    assert "run: make lint" in text and "run: make test" in text
    assert "id-token" not in text, "CI needs no AWS access"


# -- the stack given other [[oidc.roles]] ----------------------------------------------------


def oidc_stack_with(config: Config, **changes: Any) -> dict[str, Any]:
    """The roles of a Tools-GithubOidc built alone with the second role (github-diff) changed."""
    diff = dataclasses.replace(config.oidc.roles[1], **changes)
    oidc = dataclasses.replace(config.oidc, roles=(config.oidc.roles[0], diff))
    stack = GithubOidcStack(cdk.App(), STACK, config=dataclasses.replace(config, oidc=oidc))
    roles = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Role")
    return {role["Properties"]["RoleName"]: role["Properties"] for role in roles.values()}


def test_a_diff_role_narrowed_to_some_accounts_reaches_only_their_readers(config: Config) -> None:
    roles = oidc_stack_with(config, accounts=("prod",))
    (statement,) = roles["github-diff"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == f"arn:aws:iam::{config.accounts.prod}:role/delivery-ref-template-reader"


def test_the_stack_refuses_a_deploy_role_with_a_target_account_even_past_the_configuration(config: Config) -> None:
    """config/oidc.py refuses it first; the stack holds the rule too, for a Config built in code."""
    with pytest.raises(ValueError, match="a deploy role reaches the tools account only"):
        oidc_stack_with(config, preset="deploy", accounts=("tools", "dev"))
