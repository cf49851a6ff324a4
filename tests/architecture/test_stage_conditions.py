"""The deploy stages' conditions (CodePipeline V2), the bake functions and the target accounts' alarm readers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.naming import Names
from config import TARGET_ENVIRONMENTS, Config, EnvironmentConfig
from pipelines.stage_conditions import BAKE_RULE, WINDOW_RULE
from tests.support import SynthesizedApp

STACK = "Tools-Pipeline"


def stages(synthesized: SynthesizedApp) -> dict[str, dict[str, Any]]:
    raw = synthesized.raw_template(STACK)
    (pipeline,) = [r["Properties"] for r in raw["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return {stage["Name"]: stage for stage in pipeline["Stages"]}


def deploy_stage(synthesized: SynthesizedApp, environment: EnvironmentConfig) -> dict[str, Any]:
    return stages(synthesized)[f"Deploy-{environment.title}"]


def rule_type(provider: str) -> dict[str, str]:
    return {"Category": "Rule", "Owner": "AWS", "Provider": provider, "Version": "1"}


@pytest.mark.parametrize("name", TARGET_ENVIRONMENTS)
def test_a_failed_deploy_stage_rolls_back_by_itself_where_configured(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    environment = config.environment(name)
    stage = deploy_stage(synthesized, environment)
    if environment.rollback_on_failure:
        assert stage["OnFailure"] == {"Result": "ROLLBACK"}, "rollback needs no rule: every failure rolls back"
    else:
        assert "OnFailure" not in stage
    assert (name != "dev") == environment.rollback_on_failure, "staging and prod always; the sandbox's dev does not"


@pytest.mark.parametrize("name", TARGET_ENVIRONMENTS)
def test_after_success_the_bake_rule_watches_the_alarms_and_rolls_back(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    environment = config.environment(name)
    stage = deploy_stage(synthesized, environment)
    if not environment.bake_minutes:
        assert "OnSuccess" not in stage, "no bake in the sandbox's dev"
        return
    assert stage["OnSuccess"] == {
        "Conditions": [
            {
                "Result": "ROLLBACK",
                "Rules": [
                    {
                        "Name": BAKE_RULE,
                        "RuleTypeId": rule_type("LambdaInvoke"),
                        "Configuration": {"FunctionName": Names(config).bake_function(name)},
                    }
                ],
            }
        ]
    }


def test_prod_is_entered_only_inside_its_window_and_after_the_approval(
    synthesized: SynthesizedApp, config: Config
) -> None:
    prod = config.environment("prod")
    assert prod.deployment_window is not None
    by_name = stages(synthesized)
    order = list(by_name)
    assert order.index("Approve-Prod") == order.index("Deploy-Prod") - 1, "the manual approval stays, right before"
    assert by_name["Deploy-Prod"]["BeforeEntry"] == {
        "Conditions": [
            {
                "Result": "FAIL",
                "Rules": [
                    {
                        "Name": WINDOW_RULE,
                        "RuleTypeId": rule_type("DeploymentWindow"),
                        "Configuration": {
                            "Cron": prod.deployment_window.cron,
                            "TimeZone": prod.deployment_window.time_zone,
                        },
                    }
                ],
            }
        ]
    }
    for name in ("dev", "staging"):
        assert "BeforeEntry" not in deploy_stage(synthesized, config.environment(name)), "no window configured"


def test_no_other_stage_has_conditions(synthesized: SynthesizedApp) -> None:
    for name, stage in stages(synthesized).items():
        if not name.startswith("Deploy-"):
            assert not {"BeforeEntry", "OnSuccess", "OnFailure"} & set(stage), name


def function_of(synthesized: SynthesizedApp, function_name: str) -> dict[str, Any]:
    raw = synthesized.raw_template(STACK)
    (function,) = [
        r["Properties"]
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == function_name
    ]
    return function


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_each_bake_function_watches_its_environments_health_alarms_for_its_bake_time(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    names = Names(config)
    environment = config.environment(name)
    variables = function_of(synthesized, names.bake_function(name))["Environment"]["Variables"]
    health = [names.health_alarm(name, alarm, colour) for alarm in environment.alarms for colour in ("blue", "green")]
    health.append(names.load_balancer_alarm(name))
    assert json.loads(variables["ALARM_NAMES"]) == health + list(environment.bake_alarm_names)
    assert len(health) == 2 * len(environment.alarms) + 1 >= 5, "5xx and unhealthy hosts on both groups, ELB 5xx"
    assert variables["BAKE_MINUTES"] == str(environment.bake_minutes)
    assert variables["ALARM_READER_ROLE_ARN"] == names.role_arn(environment.account, names.alarm_reader_role)
    assert variables["ALARM_REGION"] == config.region


def test_bake_functions_outlast_the_longest_bake_and_are_not_retried(
    synthesized: SynthesizedApp, config: Config
) -> None:
    raw = synthesized.raw_template(STACK)
    for environment in config.environments:
        if not environment.bake_minutes:
            continue
        name = Names(config).bake_function(environment.name)
        (function_id,) = [
            logical_id
            for logical_id, r in raw["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == name
        ]
        assert raw["Resources"][function_id]["Properties"]["Timeout"] >= environment.bake_minutes * 60 + 30
        (invoke_config,) = [
            r["Properties"]
            for r in raw["Resources"].values()
            if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert invoke_config["MaximumRetryAttempts"] == 0, "a retried bake would watch again after the rollback"


def test_bake_role_assumes_only_its_alarm_reader_and_reports_job_results(
    synthesized: SynthesizedApp, config: Config
) -> None:
    raw = synthesized.raw_template(STACK)
    names = Names(config)
    roles = {
        r["Properties"]["RoleName"]: logical_id
        for logical_id, r in raw["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "RoleName" in r["Properties"]
    }
    for environment in config.environments:
        if not environment.bake_minutes:
            assert names.bake_function(environment.name) not in roles
            continue
        role_id = roles[names.bake_function(environment.name)]
        statements = [
            statement
            for r in raw["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
            for statement in r["Properties"]["PolicyDocument"]["Statement"]
        ]
        by_sid = {s.get("Sid"): s for s in statements}
        assert by_sid["AssumeTheAlarmReaderRole"]["Resource"] == names.role_arn(
            environment.account, names.alarm_reader_role
        )
        assert sorted(by_sid["ReportTheJobResult"]["Action"]) == [
            "codepipeline:PutJobFailureResult",
            "codepipeline:PutJobSuccessResult",
        ]
        other = [s for s in statements if s.get("Sid") not in ("AssumeTheAlarmReaderRole", "ReportTheJobResult")]
        assert all(
            str(a).startswith("logs:")
            for s in other
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        )


def test_the_pipeline_role_may_invoke_exactly_the_bake_functions(synthesized: SynthesizedApp, config: Config) -> None:
    raw = synthesized.raw_template(STACK)
    names = Names(config)
    invoke = [
        statement
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and names.pipeline_role in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in json.dumps(statement["Action"])
    ]
    functions = {
        logical_id
        for logical_id, r in raw["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("FunctionName", "")).endswith("-release-bake")
    }
    invoked = {
        json.dumps(resource)
        for s in invoke
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert invoked == {json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) for logical_id in functions}
    assert len(functions) == sum(1 for e in config.environments if e.bake_minutes)


@pytest.mark.parametrize("name", TARGET_ENVIRONMENTS)
def test_alarm_reader_trusts_only_the_bake_role_and_describes_only_the_watched_alarms(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    names = Names(config)
    environment = config.environment(name)
    raw = synthesized.raw_template(f"{environment.title}-Service")
    readers = [
        (logical_id, r["Properties"])
        for logical_id, r in raw["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == names.alarm_reader_role
    ]
    if not environment.bake_minutes:
        assert readers == [], "no bake, no reader"
        return
    ((role_id, role),) = readers
    assert role["MaxSessionDuration"] == 3600
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": names.role_arn(config.accounts.tools, names.bake_function(name))},
        }
    ]
    (policy,) = [
        r["Properties"]
        for r in raw["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "DescribeTheWatchedAlarms",
            "Action": "cloudwatch:DescribeAlarms",
            "Effect": "Allow",
            # CDK writes a statement's resources sorted.
            "Resource": sorted(names.alarm_arn(environment.account, alarm) for alarm in names.bake_alarms(environment)),
        }
    ]


def test_the_watched_alarms_are_the_ones_the_release_controller_creates(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """Same names as the service's alarms: the bake reads what the controller in the target account watches."""
    names = Names(config)
    environment = config.environment("prod")
    raw = synthesized.raw_template("Prod-Service")
    created = {r["Properties"]["AlarmName"] for r in raw["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    health = set(names.bake_alarms(environment)) - set(environment.bake_alarm_names)
    assert health and health <= created
