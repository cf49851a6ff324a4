"""Day 2 in the templates: what a later `cdk deploy` of each kind of change touches, under each controller.

Each test synthesizes one service stack twice, before and after a configuration change, and
lists what CloudFormation would change with the pre-deploy guard's own diff. That proves which
changes reach a listener, a target group or the ECS service, the resources a release controller
also writes to (docs/ecs-blue-green.md, "Day 2").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from config import Config, EnvironmentConfig
from release_guard.plan import diff_resources
from stacks.network_stack import NetworkStack
from stacks.service_stack import ServiceStack
from tests.support import SynthesizedApp, logical_id, new_app

CERTIFICATE = "arn:aws:acm:eu-west-1:444444444444:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SERVICE = "AWS::ECS::Service"
READER = "Custom::LiveTraffic"


_SYNTHS: dict[str, dict[str, Any]] = {}


def prod_service(tmp_path: Path, config: Config, **changes: Any) -> dict[str, Any]:
    """The prod service stack of ``config`` with ``changes`` to its prod environment.

    Synthesized once per configuration and changes (a certificate is read by two tests), except
    that ``fresh=True`` synthesizes it again: two synths of one configuration are what the
    reader's nonce test compares.
    """
    if changes.pop("fresh", False):
        return synthesize_prod_service(tmp_path / "fresh", config, **changes)
    key = repr((config, sorted(changes.items())))
    if key not in _SYNTHS:
        _SYNTHS[key] = synthesize_prod_service(tmp_path, config, **changes)
    return _SYNTHS[key]


def synthesize_prod_service(tmp_path: Path, config: Config, **changes: Any) -> dict[str, Any]:
    environment: EnvironmentConfig = dataclasses.replace(config.environment("prod"), **changes)
    # Only the diff matters here; the session synth runs CloudFormation's template validation.
    app = new_app(str(tmp_path / ("-".join(sorted(changes)) or "base")), validate_templates=False)
    network = NetworkStack(app, "Network", config=config, environment=environment)
    ServiceStack(app, "Service", config=config, environment=environment, network=network.network)
    return dict(app.synth().get_stack_by_name("Service").template)


def base(tmp_path: Path, config: Config) -> dict[str, Any]:
    """The unchanged prod service stack of ``config``, synthesized once per configuration."""
    return prod_service(tmp_path, config)


def changed(tmp_path: Path, config: Config, **changes: Any) -> dict[str, str]:
    """Resource type → action (added / modified / replaced / removed) for one configuration change."""
    before = base(tmp_path, config)
    after = prod_service(tmp_path, config, **changes) if changes else prod_service(tmp_path, config, fresh=True)
    return {f"{change.resource_type} {change.logical_id}": change.action for change in diff_resources(before, after)}


def of_type(changes: dict[str, str], resource_type: str) -> set[str]:
    return {action for key, action in changes.items() if key.split()[0] == resource_type}


@pytest.fixture(params=["sandbox", "ecs-native"])
def any_config(request: pytest.FixtureRequest, config: Config, ecs_native_config: Config) -> Config:
    return config if request.param == "sandbox" else ecs_native_config


def test_a_health_check_change_is_in_place_and_leaves_listeners_and_rules_alone(
    tmp_path: Path, any_config: Config
) -> None:
    service = dataclasses.replace(any_config.service, health_check_path="/ready")
    before = base(tmp_path, any_config)
    after_config = dataclasses.replace(any_config, service=service)
    after = prod_service(tmp_path / "after", after_config)
    changes = {f"{c.resource_type} {c.logical_id}": c.action for c in diff_resources(before, after)}
    assert of_type(changes, TARGET_GROUP) == {"modified"}, "HealthCheckPath is updated in place, same ARN"
    assert not of_type(changes, LISTENER) | of_type(changes, RULE)


def test_a_certificate_updates_the_production_listener_in_place_and_adds_the_redirect(
    tmp_path: Path, any_config: Config
) -> None:
    changes = changed(tmp_path, any_config, certificate_arn=CERTIFICATE)
    assert of_type(changes, LISTENER) == {"modified", "added"}
    assert not of_type(changes, TARGET_GROUP), "the target groups keep their ARNs"
    assert not of_type(changes, SERVICE)


def test_the_redirect_on_port_80_is_created_after_the_production_listener_leaves_port_80(
    tmp_path: Path, any_config: Config
) -> None:
    """One listener per port: created first, the redirect would fail with DuplicateListener and roll back."""
    template = prod_service(tmp_path, any_config, certificate_arn=CERTIFICATE)
    listeners = {
        logical: resource for logical, resource in template["Resources"].items() if resource["Type"] == LISTENER
    }
    (production,) = [logical for logical, r in listeners.items() if r["Properties"]["Port"] == 443]
    (redirect,) = [
        logical
        for logical, r in listeners.items()
        if r["Properties"]["Port"] == 80 and r["Properties"]["DefaultActions"][0]["Type"] == "redirect"
    ]
    assert production in listeners[redirect].get("DependsOn", [])


def test_a_max_count_change_touches_only_application_auto_scaling(tmp_path: Path, any_config: Config) -> None:
    changes = changed(tmp_path, any_config, max_count=6)
    assert {key.split()[0] for key in changes} <= {
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        READER,
    }


def test_every_deploy_runs_the_live_traffic_reader_and_changes_nothing_else(tmp_path: Path, any_config: Config) -> None:
    """Two synths of the same configuration differ in the reader's nonce only: it runs at every deploy."""
    changes = changed(tmp_path, any_config)
    assert list(changes.values()) == ["modified"]
    assert [key.split()[0] for key in changes] == [READER]


