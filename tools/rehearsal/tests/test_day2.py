"""The rehearsal's day-2 phase (tools/rehearsal/day2.py): its scenario table, configuration edits,
guard answers, outcome checks and lines, without moto (`make rehearse` runs it against moto)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from config import Config, load_config
from tests.support import ROOT, SynthesizedApp
from tools.rehearsal import day2 as rehearsal_day2
from tools.rehearsal.day2 import (
    APPLIED,
    REFUSED,
    ROLLED_BACK,
    Day2Context,
    Day2Error,
    DeployFailed,
    Edit,
    GuardAnswer,
    apply_edits,
    check_expected,
    forward_weights,
    release_wiring,
    run_guard,
    run_scenario,
    scenarios,
    set_key,
    variant_edits,
    with_image_tag,
)
from tools.rehearsal.server import CLEAR, FAIL_UPDATE, RELEASE_DURING_UPDATE

CERTIFICATE = "arn:aws:acm:eu-west-1:444444444444:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ROTATED = "arn:aws:acm:eu-west-1:444444444444:certificate/1c2d3e4f-5061-7283-94a5-b6c7d8e9f0a1"
CERTIFICATES = (CERTIFICATE, ROTATED)
CONFIGS = ["config/sandbox.toml", "config/ecs-native.toml"]
NAMES = [
    "health-check",
    "plain-cdk-deploy",
    "infra-only",
    "failed-update",
    "release-during-deploy",
    "certificate",
    "task-size",
    "desired-count",
    "older-image",
]


def plan_for(config: Config) -> list[rehearsal_day2.Scenario]:
    return scenarios(config, config.environments[-1], CERTIFICATES)


# -- the scenario table -------------------------------------------------------------------------


def test_the_scenarios_cover_the_issue_and_the_refused_ones_come_last(config: Config) -> None:
    plan = plan_for(config)
    assert [s.name for s in plan] == NAMES
    assert {s.name: dict(s.expected) for s in plan} == {
        "health-check": {"codedeploy": APPLIED, "ecs": APPLIED},
        "plain-cdk-deploy": {"codedeploy": APPLIED, "ecs": APPLIED},
        "infra-only": {"codedeploy": APPLIED, "ecs": APPLIED},
        # CloudFormation rolls a failed update back; the reader refuses an update while a release runs.
        "failed-update": {"codedeploy": ROLLED_BACK, "ecs": ROLLED_BACK},
        "release-during-deploy": {"codedeploy": REFUSED, "ecs": REFUSED},
        "certificate": {"codedeploy": APPLIED, "ecs": APPLIED},
        "task-size": {"codedeploy": APPLIED, "ecs": APPLIED},
        # A CODE_DEPLOY service takes no CloudFormation update; under ECS the scalable target owns the count.
        "desired-count": {"codedeploy": REFUSED, "ecs": APPLIED},
        "older-image": {"codedeploy": REFUSED, "ecs": REFUSED},
    }
    assert all(s.reason for s in plan)
    older = plan[-1]
    assert older.edits == () and older.image_tag == config.service.initial_image_tag
    by_name = {s.name: s for s in plan}
    # Only the plain deploy skips the guard; the hooks are armed for the two scenarios the server simulates.
    assert [s.name for s in plan if not s.guard] == ["plain-cdk-deploy"]
    assert {s.name: s.hook for s in plan if s.hook} == {
        "failed-update": FAIL_UPDATE,
        "release-during-deploy": RELEASE_DURING_UPDATE,
    }
    assert [s.name for s in plan if s.same_deployment] == ["infra-only"]
    # The certificate rotation fails once, meets a release once, then goes through.
    assert by_name["failed-update"].edits == by_name["release-during-deploy"].edits == by_name["certificate"].edits


def test_applied_changes_accumulate_and_refused_ones_are_dropped(config: Config) -> None:
    plan = plan_for(config)
    code_deploy, ecs = variant_edits(plan, "codedeploy"), variant_edits(plan, "ecs")
    edits = {s.name: s.edits for s in plan}
    at = {name: index for index, name in enumerate(NAMES)}
    assert code_deploy[at["plain-cdk-deploy"]] == (*edits["health-check"], *edits["plain-cdk-deploy"])
    applied = (*edits["health-check"], *edits["plain-cdk-deploy"], *edits["infra-only"])
    # The failed and the refused rotation are not kept: each try, and the one that goes through, is the same change.
    assert code_deploy[at["failed-update"]] == (*applied, *edits["certificate"])
    assert (
        code_deploy[at["release-during-deploy"]] == code_deploy[at["certificate"]] == (*applied, *edits["certificate"])
    )
    assert code_deploy[at["desired-count"]] == (
        *applied,
        *edits["certificate"],
        *edits["task-size"],
        *edits["desired-count"],
    )
    # Under CodeDeploy the refused desired count is not kept; the older image redeploys what was applied.
    assert code_deploy[at["older-image"]] == code_deploy[at["task-size"]]
    assert ecs[at["older-image"]] == ecs[at["desired-count"]]


@pytest.mark.parametrize("path", CONFIGS)
def test_every_scenario_configuration_is_valid_and_changes_what_it_says(path: str, tmp_path: Path) -> None:
    base = load_config(ROOT / path)
    prod = base.environments[-1]
    plan = scenarios(base, prod, CERTIFICATES)
    text = (ROOT / path).read_text()
    changed = {}
    for scenario, edits in zip(plan, variant_edits(plan, prod.release_controller), strict=True):
        variant = tmp_path / f"{scenario.name}.toml"
        variant.write_text(apply_edits(text, edits))
        changed[scenario.name] = load_config(variant)
    last = changed["desired-count"].environments[-1]
    assert changed["health-check"].service.health_check_path == rehearsal_day2.HEALTH_CHECK_PATH
    assert changed["plain-cdk-deploy"].environments[-1].certificate_arn == CERTIFICATE
    assert changed["failed-update"].environments[-1].certificate_arn == ROTATED
    assert changed["certificate"].environments[-1].certificate_arn == ROTATED
    assert changed["infra-only"].environments[-1].log_retention_days > prod.log_retention_days
    assert changed["infra-only"].environments[-1].cpu == prod.cpu  # the task definition is left alone
    assert (last.cpu, last.memory_mib) == (prod.cpu * 2, prod.memory_mib * 2)
    assert last.desired_count == prod.desired_count + 1
    assert last.release_controller == prod.release_controller
    # Only prod changes: the other environments are as committed.
    assert changed["desired-count"].environments[:-1] == base.environments[:-1]


# -- configuration edits ------------------------------------------------------------------------

TOML = """[service]
name = "web"

