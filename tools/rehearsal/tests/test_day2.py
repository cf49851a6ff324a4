"""The rehearsal's day-2 phase (tools/rehearsal/day2.py): its scenario table, configuration edits,
guard answers, outcome checks and lines, without moto (`make rehearse` runs it against moto)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from config import Config, load_config
from tests.support import ROOT, SynthesizedApp
from tools.rehearsal import day2 as rehearsal_day2
from tools.rehearsal.day2 import (
    APPLIED,
    REFUSED,
    Day2Context,
    Day2Error,
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

CERTIFICATE = "arn:aws:acm:eu-west-1:444444444444:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
CONFIGS = ["config/sandbox.toml", "config/ecs-native.toml"]


def plan_for(config: Config) -> list[rehearsal_day2.Scenario]:
    return scenarios(config, config.environments[-1], CERTIFICATE)


# -- the scenario table -------------------------------------------------------------------------


def test_the_scenarios_cover_the_issue_and_the_refused_ones_come_last(config: Config) -> None:
    plan = plan_for(config)
    assert [s.name for s in plan] == ["health-check", "certificate", "task-size", "desired-count", "older-image"]
    assert {s.name: dict(s.expected) for s in plan} == {
        "health-check": {"codedeploy": APPLIED, "ecs": APPLIED},
        "certificate": {"codedeploy": APPLIED, "ecs": APPLIED},
        "task-size": {"codedeploy": APPLIED, "ecs": APPLIED},
        # A CODE_DEPLOY service takes no CloudFormation update; under ECS the scalable target owns the count.
        "desired-count": {"codedeploy": REFUSED, "ecs": APPLIED},
        "older-image": {"codedeploy": REFUSED, "ecs": REFUSED},
    }
    assert all(s.reason for s in plan)
    older = plan[-1]
    assert older.edits == () and older.image_tag == config.service.initial_image_tag


def test_applied_changes_accumulate_and_refused_ones_are_dropped(config: Config) -> None:
    plan = plan_for(config)
    code_deploy, ecs = variant_edits(plan, "codedeploy"), variant_edits(plan, "ecs")
    edits = {s.name: s.edits for s in plan}
    assert code_deploy[1] == (*edits["health-check"], *edits["certificate"])
    assert code_deploy[3] == (
        *edits["health-check"],
        *edits["certificate"],
        *edits["task-size"],
        *edits["desired-count"],
    )
    # Under CodeDeploy the refused desired count is not kept; the older image redeploys what was applied.
    assert code_deploy[4] == code_deploy[2]
    assert ecs[4] == ecs[3]


@pytest.mark.parametrize("path", CONFIGS)
def test_every_scenario_configuration_is_valid_and_changes_what_it_says(path: str, tmp_path: Path) -> None:
    base = load_config(ROOT / path)
    prod = base.environments[-1]
    plan = scenarios(base, prod, CERTIFICATE)
    text = (ROOT / path).read_text()
    changed = {}
    for scenario, edits in zip(plan, variant_edits(plan, prod.release_controller), strict=True):
        variant = tmp_path / f"{scenario.name}.toml"
        variant.write_text(apply_edits(text, edits))
        changed[scenario.name] = load_config(variant)
    last = changed["desired-count"].environments[-1]
    assert changed["health-check"].service.health_check_path == rehearsal_day2.HEALTH_CHECK_PATH
    assert changed["certificate"].environments[-1].certificate_arn == CERTIFICATE
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
    """The few calls run_scenario makes after a deploy: the stack, its resources, the production listener."""

    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = weights

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackStatus": "UPDATE_COMPLETE"}]}

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:
        ids = {"Blue": "b", "Green": "g", "Service": "svc", "Cluster": "c", "Prod": "p", "Test": "t"}
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
    config: Config, tmp_path: Path, status: int, line: str, weights: Mapping[str, int]
) -> tuple[Day2Context, list[dict[str, str]]]:
    """A context whose guard answers ``status`` and ``line``, whose production listener has ``weights``,
    and the list of the deploys it ran (their parameters)."""

    def guard(argv: list[str], *, clients: Any) -> int:
        if status == 0:
            print("--parameters\nProd-Service:ImageTag=release-1")
        print(line, file=sys.stderr)
        return status

    def deploy(assembly: Path, parameters: Mapping[str, str], log: Path) -> float:
        deployed.append(dict(parameters))
        return 1.0

    deployed: list[dict[str, str]] = []
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
    )
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


@pytest.mark.parametrize(("controller", "synths"), [("codedeploy", 4), ("ecs", 4)])
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
    steps = rehearsal_day2.start_variants(ctx, CERTIFICATE)
    assert [s.name for s, _ in steps] == [s.name for s in plan_for(chosen)]
    assert len(started) == synths
    older = dict((s.name, wait) for s, wait in steps)["older-image"]
    if controller == "codedeploy":  # the desired count was refused: back to the task-size assembly
        assert older is dict((s.name, wait) for s, wait in steps)["task-size"]
    else:
        assert older is None
