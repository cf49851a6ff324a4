"""Day 2 in the templates: what a later `cdk deploy` of each kind of change touches, under each controller.

Each test takes one prod service stack before and after a configuration change (synthesized by
the session's side process, tests/day2_synths.py) and lists what CloudFormation would change with
the pre-deploy guard's own diff. That proves which
changes reach a listener, a target group or the ECS service, the resources a release controller
also writes to (docs/ecs-blue-green.md, "Day 2").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from config import Config
from release_guard.plan import diff_resources
from tests.day2_synths import CERTIFICATE, key, synthesize_prod_service
from tests.support import SynthesizedApp, logical_id

LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SERVICE = "AWS::ECS::Service"
READER = "Custom::LiveTraffic"
#: The day-2 templates by tests/day2_synths.key.
Templates = dict[str, dict[str, Any]]


def prod_service(templates: Templates, tmp_path: Path, config: Config, **changes: Any) -> dict[str, Any]:
    """The prod service stack of ``config`` with ``changes`` to its prod environment.

    Read from the session's side process (tests/day2_synths.py, one synth per case); synthesized
    here when the session started none (the rehearsal's suite). ``fresh=True`` is a second synth of
    the same: two synths of one configuration are what the reader's nonce test compares.
    """
    fresh = bool(changes.pop("fresh", False))
    case = key(config, changes, fresh)
    if case not in templates:
        # The side process answers every case of its table: a case it lacks would silently cost a synth here.
        assert not templates, f"add this case to tests/day2_synths.CASES: {sorted(changes.items())}, fresh={fresh}"
        return synthesize_prod_service(
            tmp_path / ("fresh" if fresh else "-".join(sorted(changes)) or "base"), config, **changes
        )
    return templates[case]


def base(templates: Templates, tmp_path: Path, config: Config) -> dict[str, Any]:
    """The unchanged prod service stack of ``config``."""
    return prod_service(templates, tmp_path, config)


def changed(templates: Templates, tmp_path: Path, config: Config, **changes: Any) -> dict[str, str]:
    """Resource type → action (added / modified / replaced / removed) for one configuration change."""
    before = base(templates, tmp_path, config)
    after = prod_service(templates, tmp_path, config, **changes, fresh=not changes)
    return {f"{change.resource_type} {change.logical_id}": change.action for change in diff_resources(before, after)}


def of_type(changes: dict[str, str], resource_type: str) -> set[str]:
    return {action for key, action in changes.items() if key.split()[0] == resource_type}


@pytest.fixture(params=["sandbox", "ecs-native"])
def any_config(request: pytest.FixtureRequest, config: Config, ecs_native_config: Config) -> Config:
    return config if request.param == "sandbox" else ecs_native_config


def test_a_health_check_change_is_in_place_and_leaves_listeners_and_rules_alone(
    tmp_path: Path, day2_templates: Templates, any_config: Config
) -> None:
    service = dataclasses.replace(any_config.service, health_check_path="/ready")
    before = base(day2_templates, tmp_path, any_config)
    after_config = dataclasses.replace(any_config, service=service)
    after = prod_service(day2_templates, tmp_path / "after", after_config)
    changes = {f"{c.resource_type} {c.logical_id}": c.action for c in diff_resources(before, after)}
    assert of_type(changes, TARGET_GROUP) == {"modified"}, "HealthCheckPath is updated in place, same ARN"
    assert not of_type(changes, LISTENER) | of_type(changes, RULE)


def test_a_certificate_updates_the_production_listener_in_place_and_adds_the_redirect(
    tmp_path: Path, day2_templates: Templates, any_config: Config
) -> None:
    changes = changed(day2_templates, tmp_path, any_config, certificate_arn=CERTIFICATE)
    assert of_type(changes, LISTENER) == {"modified", "added"}
    assert not of_type(changes, TARGET_GROUP), "the target groups keep their ARNs"
    assert not of_type(changes, SERVICE)


def test_the_redirect_on_port_80_is_created_after_the_production_listener_leaves_port_80(
    tmp_path: Path, day2_templates: Templates, any_config: Config
) -> None:
    """One listener per port: created first, the redirect would fail with DuplicateListener and roll back."""
    template = prod_service(day2_templates, tmp_path, any_config, certificate_arn=CERTIFICATE)
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


def test_a_max_count_change_touches_only_application_auto_scaling(
    tmp_path: Path, day2_templates: Templates, any_config: Config
) -> None:
    changes = changed(day2_templates, tmp_path, any_config, max_count=6)
    assert {key.split()[0] for key in changes} <= {
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        READER,
    }


def test_every_deploy_runs_the_live_traffic_reader_and_changes_nothing_else(
    tmp_path: Path, day2_templates: Templates, any_config: Config
) -> None:
    """Two synths of the same configuration differ in the reader's nonce only: it runs at every deploy."""
    changes = changed(day2_templates, tmp_path, any_config)
    assert list(changes.values()) == ["modified"]
    assert [key.split()[0] for key in changes] == [READER]


def test_a_desired_count_change_updates_the_codedeploy_service_which_the_guard_refuses(
    tmp_path: Path, day2_templates: Templates, config: Config, ecs_native_config: Config
) -> None:
    """Under CODE_DEPLOY the count stays in the service resource (it takes no CloudFormation update)."""
    assert of_type(changed(day2_templates, tmp_path / "cd", config, desired_count=4, max_count=4), SERVICE) == {
        "modified"
    }
    assert not of_type(
        changed(day2_templates, tmp_path / "ecs", ecs_native_config, desired_count=4, max_count=4), SERVICE
    )


def test_a_task_size_change_replaces_the_task_definition_and_only_the_ecs_service_follows_it(
    tmp_path: Path, day2_templates: Templates, config: Config, ecs_native_config: Config
) -> None:
    codedeploy = changed(day2_templates, tmp_path / "cd", config, cpu=1024, memory_mib=2048)
    assert of_type(codedeploy, "AWS::ECS::TaskDefinition") == {"replaced"}
    assert not of_type(codedeploy, SERVICE), "the CODE_DEPLOY service names the family, not the revision"
    ecs = changed(day2_templates, tmp_path / "ecs", ecs_native_config, cpu=1024, memory_mib=2048)
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