[environments.prod]
cpu = 512
desired_count = 3

# Steps of 20 %.
[environments.prod.ecs_release]
strategy = "LINEAR"
"""


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("environments.prod", "cpu", "1024", TOML.replace("cpu = 512", "cpu = 1024")),
        (
            "environments.prod",
            "certificate_arn",
            '"arn"',
            TOML.replace("desired_count = 3\n", 'desired_count = 3\ncertificate_arn = "arn"\n'),
        ),
        (
            "service",
            "health_check_path",
            '"/ready"',
            TOML.replace('name = "web"\n', 'name = "web"\nhealth_check_path = "/ready"\n'),
        ),
        (
            "environments.prod.ecs_release",
            "strategy",
            '"CANARY"',
            TOML.replace('strategy = "LINEAR"', 'strategy = "CANARY"'),
        ),
    ],
    ids=["replace", "add-before-a-comment-and-a-sub-table", "add-to-another-table", "replace-in-a-sub-table"],
)
def test_set_key_replaces_or_adds_the_key_in_its_table_only(section: str, key: str, value: str, expected: str) -> None:
    assert set_key(TOML, section, key, value) == expected


def test_set_key_refuses_a_table_that_is_not_there() -> None:
    with pytest.raises(Day2Error, match=r"^the configuration has no \[environments\.qa\] table to set cpu in$"):
        set_key(TOML, "environments.qa", "cpu", "1")


def test_an_edit_is_a_toml_assignment_in_order() -> None:
    text = apply_edits(TOML, [Edit("environments.prod", "cpu", "1024"), Edit("environments.prod", "cpu", "2048")])
    assert "cpu = 2048\n" in text and "cpu = 1024" not in text


# -- the guard's answer, the outcome and the lines ----------------------------------------------


def test_the_guard_answer_gives_the_stacks_parameters_and_its_line() -> None:
    answer = GuardAnswer(
        status=0,
        tokens=(
            "--parameters",
            "Prod-Service:ImageTag=release-1",
            "--parameters",
            "Dev-Service:ImageTag=x",
        ),
        lines=("Dev-Service: deploy: ...", "Prod-Service: deploy: production stays on Green"),
    )
    assert answer.parameters("Prod-Service") == {"ImageTag": "release-1"}
    assert answer.line_for("Prod-Service") == "Prod-Service: deploy: production stays on Green"
    assert GuardAnswer(2, (), ("release_guard: bad option",)).line_for("Prod-Service") == "release_guard: bad option"
    assert GuardAnswer(2, (), ()).line_for("Prod-Service") == "no output"


def test_the_guard_runs_in_process_and_its_output_is_captured(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []

    def main(argv: list[str], *, clients: Any) -> int:
        seen.append((argv, clients))
        print("--parameters\nS:ImageTag=t")
        print("S: deploy: fine", file=sys.stderr)
        return 0

    answer = run_guard(main, ["--assembly", "a", "S"], clients="factory")
    assert answer == GuardAnswer(0, ("--parameters", "S:ImageTag=t"), ("S: deploy: fine",))
    assert seen == [(["--assembly", "a", "S"], "factory")]
    assert capsys.readouterr().out == ""


def test_an_outcome_other_than_the_expected_one_fails_in_one_line(config: Config) -> None:
    desired = next(s for s in plan_for(config) if s.name == "desired-count")
    check_expected(desired, "codedeploy", REFUSED, "day-2 desired-count (CodeDeploy): refused: S: no")
    with pytest.raises(Day2Error) as failure:
        check_expected(desired, "codedeploy", APPLIED, "applied: S: deploy: production stays on Green")
    assert str(failure.value) == (
        f"day-2 desired-count (CodeDeploy): expected refused ({desired.reason}), "
        "got: S: deploy: production stays on Green"
    )
    assert "\n" not in str(failure.value)


def test_the_lines_start_with_day_2_and_say_what_happened() -> None:
    assert rehearsal_day2.refused_line("older-image", "ECS", "S: ImageTag: no") == (
        "day-2 older-image (ECS): refused: S: ImageTag: no"
    )
    assert rehearsal_day2.applied_line("task-size", "CodeDeploy", "Green 100 / Blue 0", "3/3 healthy") == (
        "day-2 task-size (CodeDeploy): applied; production still on Green (Green 100 / Blue 0, 3/3 healthy)"
    )


@pytest.mark.parametrize(
    ("actions", "weights", "on_green"),
    [
        (
            [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "g", "Weight": 100}]}}],
            {"Green": 100, "Blue": 0},
            True,
        ),
        (
            [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [{"TargetGroupArn": "g", "Weight": 90}, {"TargetGroupArn": "b", "Weight": 10}]
                    },
                }
            ],
            {"Green": 90, "Blue": 10},
            False,
        ),
        ([{"Type": "forward", "TargetGroupArn": "b"}], {"Green": 0, "Blue": 1}, False),
        ([{"Type": "fixed-response"}], {"Green": 0, "Blue": 0}, False),
    ],
    ids=["all-green", "split", "plain-forward-to-blue", "no-forward"],
)
def test_forward_weights_per_colour(actions: list[dict[str, Any]], weights: dict[str, int], on_green: bool) -> None:
    found = forward_weights(actions, {"g": "Green", "b": "Blue"})
    assert found == weights
    assert rehearsal_day2.on_released_colour(found) is on_green


def test_the_release_image_replaces_only_the_tag() -> None:
    containers = [{"name": "web", "image": "1.dkr.ecr.eu-west-1.amazonaws.com/delivery-ref/web:bootstrap"}]
    assert with_image_tag(containers, "release-1") == [
        {"name": "web", "image": "1.dkr.ecr.eu-west-1.amazonaws.com/delivery-ref/web:release-1"}
    ]
    assert containers[0]["image"].endswith(":bootstrap")  # not changed in place


# -- the release wiring of the real templates ---------------------------------------------------


def test_codedeploy_releases_on_the_listeners_of_the_deployment_group(synthesized: SynthesizedApp) -> None:
    template = synthesized.raw_template("Prod-Service")
    wiring = release_wiring("Prod-Service", template)
    resources = template["Resources"]
    assert wiring.traffic_type == rehearsal_day2.LISTENER
    assert resources[wiring.production]["Properties"]["Port"] == 80
    assert resources[wiring.test]["Properties"]["Port"] == 9000
    assert resources[wiring.service]["Properties"]["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert set(wiring.target_groups) == {"Blue", "Green"}


def test_ecs_releases_on_the_listener_rules_of_the_service(ecs_native: SynthesizedApp) -> None:
    template = ecs_native.raw_template("Prod-Service")
    wiring = release_wiring("Prod-Service", template)
    assert wiring.traffic_type == rehearsal_day2.LISTENER_RULE
    assert wiring.production != wiring.test
    assert template["Resources"][wiring.cluster]["Type"] == "AWS::ECS::Cluster"


# -- a scenario against stand-ins ---------------------------------------------------------------


class FakeAws:
    """The few calls run_scenario makes around a deploy: the stack, its parameters and events, its resources,
    the production listener and the service. A deploy (``context``'s ``on_deploy``) may change any of them."""

    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = dict(weights)
        self.status = "UPDATE_COMPLETE"
        self.parameters = {"BootstrapVersion": "/cdk-bootstrap/hnb659fds/version", "ImageTag": "release-1"}
        self.events: list[dict[str, str]] = []
        self.task_definition = "arn:aws:ecs:eu-west-1:444444444444:task-definition/web:2"
        self.stack_task_definition = "arn:aws:ecs:eu-west-1:444444444444:task-definition/web:1"
        self.deployments = ["ecs-svc/1"]

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        given = [{"ParameterKey": key, "ParameterValue": value} for key, value in self.parameters.items()]
        return {"Stacks": [{"StackStatus": self.status, "Parameters": given}]}

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": list(reversed(self.events))}  # newest first, as the API lists them

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        deployments = [{"id": deployment} for deployment in self.deployments]
        return {"services": [{"taskDefinition": self.task_definition, "deployments": deployments}]}

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:
        ids = {"Blue": "b", "Green": "g", "Service": "svc", "Cluster": "c", "Prod": "p", "Test": "t"}
        ids["TaskDef"] = self.stack_task_definition
        return {"StackResources": [{"LogicalResourceId": k, "PhysicalResourceId": v} for k, v in ids.items()]}

    def describe_listeners(self, ListenerArns: list[str]) -> dict[str, Any]:
        groups = [{"TargetGroupArn": arn, "Weight": self.weights[c]} for c, arn in (("Blue", "b"), ("Green", "g"))]
        return {"Listeners": [{"DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]}]}

    def describe_target_health(self, TargetGroupArn: str) -> dict[str, Any]:
        return {"TargetHealthDescriptions": [{"TargetHealth": {"State": "healthy"}}]}


TEMPLATE: dict[str, Any] = {
    "Resources": {
        **{
            colour: {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Metadata": {"Release": {"Colour": colour}}}
            for colour in ("Blue", "Green")
        },
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition"},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {"Cluster": {"Ref": "Cluster"}}},
        "Prod": {"Type": "AWS::ElasticLoadBalancingV2::Listener"},
        "Test": {"Type": "AWS::ElasticLoadBalancingV2::Listener"},
        "Group": {
            "Type": "AWS::CodeDeploy::DeploymentGroup",
            "Properties": {
                "LoadBalancerInfo": {
                    "TargetGroupPairInfoList": [
                        {
                            "ProdTrafficRoute": {"ListenerArns": [{"Ref": "Prod"}]},
                            "TestTrafficRoute": {"ListenerArns": [{"Ref": "Test"}]},
                        }
                    ]
                }
            },
        },
    }
}


def context(
    config: Config,
    tmp_path: Path,
    status: int,
    line: str,
    weights: Mapping[str, int],
    on_deploy: Callable[[FakeAws], None] | None = None,
) -> tuple[Day2Context, list[dict[str, str]]]:
    """A context whose guard answers ``status`` and ``line``, whose production listener has ``weights``,
    whose deploy does ``on_deploy`` to the stand-in AWS, and the list of the deploys it ran (their parameters)."""

    def guard(argv: list[str], *, clients: Any) -> int:
        guarded.append(argv)
        if status == 0:
            print("--parameters\nProd-Service:ImageTag=release-1")
        print(line, file=sys.stderr)
        return status

    def deploy(assembly: Path, parameters: Mapping[str, str], log: Path) -> float:
        deployed.append(dict(parameters))
        if on_deploy is not None:
            on_deploy(aws)
        return 1.0

    deployed: list[dict[str, str]] = []
    guarded: list[list[str]] = []
    hooks: list[str] = []
    aws = FakeAws(weights)
    ctx = Day2Context(
        config=config,
        config_text="",
        environment=config.environments[-1],
        stack="Prod-Service",
        account="444444444444",
        assembly=tmp_path,
        template=TEMPLATE,
        run_dir=tmp_path,
        client=lambda service, account: aws,
        guard_clients=lambda *args: None,
        guard_main=guard,
        synth=lambda *args: lambda: 0.0,
        deploy=deploy,
        hook=lambda name: hooks.append(name) or f"{name}: done",
    )
    ctx.guarded, ctx.hooks, ctx.aws = guarded, hooks, aws  # type: ignore[attr-defined]
    return ctx, deployed


def scenario(config: Config, name: str) -> rehearsal_day2.Scenario:
    return next(s for s in plan_for(config) if s.name == name)


def test_a_passing_guard_deploys_with_its_parameters_and_production_is_read_back(
    config: Config, tmp_path: Path
) -> None:
    ctx, deployed = context(config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 0, "Green": 100})
    line = run_scenario(ctx, "codedeploy", scenario(config, "health-check"), tmp_path)
    assert line == (
        "day-2 health-check (CodeDeploy): applied; production still on Green "
        "(Green 100 / Blue 0, 1/1 healthy; ImageTag=release-1; deployed in 1.0 s)"
    )
    assert deployed == [{"ImageTag": "release-1"}]


def test_production_back_on_blue_after_the_deploy_fails_the_rehearsal(config: Config, tmp_path: Path) -> None:
    ctx, deployed = context(config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 100, "Green": 0})
    with pytest.raises(Day2Error, match=r"^day-2 health-check \(CodeDeploy\): applied, but production forwards "):
        run_scenario(ctx, "codedeploy", scenario(config, "health-check"), tmp_path)
    assert deployed == [{"ImageTag": "release-1"}]


def test_a_refusal_is_reported_with_the_guards_line_and_nothing_is_deployed(config: Config, tmp_path: Path) -> None:
    ctx, deployed = context(
        config, tmp_path, 3, "Prod-Service: Service (AWS::ECS::Service): no", {"Blue": 0, "Green": 100}
    )
    line = run_scenario(ctx, "codedeploy", scenario(config, "desired-count"), tmp_path)
    assert line == "day-2 desired-count (CodeDeploy): refused: Prod-Service: Service (AWS::ECS::Service): no"
    assert deployed == []


@pytest.mark.parametrize(
    ("status", "name", "message"),
    [
        (0, "desired-count", r"^day-2 desired-count \(CodeDeploy\): expected refused \("),
        (3, "health-check", r"^day-2 health-check \(CodeDeploy\): expected applied \("),
        (2, "health-check", r"^day-2 health-check \(CodeDeploy\): the guard failed \(exit 2\): Prod-Service: boom$"),
    ],
    ids=["passed-but-refusal-expected", "refused-but-deploy-expected", "guard-error"],
)
def test_an_unexpected_guard_answer_fails_before_any_deploy(
    config: Config, tmp_path: Path, status: int, name: str, message: str
) -> None:
    ctx, deployed = context(config, tmp_path, status, "Prod-Service: boom", {"Blue": 0, "Green": 100})
    with pytest.raises(Day2Error, match=message):
        run_scenario(ctx, "codedeploy", scenario(config, name), tmp_path)
    assert deployed == []


def rolled_back(reason: str, *, resource: str = "Prod-Service", status: str = "UPDATE_ROLLBACK_COMPLETE") -> Any:
    """A failing deploy: the stack ends ``status``, ``reason`` on the failed resource (as extension 11 leaves it)."""

    def deploy(aws: FakeAws) -> None:
        aws.events += [
            {"LogicalResourceId": "Prod-Service", "ResourceStatus": "UPDATE_IN_PROGRESS"},
            {"LogicalResourceId": resource, "ResourceStatus": "UPDATE_FAILED", "ResourceStatusReason": reason},
            {"LogicalResourceId": "Prod-Service", "ResourceStatus": "UPDATE_ROLLBACK_IN_PROGRESS"},
            {"LogicalResourceId": "Prod-Service", "ResourceStatus": status},
        ]
        aws.status = status
        raise DeployFailed(f"`cdk deploy Prod-Service` failed: ❌ Prod-Service failed: {status} (log: x)")

    return deploy


READER_REFUSAL = (
    "Prod-Service: LiveTraffic: a release is in progress (ECS deployment ecs-svc/2, IN_PROGRESS); "
    "wait for it to finish or stop it, then deploy again"
)
INJECTED = "rehearsal: armed failure, after every resource of the update was written"


def test_a_plain_cdk_deploy_runs_no_guard_passes_no_parameters_and_keeps_the_previous_ones(
    config: Config, tmp_path: Path
) -> None:
    ctx, deployed = context(config, tmp_path, 3, "the guard must not run", {"Blue": 0, "Green": 100})
    line = run_scenario(ctx, "ecs", scenario(config, "plain-cdk-deploy"), tmp_path)
    assert line == (
        "day-2 plain-cdk-deploy (ECS): applied; production still on Green (Green 100 / Blue 0, 1/1 healthy; "
        "no guard, no --parameters: ImageTag=release-1 kept; deployed in 1.0 s)"
    )
    assert deployed == [{}]
    assert ctx.guarded == []  # type: ignore[attr-defined]


def test_a_plain_cdk_deploy_that_changes_the_image_tag_fails_the_rehearsal(config: Config, tmp_path: Path) -> None:
    def reset(aws: FakeAws) -> None:
        aws.parameters["ImageTag"] = "bootstrap"

    ctx, _ = context(config, tmp_path, 0, "", {"Blue": 0, "Green": 100}, on_deploy=reset)
    with pytest.raises(Day2Error, match=r"^day-2 plain-cdk-deploy \(ECS\): Prod-Service's parameters were .*"):
        run_scenario(ctx, "ecs", scenario(config, "plain-cdk-deploy"), tmp_path)


def test_infra_only_says_no_new_deployment_when_the_service_is_left_alone(config: Config, tmp_path: Path) -> None:
    ctx, _ = context(config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 0, "Green": 100})
    line = run_scenario(ctx, "ecs", scenario(config, "infra-only"), tmp_path)
    assert line.startswith("day-2 infra-only (ECS): applied; production still on Green (Green 100 / Blue 0, ")
    assert line.endswith(
        "; ImageTag=release-1; no new deployment (the stack's task definition web:1, the service on web:2, "
        "1 deployment, as before); deployed in 1.0 s)"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda aws: aws.deployments.insert(0, "ecs-svc/2"),
        lambda aws: setattr(aws, "task_definition", aws.task_definition.replace("web:2", "web:3")),
        # moto's partial update does not give the service a new revision of the stack: this alone must fail.
        lambda aws: setattr(aws, "stack_task_definition", aws.stack_task_definition.replace("web:1", "web:3")),
    ],
    ids=["a-new-deployment", "the-service-on-a-new-revision", "a-new-revision-of-the-stack"],
)
def test_infra_only_that_starts_a_deployment_fails_the_rehearsal(
    config: Config, tmp_path: Path, change: Callable[[FakeAws], None]
) -> None:
    ctx, _ = context(config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 0, "Green": 100}, on_deploy=change)
    with pytest.raises(
        Day2Error,
        match=r"^day-2 infra-only \(ECS\): the deploy changed the task definition or started a deployment \(before: ",
    ):
        run_scenario(ctx, "ecs", scenario(config, "infra-only"), tmp_path)


