"""<Env>-DeployRole: the role each target account lends the pipeline, and nothing more than a release needs."""

from __future__ import annotations

from typing import Any

import pytest

from components.ecs_blue_green.codedeploy_release import DEPLOYMENT_CONFIGS
from components.naming import Names
from config import TARGET_ENVIRONMENTS, Config
from tests.support import SynthesizedApp

ENVIRONMENTS = list(TARGET_ENVIRONMENTS)


def role_and_policy(synthesized: SynthesizedApp, environment_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deploy role and its one policy. Beside it the stack holds only the template reader, whose
    own policy is written into it (tests/architecture/test_pull_request_exposure.py checks that role)."""
    raw = synthesized.raw_template(f"{environment_name.capitalize()}-DeployRole")
    resources = raw["Resources"].values()
    roles = {r["Properties"]["RoleName"]: r["Properties"] for r in resources if r["Type"] == "AWS::IAM::Role"}
    policies = [r["Properties"] for r in raw["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    assert set(roles) == {"delivery-ref-cross-account-deploy", "delivery-ref-template-reader"}, "nothing else"
    assert len(policies) == 1, "one policy, the deploy role's"
    assert "Policies" not in roles["delivery-ref-cross-account-deploy"]
    return roles["delivery-ref-cross-account-deploy"], policies[0]


def statements_by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_only_the_pipeline_role_may_assume_it_for_one_hour(
    synthesized: SynthesizedApp, config: Config, environment_name: str
) -> None:
    names = Names(config)
    role, _ = role_and_policy(synthesized, environment_name)
    assert role["RoleName"] == names.deploy_role
    assert role["MaxSessionDuration"] == 3600
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": names.role_arn(config.accounts.tools, names.pipeline_role)},
        }
    ]


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_permissions_are_exactly_what_a_release_does(
    synthesized: SynthesizedApp, config: Config, environment_name: str
) -> None:
    names = Names(config)
    account = config.environment(environment_name).account
    region = config.region
    _, policy = role_and_policy(synthesized, environment_name)
    statements = statements_by_sid(policy)
    config_name = DEPLOYMENT_CONFIGS[config.environment(environment_name).deployment_config].deployment_config_name
    expected = {
        "DeployToThisDeploymentGroup": (
            ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
            f"arn:aws:codedeploy:{region}:{account}:deploymentgroup:{names.codedeploy_application}/{names.deployment_group}",
        ),
        "RegisterRevisionsOfThisApplication": (
            [
                "codedeploy:GetApplication",
                "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision",
            ],
            f"arn:aws:codedeploy:{region}:{account}:application:{names.codedeploy_application}",
        ),
        "ReadTheDeploymentConfig": (
            "codedeploy:GetDeploymentConfig",
            f"arn:aws:codedeploy:{region}:{account}:deploymentconfig:{config_name}",
        ),
        "RegisterTaskDefinitions": ("ecs:RegisterTaskDefinition", "*"),
        "TagTaskDefinitionsOfThisFamilyOnRegistration": (
            "ecs:TagResource",
            f"arn:aws:ecs:{region}:{account}:task-definition/{names.task_family}:*",
        ),
        "PassOnlyThisServicesRolesToEcsTasks": (
            "iam:PassRole",
            sorted([names.role_arn(account, names.execution_role), names.role_arn(account, names.task_role)]),
        ),
        "ReadReleaseArtifacts": (["s3:GetObject", "s3:GetObjectVersion"], f"arn:aws:s3:::{names.artifact_bucket}/*"),
        "DecryptReleaseArtifacts": (
            ["kms:Decrypt", "kms:DescribeKey"],
            f"arn:aws:kms:{region}:{config.accounts.tools}:key/*",
        ),
    }
    assert {sid: (s["Action"], s["Resource"]) for sid, s in statements.items()} == expected
    assert all(statement["Effect"] == "Allow" for statement in statements.values())


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_pass_role_is_limited_to_the_two_service_roles_and_ecs_tasks(
    synthesized: SynthesizedApp, config: Config, environment_name: str
) -> None:
    names = Names(config)
    account = config.environment(environment_name).account
    _, policy = role_and_policy(synthesized, environment_name)
    pass_role = [s for s in policy["PolicyDocument"]["Statement"] if "iam:PassRole" in str(s["Action"])]
    assert len(pass_role) == 1
    assert sorted(pass_role[0]["Resource"]) == sorted(
        [names.role_arn(account, names.task_role), names.role_arn(account, names.execution_role)]
    )
    assert pass_role[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_tagging_and_decryption_are_conditioned(
    synthesized: SynthesizedApp, config: Config, environment_name: str
) -> None:
    _, policy = role_and_policy(synthesized, environment_name)
    statements = statements_by_sid(policy)
    assert statements["TagTaskDefinitionsOfThisFamilyOnRegistration"]["Condition"] == {
        "StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}
    }
    assert statements["DecryptReleaseArtifacts"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": Names(config).artifact_key_alias}
    }


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_no_service_wide_action_is_granted(synthesized: SynthesizedApp, environment_name: str) -> None:
    _, policy = role_and_policy(synthesized, environment_name)
    for statement in policy["PolicyDocument"]["Statement"]:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            assert "*" not in action, action


@pytest.mark.parametrize("environment_name", ENVIRONMENTS)
def test_deploy_role_stack_lives_in_its_target_account(
    synthesized: SynthesizedApp, config: Config, environment_name: str
) -> None:
    stack = synthesized.stack(f"{environment_name.capitalize()}-DeployRole")
    assert stack.account == config.environment(environment_name).account
    assert stack.region == config.region
    assert stack.termination_protection == (environment_name == "prod")
