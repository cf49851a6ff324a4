"""Production on an empty or unhealthy target group pages someone within 2 minutes and rolls a release back.

Issue 20, item 6: the target-group alarms miss an empty live group (no target metrics, missing
data not breaching); the load balancer's own 5xx sees it (it answers 503 itself). Both
configurations: CodeDeploy (config/sandbox.toml) and ECS-native (config/ecs-native.toml).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.ecs_blue_green.health_alarms import LOAD_BALANCER_5XX_THRESHOLD
from components.naming import Names
from config import Config
from tests.support import SynthesizedApp, logical_id

CONFIGURATIONS = [("config", "synthesized"), ("ecs_native_config", "ecs_native")]
CASES = [
    pytest.param(config, synth, env, id=f"{synth}-{env}")
    for config, synth in CONFIGURATIONS
    for env in ("dev", "staging", "prod")
]
#: The issue's bound: someone is paged within two minutes.
PAGE_WITHIN_SECONDS = 120


def _resolve(request: pytest.FixtureRequest, config_fixture: str, synth_fixture: str) -> tuple[Config, SynthesizedApp]:
    return request.getfixturevalue(config_fixture), request.getfixturevalue(synth_fixture)


def _by_type(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: r for key, r in raw["Resources"].items() if r["Type"] == kind}


def _the_alarm(raw: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, r["Properties"])
        for key, r in _by_type(raw, "AWS::CloudWatch::Alarm").items()
        if r["Properties"]["AlarmName"] == name
    ]
    return found


@pytest.mark.parametrize(("config_fixture", "synth_fixture", "env"), CASES)
def test_the_load_balancers_own_5xx_alarm_fires_within_two_minutes(
    request: pytest.FixtureRequest, config_fixture: str, synth_fixture: str, env: str
) -> None:
    config, synthesized = _resolve(request, config_fixture, synth_fixture)
    stack_name = f"{env.capitalize()}-Service"
    raw = synthesized.raw_template(stack_name)
    load_balancer = logical_id(synthesized.stack(stack_name).service.load_balancing.load_balancer.node.default_child)
    _, alarm = _the_alarm(raw, Names(config).load_balancer_alarm(env))
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
        "Sum",
    )
    # The LoadBalancer dimension alone: the 503s of an empty group belong to no target group.
    assert alarm["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": {"Fn::GetAtt": [load_balancer, "LoadBalancerFullName"]}}
    ]
    assert alarm["Period"] == 60
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= PAGE_WITHIN_SECONDS
    assert alarm["Threshold"] == LOAD_BALANCER_5XX_THRESHOLD
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # The ALB reports the count only when it is non-zero: no data is no error.
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("config_fixture", "synth_fixture", "env"), CASES)
def test_the_load_balancer_alarm_pages_through_the_environments_notification_topic(
    request: pytest.FixtureRequest, config_fixture: str, synth_fixture: str, env: str
) -> None:
    config, synthesized = _resolve(request, config_fixture, synth_fixture)
    stack_name = f"{env.capitalize()}-Service"
    raw = synthesized.raw_template(stack_name)
    topic = logical_id(synthesized.stack(stack_name).service.topic.node.default_child)
    alarm_id, alarm = _the_alarm(raw, Names(config).load_balancer_alarm(env))
    assert alarm["AlarmActions"] == [{"Ref": topic}]
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in _by_type(raw, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic} in r["Properties"]["Topics"]
    ]
    (admitted,) = [s for s in policy["Statement"] if s.get("Sid") == "AllowHealthAlarms"]
    assert {"Fn::GetAtt": [alarm_id, "Arn"]} in admitted["Condition"]["ArnEquals"]["aws:SourceArn"]


@pytest.mark.parametrize(("config_fixture", "synth_fixture", "env"), CASES)
def test_the_load_balancer_alarm_rolls_a_release_back(
    request: pytest.FixtureRequest, config_fixture: str, synth_fixture: str, env: str
) -> None:
    config, synthesized = _resolve(request, config_fixture, synth_fixture)
    raw = synthesized.raw_template(f"{env.capitalize()}-Service")
    alarm_id, _ = _the_alarm(raw, Names(config).load_balancer_alarm(env))
    environment = config.environment(env)
    assert environment.rollback_on_alarm, "the committed configurations roll back on alarm"
    if environment.release_controller == "codedeploy":
        (group,) = _by_type(raw, "AWS::CodeDeploy::DeploymentGroup").values()
        properties = group["Properties"]
        assert {"Name": {"Ref": alarm_id}} in properties["AlarmConfiguration"]["Alarms"]
        assert properties["AlarmConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in properties["AutoRollbackConfiguration"]["Events"]
    else:
        (service,) = _by_type(raw, "AWS::ECS::Service").values()
        alarms = service["Properties"]["DeploymentConfiguration"]["Alarms"]
        assert {"Ref": alarm_id} in alarms["AlarmNames"]
        assert (alarms["Enable"], alarms["Rollback"]) == (True, True)


@pytest.mark.parametrize(("config_fixture", "synth_fixture", "env"), CASES)
def test_the_pipelines_bake_watches_the_load_balancer_alarm_and_may_read_it(
    request: pytest.FixtureRequest, config_fixture: str, synth_fixture: str, env: str
) -> None:
    config, synthesized = _resolve(request, config_fixture, synth_fixture)
    names = Names(config)
    environment = config.environment(env)
    name = names.load_balancer_alarm(env)
    assert name in names.bake_alarms(environment)
    tools = synthesized.raw_template("Tools-Pipeline")
    bakes = [
        r["Properties"]
        for r in _by_type(tools, "AWS::Lambda::Function").values()
        if r["Properties"].get("FunctionName") == names.bake_function(env)
    ]
    service = synthesized.raw_template(f"{env.capitalize()}-Service")
    readers = [
        key
        for key, r in _by_type(service, "AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == names.alarm_reader_role
    ]
    if not environment.bake_minutes:
        assert bakes == [] and readers == [], "no bake in this environment"
        return
    ((bake,), (reader,)) = (bakes, readers)
    assert name in json.loads(bake["Environment"]["Variables"]["ALARM_NAMES"])
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in _by_type(service, "AWS::IAM::Policy").values()
        if {"Ref": reader} in r["Properties"]["Roles"]
    ]
    (statement,) = policy["Statement"]
    assert names.alarm_arn(environment.account, name) in statement["Resource"]