def test_a_failed_update_rolled_back_with_production_on_green_is_its_line(config: Config, tmp_path: Path) -> None:
    ctx, deployed = context(
        config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 0, "Green": 100}, on_deploy=rolled_back(INJECTED)
    )
    line = run_scenario(ctx, "codedeploy", scenario(config, "failed-update"), tmp_path)
    assert line == (
        f"day-2 failed-update (CodeDeploy): failed ({INJECTED}), UPDATE_ROLLBACK_COMPLETE; production still on Green "
        "(Green 100 / Blue 0, 1/1 healthy; ImageTag=release-1 kept)"
    )
    assert deployed == [{"ImageTag": "release-1"}]
    assert ctx.hooks == [FAIL_UPDATE, CLEAR]  # type: ignore[attr-defined]


def test_the_readers_refusal_during_a_release_is_the_line_and_the_release_is_cleared(
    config: Config, tmp_path: Path
) -> None:
    refusal = rolled_back(READER_REFUSAL, resource="LiveTraffic")
    ctx, _ = context(config, tmp_path, 0, "Prod-Service: deploy: fine", {"Blue": 0, "Green": 100}, on_deploy=refusal)
    line = run_scenario(ctx, "ecs", scenario(config, "release-during-deploy"), tmp_path)
    assert line == f"day-2 release-during-deploy (ECS): refused: {READER_REFUSAL}"
    assert ctx.hooks == [RELEASE_DURING_UPDATE, CLEAR]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "deploy", "weights", "message"),
    [
        (
            "failed-update",
            rolled_back(INJECTED, status="UPDATE_ROLLBACK_FAILED"),
            {"Blue": 0, "Green": 100},
            r"^day-2 failed-update \(CodeDeploy\): the deploy failed and Prod-Service is UPDATE_ROLLBACK_FAILED: "
            r"rehearsal: armed failure",
        ),
        (
            "failed-update",
            rolled_back(INJECTED),
            {"Blue": 100, "Green": 0},
            r"^day-2 failed-update \(CodeDeploy\): rolled back, but production forwards Green 0 / Blue 100 "
            r"after the rollback$",
        ),
        (
            "failed-update",
            None,
            {"Blue": 0, "Green": 100},
            r"^day-2 failed-update \(CodeDeploy\): expected rolled back \(.*\), got: Prod-Service is UPDATE_COMPLETE$",
        ),
        (
            "failed-update",
            rolled_back(READER_REFUSAL, resource="LiveTraffic"),
            {"Blue": 0, "Green": 100},
            r"^day-2 failed-update \(CodeDeploy\): expected rolled back \(.*\), got: refused: Prod-Service: Live",
        ),
        (
            "release-during-deploy",
            rolled_back(INJECTED),
            {"Blue": 0, "Green": 100},
            r"^day-2 release-during-deploy \(CodeDeploy\): expected refused \(.*\), got: failed \(rehearsal: ",
        ),
        (
            "release-during-deploy",
            rolled_back(READER_REFUSAL, resource="LiveTraffic"),
            {"Blue": 100, "Green": 0},
            r"^day-2 release-during-deploy \(CodeDeploy\): refused, but production forwards Green 0 / Blue 100 ",
        ),
        (
            "health-check",
            rolled_back(INJECTED),
            {"Blue": 0, "Green": 100},
            r"^day-2 health-check \(CodeDeploy\): expected applied \(.*\), got: failed \(rehearsal: ",
        ),
    ],
    ids=[
        "rollback-failed",
        "rolled-back-to-blue",
        "no-failure",
        "failed-update-refused-by-the-reader",
        "release-not-refused",
        "refused-but-on-blue",
        "applied-expected-but-failed",
    ],
)
def test_an_unexpected_end_of_a_deploy_fails_in_one_line(
    config: Config, tmp_path: Path, name: str, deploy: Any, weights: Mapping[str, int], message: str
) -> None:
    ctx, _ = context(config, tmp_path, 0, "Prod-Service: deploy: fine", weights, on_deploy=deploy)
    with pytest.raises(Day2Error, match=message) as failure:
        run_scenario(ctx, "codedeploy", scenario(config, name), tmp_path)
    assert "\n" not in str(failure.value)
    if scenario(config, name).hook is not None:
        assert ctx.hooks[-1] == CLEAR  # type: ignore[attr-defined]  # a hook armed is always cleared


