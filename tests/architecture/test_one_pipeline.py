"""The one pipeline, for both committed configurations: stage order, self-update first, infrastructure
before (or as) each release, the prod review in the approval, and per-account CDK CLI roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.naming import Names
from config import Config
from tests.support import ROOT, SynthesizedApp

STACK = "Tools-Pipeline"
BOOTSTRAP = "arn:aws:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-{region}"
SYNTH_BUILDSPEC = (ROOT / "pipelines" / "synth_buildspec.yml").read_text()
INFRASTRUCTURE_BUILDSPEC = (ROOT / "pipelines" / "infrastructure_buildspec.yml").read_text()
REVIEW_BUILDSPEC = (ROOT / "pipelines" / "review_buildspec.yml").read_text()


@pytest.fixture(scope="module", params=["codedeploy", "ecs"])
def app(request: pytest.FixtureRequest) -> tuple[SynthesizedApp, Config, str]:
    """(synth, configuration, controller): config/sandbox.toml (CodeDeploy) and config/ecs-native.toml (ECS)."""
    if request.param == "codedeploy":
        return request.getfixturevalue("synthesized"), request.getfixturevalue("config"), "codedeploy"
    return request.getfixturevalue("ecs_native"), request.getfixturevalue("ecs_native_config"), "ecs"


def raw(app: tuple[SynthesizedApp, Config, str]) -> dict[str, Any]:
    return app[0].raw_template(STACK)


def pipeline(app: tuple[SynthesizedApp, Config, str]) -> dict[str, Any]:
    (found,) = [r["Properties"] for r in raw(app)["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return found


def stage(app: tuple[SynthesizedApp, Config, str], name: str) -> dict[str, Any]:
    (found,) = [s for s in pipeline(app)["Stages"] if s["Name"] == name]
    return found


def actions_in_order(stage_: dict[str, Any]) -> list[tuple[int, str]]:
    return sorted((action["RunOrder"], action["Name"]) for action in stage_["Actions"])


def project_of(action: dict[str, Any]) -> str:
    return str(action["Configuration"]["ProjectName"]["Ref"])


def assumed_by_project(template: dict[str, Any], project_id: str) -> set[str]:
    """The roles the project's own role may assume (its CDK CLI's reach)."""
    role_id = template["Resources"][project_id]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    found: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy" or {"Ref": role_id} not in resource["Properties"]["Roles"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("sts:") for action in actions):
                resources = statement["Resource"]
                found.update(resources if isinstance(resources, list) else [resources])
    return found


def bootstrap_roles(config: Config, account: str, *kinds: str) -> set[str]:
    return {BOOTSTRAP.format(account=account, kind=kind, region=config.region) for kind in kinds}


def test_stages_run_in_release_order_with_the_self_update_first(app: tuple[SynthesizedApp, Config, str]) -> None:
    assert [s["Name"] for s in pipeline(app)["Stages"]] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Deploy-Dev",
        "Deploy-Staging",
        "Approve-Prod",
        "Deploy-Prod",
    ]


def test_the_pipeline_restarts_on_its_new_definition_and_superseded_executions_wait_between_stages(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    assert pipeline(app)["RestartExecutionOnUpdate"] is True
    assert pipeline(app)["ExecutionMode"] == "SUPERSEDED"
    assert pipeline(app)["PipelineType"] == "V2"


def test_build_synthesizes_the_assembly_once_beside_the_image_then_scans(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    build = stage(app, "Build")
    assert actions_in_order(build) == [(1, "BuildImage"), (1, "Synth"), (2, "ScanGate")]
    (synth,) = [a for a in build["Actions"] if a["Name"] == "Synth"]
    assert synth["OutputArtifacts"] == [{"Name": "Assembly"}]
    # Only Synth writes the assembly; every later CodeBuild action reads it.
    writers = [
        a["Name"]
        for s in pipeline(app)["Stages"]
        for a in s["Actions"]
        if {"Name": "Assembly"} in a.get("OutputArtifacts", [])
    ]
    assert writers == ["Synth"]


def test_synth_buildspec_synthesizes_the_configuration_runs_the_tests_and_hands_on_cdk_out() -> None:
    assert 'make synth CONFIG="$CONFIG_FILE"' in SYNTH_BUILDSPEC
    assert "make test" in SYNTH_BUILDSPEC
    assert "base-directory: cdk.out" in SYNTH_BUILDSPEC


def test_update_pipeline_deploys_the_tools_accounts_stacks_from_the_assembly_as_its_bootstrap_roles(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    _, config, _ = app
    (action,) = stage(app, "UpdatePipeline")["Actions"]
    assert action["Name"] == "SelfMutate"
    assert action["InputArtifacts"] == [{"Name": "Source"}, {"Name": "Assembly"}]
    project = raw(app)["Resources"][project_of(action)]["Properties"]
    assert {"Name": "ENVIRONMENT", "Type": "PLAINTEXT", "Value": "tools"} in project["Environment"][
        "EnvironmentVariables"
    ]
    assert assumed_by_project(raw(app), project_of(action)) == bootstrap_roles(
        config, config.accounts.tools, "deploy", "file-publishing", "lookup"
    )


def test_update_pipeline_may_read_the_tools_accounts_stack_templates_and_nothing_else_of_cloudformation(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    """execute-change-set reads the deployed template; in the tools account the CLI reads it as the project itself.

    The stacks' lookup role is the template reader, which trusts only the GitHub diff roles; with
    credentials of the right account the CLI then "proceeds anyway" with them (grant_template_read).
    """
    _, config, _ = app
    template = raw(app)
    (action,) = stage(app, "UpdatePipeline")["Actions"]
    role_id = template["Resources"][project_of(action)]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "cloudformation:" in json.dumps(statement["Action"])
    ]
    arn = f"arn:aws:cloudformation:{config.region}:{config.accounts.tools}:stack/{{}}/*"
    tools_stacks = ("Tools-GithubOidc", "Tools-PipelineRole", "Tools-Pipeline")
    assert statements == [
        {
            "Sid": "ReadDeployedStackTemplates",
            "Effect": "Allow",
            "Action": ["cloudformation:DescribeStacks", "cloudformation:GetTemplate"],
            "Resource": sorted(arn.format(name) for name in tools_stacks),
        }
    ]
    for project_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::CodeBuild::Project" and project_id != project_of(action):
            other = resource["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
            policies = [r for r in template["Resources"].values() if {"Ref": other} in r["Properties"].get("Roles", [])]
            assert "cloudformation:GetTemplate" not in json.dumps(policies), project_id


@pytest.mark.parametrize("environment_name", ["dev", "staging", "prod"])
def test_infrastructure_comes_first_and_is_the_release_under_ecs(
    app: tuple[SynthesizedApp, Config, str], environment_name: str
) -> None:
    _, config, controller = app
    environment = config.environment(environment_name)
    deploy = stage(app, f"Deploy-{environment.title}")
    expected = [(1, "Infrastructure")] + ([(2, f"BlueGreen{environment.title}")] if controller == "codedeploy" else [])
    assert actions_in_order(deploy) == expected
    (infrastructure,) = [a for a in deploy["Actions"] if a["Name"] == "Infrastructure"]
    assert infrastructure["InputArtifacts"] == [{"Name": "Source"}, {"Name": "Assembly"}]
    assert json.loads(infrastructure["Configuration"]["EnvironmentVariables"]) == [
        {"name": "IMAGE_TAG", "type": "PLAINTEXT", "value": "#{Build.IMAGE_TAG}"}
    ]
    # No ECS deploy action anywhere: under ECS the stack owns the image.
    assert not [a for s in pipeline(app)["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Provider"] == "ECS"]


@pytest.mark.parametrize("environment_name", ["dev", "staging", "prod"])
def test_each_infrastructure_project_may_assume_only_its_own_accounts_bootstrap_roles(
    app: tuple[SynthesizedApp, Config, str], environment_name: str
) -> None:
    _, config, _ = app
    environment = config.environment(environment_name)
    (infrastructure,) = [
        a for a in stage(app, f"Deploy-{environment.title}")["Actions"] if a["Name"] == "Infrastructure"
    ]
    project_id = project_of(infrastructure)
    assert assumed_by_project(raw(app), project_id) == bootstrap_roles(
        config, environment.account, "deploy", "file-publishing", "lookup"
    )
    variables = raw(app)["Resources"][project_id]["Properties"]["Environment"]["EnvironmentVariables"]
    assert {"Name": "ENVIRONMENT", "Type": "PLAINTEXT", "Value": environment_name} in variables


def test_infrastructure_timeout_covers_the_longest_ecs_release(app: tuple[SynthesizedApp, Config, str]) -> None:
    _, config, controller = app
    for environment in config.environments:
        (infrastructure,) = [
            a for a in stage(app, f"Deploy-{environment.title}")["Actions"] if a["Name"] == "Infrastructure"
        ]
        timeout = raw(app)["Resources"][project_of(infrastructure)]["Properties"]["TimeoutInMinutes"]
        release = environment.ecs_release.longest_minutes if environment.ecs_release else 0
        assert timeout == 60 + release <= 2160, environment.name
        assert (release > 0) == (controller == "ecs")


def test_infrastructure_buildspec_runs_the_pipelines_deploy_command_on_the_second_input() -> None:
    assert (
        'make deploy-environment ENVIRONMENT="$ENVIRONMENT" IMAGE_TAG="$IMAGE_TAG" '
        'ASSEMBLY="$CODEBUILD_SRC_DIR_Assembly"' in INFRASTRUCTURE_BUILDSPEC
    )


def test_prod_is_reviewed_read_only_then_approved_before_any_prod_action(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    _, config, _ = app
    prod = config.environment("prod")
    approve = stage(app, "Approve-Prod")
    assert actions_in_order(approve) == [(1, "ReviewProd"), (2, "ApproveProdRelease")]
    by_name = {a["Name"]: a for a in approve["Actions"]}
    review, approval = by_name["ReviewProd"], by_name["ApproveProdRelease"]
    # The review reads prod through the lookup role only: it cannot change prod before the approval.
    assert assumed_by_project(raw(app), project_of(review)) == bootstrap_roles(config, prod.account, "lookup")
    assert review["Namespace"] == "ProdReview"
    text = approval["Configuration"]["CustomData"]
    for variable in ("SUMMARY", "REPLACEMENTS", "BROADENING"):
        assert f"#{{ProdReview.{variable}}}" in text
    assert approval["Configuration"]["ExternalEntityLink"] == "#{ProdReview.BUILD_URL}"
    assert "NotificationArn" in approval["Configuration"]
    # Every stage that can change prod comes after the approval.
    names = [s["Name"] for s in pipeline(app)["Stages"]]
    assert names.index("Approve-Prod") + 1 == names.index("Deploy-Prod") == len(names) - 1


def test_review_buildspec_exports_what_the_approval_shows() -> None:
    for variable in ("REPLACEMENTS", "BROADENING", "SUMMARY", "BUILD_URL"):
        assert f"    - {variable}\n" in REVIEW_BUILDSPEC
    assert "REVIEW=review.env" in REVIEW_BUILDSPEC


def test_no_other_project_reaches_a_target_account(app: tuple[SynthesizedApp, Config, str]) -> None:
    """Only the per-environment projects (and prod's read-only review) assume anything in a target account."""
    _, config, _ = app
    template = raw(app)
    reach = {
        project_id: {arn.split(":")[4] for arn in assumed_by_project(template, project_id)}
        for project_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CodeBuild::Project"
    }
    targets = {e.account for e in config.environments}
    reaching = {project_id: accounts for project_id, accounts in reach.items() if accounts & targets}
    assert all(len(accounts) == 1 for accounts in reaching.values()), reaching
    assert len(reaching) == len(config.environments) + 1  # three Infrastructure projects and the prod review


def test_infrastructure_and_release_outcomes_of_every_deploy_stage_reach_the_topic(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    """Under ECS the Infrastructure action is the release, so its outcome is notified like CodeDeploy's."""
    rules = [
        r["Properties"]["EventPattern"]["detail"]
        for r in raw(app)["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
        and r["Properties"]["EventPattern"]["detail-type"] == ["CodePipeline Action Execution State Change"]
    ]
    assert rules == [
        {
            "pipeline": [pipeline(app)["Name"]],
            "stage": [{"prefix": "Deploy-"}],
            "type": {"provider": ["CodeBuild", "CodeDeployToECS"]},
            "state": ["FAILED", "SUCCEEDED"],
        }
    ]


def test_each_environment_deploys_in_the_stage_that_make_deploys_lock_holds(
    app: tuple[SynthesizedApp, Config, str],
) -> None:
    """release_guard.lock disables the inbound transition of Names.deploy_stage: that stage must exist."""
    stages = [s["Name"] for s in pipeline(app)["Stages"]]
    for environment in app[1].environments:
        assert Names.deploy_stage(environment) in stages