def test_a_desired_count_change_updates_the_codedeploy_service_which_the_guard_refuses(
    tmp_path: Path, config: Config, ecs_native_config: Config
) -> None:
    """Under CODE_DEPLOY the count stays in the service resource (it takes no CloudFormation update)."""
    assert of_type(changed(tmp_path / "cd", config, desired_count=4, max_count=4), SERVICE) == {"modified"}
    assert not of_type(changed(tmp_path / "ecs", ecs_native_config, desired_count=4, max_count=4), SERVICE)


def test_a_task_size_change_replaces_the_task_definition_and_only_the_ecs_service_follows_it(
    tmp_path: Path, config: Config, ecs_native_config: Config
) -> None:
    codedeploy = changed(tmp_path / "cd", config, cpu=1024, memory_mib=2048)
    assert of_type(codedeploy, "AWS::ECS::TaskDefinition") == {"replaced"}
    assert not of_type(codedeploy, SERVICE), "the CODE_DEPLOY service names the family, not the revision"
    ecs = changed(tmp_path / "ecs", ecs_native_config, cpu=1024, memory_mib=2048)
    assert of_type(ecs, "AWS::ECS::TaskDefinition") == {"replaced"}
    assert of_type(ecs, SERVICE) == {"modified"}, "under ECS the new revision is a release with the live image"


@pytest.mark.parametrize("which", ["synthesized", "ecs_native"])
def test_the_image_is_the_only_parameter_and_no_stored_value_says_which_group_is_live(
    request: pytest.FixtureRequest, which: str
) -> None:
    """LiveTargetGroup and ServiceTargetGroup went stale: the CLI reuses them, a rollback restores them."""
    app: SynthesizedApp = request.getfixturevalue(which)
    for env in ("Dev", "Staging", "Prod"):
        template = app.raw_template(f"{env}-Service")
        parameters = template["Parameters"]
        assert sorted(parameters) == ["BootstrapVersion", "ImageTag"]
        assert parameters["ImageTag"]["Default"] == "bootstrap"
        assert "AllowedPattern" in parameters["ImageTag"]
        assert "Conditions" not in template, "no GreenIsLive or ServiceOnGreen condition"
        colours = sorted(
            resource["Metadata"]["Release"]["Colour"]
            for resource in template["Resources"].values()
            if resource["Type"] == TARGET_GROUP
        )
        assert colours == ["Blue", "Green"]


def test_under_codedeploy_both_listeners_forward_all_weight_to_the_live_target_group(
    synthesized: SynthesizedApp,
) -> None:
    """The weights are the LiveTraffic reader's answer, read at this deploy: never a stored value."""
    template = synthesized.raw_template("Prod-Service")
    lb = synthesized.stack("Prod-Service").service.load_balancing
    (reader,) = (logical for logical, r in template["Resources"].items() if r["Type"] == READER)
    groups = {
        resource["Metadata"]["Release"]["Colour"]: {"Ref": logical}
        for logical, resource in template["Resources"].items()
        if resource["Type"] == TARGET_GROUP
    }

    def expected(kind: str) -> list[dict[str, Any]]:
        return [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": groups["Blue"], "Weight": {"Fn::GetAtt": [reader, f"{kind}BlueWeight"]}},
                        {"TargetGroupArn": groups["Green"], "Weight": {"Fn::GetAtt": [reader, f"{kind}GreenWeight"]}},
                    ]
                },
            }
        ]

    assert len([r for r in template["Resources"].values() if r["Type"] == LISTENER]) == 2
    for kind, listener in (("Production", lb.production_listener), ("Test", lb.test_listener)):
        properties = template["Resources"][logical_id(listener.node.default_child)]["Properties"]
        assert properties["DefaultActions"] == expected(kind)