def test_the_failed_reason_is_the_newest_resource_failure() -> None:
    events = [
        {"ResourceStatus": "UPDATE_ROLLBACK_COMPLETE"},
        {"ResourceStatus": "UPDATE_FAILED", "ResourceStatusReason": "the newest"},
        {"ResourceStatus": "UPDATE_FAILED", "ResourceStatusReason": "an older one"},
    ]
    assert rehearsal_day2.failed_reason(events) == "the newest"
    stack_only = [{"ResourceStatus": "UPDATE_ROLLBACK_IN_PROGRESS", "ResourceStatusReason": "the stack's"}]
    assert rehearsal_day2.failed_reason(stack_only) == "the stack's"
    assert rehearsal_day2.failed_reason([{"ResourceStatus": "UPDATE_COMPLETE"}]) is None


@pytest.mark.parametrize(("controller", "synths"), [("codedeploy", 6), ("ecs", 6)])
def test_each_configuration_is_synthesized_once_and_an_unchanged_one_is_not_synthesized(
    config: Config, ecs_native_config: Config, tmp_path: Path, controller: str, synths: int
) -> None:
    chosen = config if controller == "codedeploy" else ecs_native_config
    started: list[Path] = []

    def synth(config_file: Path, out: Path, log: Path) -> Any:
        started.append(config_file)
        return lambda: 0.0

    ctx, _ = context(chosen, tmp_path, 0, "", {"Blue": 0, "Green": 100})
    ctx.synth = synth
    ctx.config_text = Path(chosen.source).read_text()
    steps = rehearsal_day2.start_variants(ctx, CERTIFICATES)
    assert [s.name for s, _ in steps] == [s.name for s in plan_for(chosen)]
    assert len(started) == synths
    waits = dict((s.name, wait) for s, wait in steps)
    # The rotation is synthesized once: its failed try, its refused one and the one that goes through.
    assert waits["failed-update"] is not None
    assert waits["release-during-deploy"] is None and waits["certificate"] is None
    if controller == "codedeploy":  # the desired count was refused: back to the task-size assembly
        assert waits["older-image"] is waits["task-size"]
    else:
        assert waits["older-image"] is None


def test_every_scenario_is_a_row_of_docs_rehearsal_and_a_proof_on_the_day_2_page(config: Config) -> None:
    plan = plan_for(config)
    rehearsal = (ROOT / "docs" / "rehearsal.md").read_text()
    day2 = (ROOT / "docs" / "ecs-blue-green.md").read_text()
    for planned in plan:
        assert f"\n| `{planned.name}` | " in rehearsal
        assert f"`day-2 {planned.name}`" in day2
    assert f"{len(plan)} scenarios as expected" in rehearsal
