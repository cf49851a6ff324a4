"""The rehearsal's day-2 phase: a simulated release, then ``cdk deploy`` of changed configurations through the guard.

After the first deployment and its checks, tools/rehearsal/rehearse.py calls :func:`run_day2` on one service
stack (the last environment's, Prod-Service). It

1. simulates a release the way the stack's release controller leaves one, through the AWS APIs
   against moto (moto models neither CodeDeploy nor ECS deployments; docs/rehearsal.md says what
   is assumed): a new task definition revision with the image ``release-<fake sha>``, healthy
   targets in the Green target group, the production and test listeners (CodeDeploy) or listener
   rules (ECS) forwarding Green 100 / Blue 0, and the service on the new revision (a PRIMARY
   task set under CodeDeploy, a finished deployment under ECS);
2. runs each scenario of :func:`scenarios`: writes the configuration with the scenario's change
   (and those of the earlier scenarios that are expected to be applied), synthesizes it, runs the
   real release guard (``release_guard.main``) against moto with that assembly, and, when the
   guard passes, the pinned ``cdk deploy`` of the stack with the parameters the guard printed (or,
   for ``plain-cdk-deploy``, no guard and no parameters: the CLI's defaults); a scenario may first
   arm one of the server's hooks (a failure of the update, a release that starts during it);
   then reads the production listener or rule back: it must still forward everything to Green;
3. prints one line per scenario, ``day-2 <scenario> (<controller>): applied; ...``,
   ``day-2 <scenario> (<controller>): failed, ...; production still on Green (...)`` or
   ``day-2 <scenario> (<controller>): refused: <the guard's or the LiveTraffic reader's line>``, and
   fails with one line when an outcome is not the one the table expects.

The module needs no moto and no CDK library: what talks to the server, the CLI and the guard comes
in through :class:`Day2Context`, so that its logic is tested on its own (tools/rehearsal/tests/test_day2.py).
"""

from __future__ import annotations

import contextlib
import copy
import io
import ipaddress
import json
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from config import Config, EnvironmentConfig, load_config
from config.settings import LOG_RETENTION_DAYS
from release_guard.plan import colour_target_groups, references, resources, service_resource
from tools.rehearsal.server import CLEAR, FAIL_UPDATE, HOOKS_PATH, RELEASE_DURING_UPDATE

Outcome = Literal["applied", "refused", "rolled back"]
APPLIED: Outcome = "applied"
REFUSED: Outcome = "refused"
#: The deploy failed and CloudFormation rolled the update back (the stack is UPDATE_ROLLBACK_COMPLETE).
ROLLED_BACK: Outcome = "rolled back"
ROLLBACK_COMPLETE = "UPDATE_ROLLBACK_COMPLETE"
#: How the LiveTraffic reader's refusals start (components/ecs_blue_green/live_traffic/handler.py: RESOURCE).
READER = "LiveTraffic"
#: How the lines name each release controller of the configuration (EnvironmentConfig.release_controller).
CONTROLLERS = {"codedeploy": "CodeDeploy", "ecs": "ECS"}
#: The colour the simulated release leaves live; the stacks are first deployed on Blue (the default).
RELEASED_COLOUR = "Green"
IDLE_COLOUR = "Blue"
#: The image tag of the simulated release: what the pipeline tags an image with (a commit sha).
RELEASED_IMAGE_TAG = "release-3f2c9e1"
HEALTH_CHECK_PATH = "/ready"
GUARD_PASSED, GUARD_REFUSED = 0, 3
DEPLOYMENT_GROUP = "AWS::CodeDeploy::DeploymentGroup"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"


class Day2Error(Exception):
    """The day-2 phase failed; the message is the one-line reason."""


class DeployFailed(Day2Error):
    """``cdk deploy`` exited non-zero; the message is the CLI's line (a scenario may expect it)."""


# -- the scenarios (no server needed) -------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Set ``key`` of the TOML table ``[section]`` to ``value`` (a TOML literal)."""

    section: str
    key: str
    value: str


@dataclass(frozen=True)
class Scenario:
    """One day-2 change, and the outcome expected under each release controller."""

    name: str
    edits: tuple[Edit, ...]
    expected: Mapping[str, Outcome]
    #: ``--image-tag`` for the guard (None: the guard keeps the live image).
    image_tag: str | None = None
    #: Why the table expects what it does, for docs/rehearsal.md and the failure line.
    reason: str = ""
    #: False: a plain ``cdk deploy`` with the CLI's defaults, no guard and no ``--parameters``.
    guard: bool = True
    #: The server hook armed before the deploy (server.FAIL_UPDATE or server.RELEASE_DURING_UPDATE).
    hook: str | None = None
    #: The service must start no new deployment and keep its task definition.
    same_deployment: bool = False


def scenarios(config: Config, environment: EnvironmentConfig, certificate_arns: Sequence[str]) -> list[Scenario]:
    """The day-2 scenarios in the order they run, on ``environment``'s service stack.

    ``certificate_arns``: the certificate a plain ``cdk deploy`` adds, and the one the
    certificate rotation puts in its place. Applied scenarios accumulate: each later configuration
    keeps the changes before it that are expected to be applied, as a team's configuration does. The
    rotation fails once (``failed-update``), meets a release once (``release-during-deploy``), then
    goes through (``certificate``). The ones refused by the guard come last.
    """
    table = f"environments.{environment.name}"
    count = environment.desired_count + 1
    first, rotated = certificate_arns
    longer = next(days for days in LOG_RETENTION_DAYS if days > environment.log_retention_days)
    rotation = (Edit(table, "certificate_arn", f'"{rotated}"'),)
    return [
        Scenario(
            "health-check",
            (Edit("service", "health_check_path", f'"{HEALTH_CHECK_PATH}"'),),
            {"codedeploy": APPLIED, "ecs": APPLIED},
            reason="both target groups are modified in place (HealthCheckPath does not replace them)",
        ),
        Scenario(
            "plain-cdk-deploy",
            (Edit(table, "certificate_arn", f'"{first}"'),),
            {"codedeploy": APPLIED, "ecs": APPLIED},
            reason=(
                "without the guard the CLI reuses the previous ImageTag, and the listener is written "
                "with the LiveTraffic reader's live weights"
            ),
            guard=False,
        ),
        Scenario(
            "infra-only",
            (Edit(table, "log_retention_days", str(longer)),),
            {"codedeploy": APPLIED, "ecs": APPLIED},
            reason="a longer log retention touches neither the task definition nor the service",
            same_deployment=True,
        ),
        Scenario(
            "failed-update",
            rotation,
            {"codedeploy": ROLLED_BACK, "ecs": ROLLED_BACK},
            reason=(
                "the update fails after its resources were written; the rollback re-applies the previous "
                "template and parameters, and the reader answers the live weights again"
            ),
            hook=FAIL_UPDATE,
        ),
        Scenario(
            "release-during-deploy",
            rotation,
            {"codedeploy": REFUSED, "ecs": REFUSED},
            reason="the LiveTraffic reader refuses a forward update while a release runs; the update rolls back",
            hook=RELEASE_DURING_UPDATE,
        ),
        Scenario(
            "certificate",
            rotation,
            {"codedeploy": APPLIED, "ecs": APPLIED},
            reason="the production listener's certificate is rotated in place, forwarding to the live group",
        ),
        Scenario(
            "task-size",
            (
                Edit(table, "cpu", str(environment.cpu * 2)),
                Edit(table, "memory_mib", str(environment.memory_mib * 2)),
            ),
            {"codedeploy": APPLIED, "ecs": APPLIED},
            reason=(
                "a new task definition revision; a CODE_DEPLOY service names the family and stays unchanged, "
                "an ECS service takes the revision"
            ),
        ),
        Scenario(
            "desired-count",
            (
                Edit(table, "desired_count", str(count)),
                Edit(table, "max_count", str(max(count, environment.max_count))),
            ),
            {"codedeploy": REFUSED, "ecs": APPLIED},
            reason=(
                "DesiredCount is a property of a CODE_DEPLOY service, which takes no CloudFormation update; "
                "under ECS the scalable target alone holds the count"
            ),
        ),
        Scenario(
            "older-image",
            (),
            {"codedeploy": REFUSED, "ecs": REFUSED},
            image_tag=config.service.initial_image_tag,
            reason="the guard refuses an --image-tag other than the live image",
        ),
    ]


def set_key(text: str, section: str, key: str, value: str) -> str:
    """``text`` (a TOML document) with ``key = value`` in ``[section]``: replaced there, or added at its end."""
    lines = text.splitlines(keepends=True)
    header = f"[{section}]"
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        raise Day2Error(f"the configuration has no {header} table to set {key} in")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    assignment = re.compile(rf"\s*{re.escape(key)}\s*=")
    for index in range(start + 1, end):
        if assignment.match(lines[index]):
            lines[index] = f"{key} = {value}\n"
            return "".join(lines)
    insert = end
    while insert > start + 1 and (not lines[insert - 1].strip() or lines[insert - 1].lstrip().startswith("#")):
        insert -= 1
    if insert > 0 and not lines[insert - 1].endswith("\n"):
        lines[insert - 1] += "\n"
    lines.insert(insert, f"{key} = {value}\n")
    return "".join(lines)


def variant_edits(plan: Sequence[Scenario], controller: str) -> list[tuple[Edit, ...]]:
    """The configuration changes each scenario deploys: its own, after those of the applied ones before it."""
    kept: list[Edit] = []
    result = []
    for scenario in plan:
        result.append((*kept, *scenario.edits))
        if scenario.expected[controller] == APPLIED:
            kept += scenario.edits
    return result


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    for edit in edits:
        text = set_key(text, edit.section, edit.key, edit.value)
    return text


# -- the guard's answer and the lines -------------------------------------------------------------


@dataclass(frozen=True)
class GuardAnswer:
    """What ``python -m release_guard`` answered: its exit status, stdout tokens and stderr lines."""

    status: int
    tokens: tuple[str, ...]
    lines: tuple[str, ...]

    def line_for(self, stack: str) -> str:
        """The guard's line about ``stack`` (its last line if none names it)."""
        own = [line for line in self.lines if line.startswith(f"{stack}:")]
        return (own or list(self.lines) or ["no output"])[-1]

    def parameters(self, stack: str) -> dict[str, str]:
        """The ``--parameters <stack>:<Key>=<Value>`` pairs printed for ``stack``."""
        found: dict[str, str] = {}
        for flag, value in zip(self.tokens[::2], self.tokens[1::2], strict=False):
            name, _, assignment = value.partition(":")
            if flag == "--parameters" and name == stack and "=" in assignment:
                key, _, setting = assignment.partition("=")
                found[key] = setting
        return found


def run_guard(
    main: Callable[..., int], argv: Sequence[str], clients: Callable[[str, str, str, str], Any]
) -> GuardAnswer:
    """Run the guard's ``main`` in-process with ``clients``, capturing what it prints."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(argv), clients=clients)
    return GuardAnswer(
        status=status,
        tokens=tuple(stdout.getvalue().split()),
        lines=tuple(line.strip() for line in stderr.getvalue().splitlines() if line.strip()),
    )


def refused_line(scenario: str, controller: str, reason: str) -> str:
    return f"day-2 {scenario} ({controller}): refused: {reason}"


def applied_line(scenario: str, controller: str, production: str, detail: str) -> str:
    return f"day-2 {scenario} ({controller}): applied; production still on {RELEASED_COLOUR} ({production}, {detail})"


def rolled_back_line(scenario: str, controller: str, reason: str, production: str, detail: str) -> str:
    return (
        f"day-2 {scenario} ({controller}): failed ({reason}), {ROLLBACK_COMPLETE}; "
        f"production still on {RELEASED_COLOUR} ({production}, {detail})"
    )


def check_expected(scenario: Scenario, controller_key: str, outcome: Outcome, line: str) -> None:
    """Raise unless ``outcome`` is the one the scenario table expects under this controller."""
    expected = scenario.expected[controller_key]
    if outcome != expected:
        raise Day2Error(
            f"day-2 {scenario.name} ({CONTROLLERS[controller_key]}): expected {expected} ({scenario.reason}), "
            f"got: {line.split(': ', 1)[1] if ': ' in line else line}"
        )


def weights_text(weights: Mapping[str, int]) -> str:
    return f"{RELEASED_COLOUR} {weights.get(RELEASED_COLOUR, 0)} / {IDLE_COLOUR} {weights.get(IDLE_COLOUR, 0)}"


def forward_weights(actions: Sequence[Mapping[str, Any]], colour_of: Mapping[str, str]) -> dict[str, int]:
    """Weight per colour of the forward actions (a plain forward weighs 1), by target group ARN."""
    weights = {colour: 0 for colour in (RELEASED_COLOUR, IDLE_COLOUR)}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": action.get("TargetGroupArn"), "Weight": 1}
        ]
        for group in groups:
            colour = colour_of.get(str(group.get("TargetGroupArn")))
            if colour is not None:
                weights[colour] = max(weights[colour], int(group.get("Weight", 1)))
    return weights


def on_released_colour(weights: Mapping[str, int]) -> bool:
    return weights.get(RELEASED_COLOUR, 0) > 0 and weights.get(IDLE_COLOUR, 0) == 0


# -- the stack's release wiring, read from its template ------------------------------------------------


@dataclass(frozen=True)
class ReleaseWiring:
    """Logical ids a release touches: both colours' target groups, the service and its cluster,
    and the production and test listeners (CodeDeploy) or listener rules (ECS)."""

    target_groups: Mapping[str, str]
    service: str
    cluster: str
    production: str
    test: str
    traffic_type: str  # LISTENER or LISTENER_RULE

    @property
    def traffic_noun(self) -> str:
        return "listeners" if self.traffic_type == LISTENER else "listener rules"


def release_wiring(stack: str, template: Mapping[str, Any]) -> ReleaseWiring:
    """What the template says a release controller works on (ECS AdvancedConfiguration, or the deployment group)."""
    all_resources = resources(template)
    service = service_resource(stack, template)
    properties = all_resources[service].get("Properties") or {}
    clusters = sorted(references(properties.get("Cluster"))[0])
    production: set[str] = set()
    test: set[str] = set()
    for balancer in properties.get("LoadBalancers") or []:
        advanced = balancer.get("AdvancedConfiguration") or {}
        production |= references(advanced.get("ProductionListenerRule"))[0]
        test |= references(advanced.get("TestListenerRule"))[0]
    for resource in all_resources.values():
        if resource.get("Type") != DEPLOYMENT_GROUP:
            continue
        info = (resource.get("Properties") or {}).get("LoadBalancerInfo") or {}
        for pair in info.get("TargetGroupPairInfoList") or []:
            production |= references((pair.get("ProdTrafficRoute") or {}).get("ListenerArns"))[0]
            test |= references((pair.get("TestTrafficRoute") or {}).get("ListenerArns"))[0]
    if len(production) != 1 or len(test) != 1 or len(clusters) != 1:
        raise Day2Error(
            f"{stack}: expected one production and one test listener or rule and one cluster in the template, "
            f"found {sorted(production)}, {sorted(test)} and {clusters}"
        )
    (production_id,), (test_id,) = production, test
    traffic_type = str(all_resources[production_id].get("Type"))
    return ReleaseWiring(
        target_groups={str(colour): logical for colour, logical in colour_target_groups(stack, template).items()},
        service=service,
        cluster=clusters[0],
        production=production_id,
        test=test_id,
        traffic_type=traffic_type,
    )


# -- against the server -------------------------------------------------------------------------------


@dataclass
class Day2Context:
    """What the day-2 phase needs from the rehearsal: the server, the CLI, the guard, a place for files."""

    config: Config
    config_text: str
    environment: EnvironmentConfig
    stack: str
    account: str
    assembly: Path
    template: Mapping[str, Any]
    run_dir: Path
    #: (service, account) -> a boto3 client of that account's administrator.
    client: Callable[[str, str], Any]
    #: The guard's clients factory (stack, account, region, service) -> boto3 client.
    guard_clients: Callable[[str, str, str, str], Any]
    #: release_guard's main(argv, clients=...).
    guard_main: Callable[..., int]
    #: (configuration file, output directory, log) -> a wait for it (seconds): starts the pinned ``cdk synth``.
    synth: Callable[[Path, Path, Path], Callable[[], float]]
    #: (assembly, parameters, log) -> seconds; the pinned ``cdk deploy`` of the stack (DeployFailed if it fails).
    deploy: Callable[[Path, Mapping[str, str], Path], float]
    say: Callable[[str], None] = print
    #: hook name -> the server's answer: arms a hook of the rehearsal server for the stack, or clears them.
    hook: Callable[[str], str] = lambda name: f"no server hooks: {name} not armed"
    lines: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Live:
    """Physical ids of the deployed stack's release wiring."""

    wiring: ReleaseWiring
    arns: Mapping[str, str]  # colour -> target group ARN
    service: str
    cluster: str
    production: str
    test: str

    @property
    def colour_of(self) -> dict[str, str]:
        return {arn: colour for colour, arn in self.arns.items()}


def live_wiring(ctx: Day2Context) -> Live:
    wiring = release_wiring(ctx.stack, ctx.template)
    listed = ctx.client("cloudformation", ctx.account).describe_stack_resources(StackName=ctx.stack)
    physical = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in listed["StackResources"]
        if item.get("PhysicalResourceId")
    }
    return Live(
        wiring=wiring,
        arns={colour: physical[logical] for colour, logical in wiring.target_groups.items()},
        service=physical[wiring.service],
        cluster=physical[wiring.cluster],
        production=physical[wiring.production],
        test=physical[wiring.test],
    )


def weighted_forward(live: Live) -> list[dict[str, Any]]:
    """All weight on the released colour, 0 on the other: what both controllers leave after a release."""
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": live.arns[RELEASED_COLOUR], "Weight": 100},
                    {"TargetGroupArn": live.arns[IDLE_COLOUR], "Weight": 0},
                ]
            },
        }
    ]


def with_image_tag(containers: Sequence[Mapping[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The container definitions with every ``repository:tag`` image on ``tag``."""
    result = []
    for container in containers:
        changed = copy.deepcopy(dict(container))
        image = str(changed.get("image", ""))
        if ":" in image.rsplit("/", 1)[-1]:
            changed["image"] = f"{image.rsplit(':', 1)[0]}:{tag}"
        result.append(changed)
    return result


def simulate_release(ctx: Day2Context, controller_key: str) -> str:
    """Leave the stack as its controller leaves a finished release of RELEASED_IMAGE_TAG on Green. Returns the line."""
    live = live_wiring(ctx)
    ecs, elb = ctx.client("ecs", ctx.account), ctx.client("elbv2", ctx.account)
    (service,) = ecs.describe_services(cluster=live.cluster, services=[live.service])["services"]
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    kept = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory")
    revision = ecs.register_task_definition(
        **{key: current[key] for key in kept if current.get(key)},
        containerDefinitions=with_image_tag(current["containerDefinitions"], RELEASED_IMAGE_TAG),
    )["taskDefinition"]["taskDefinitionArn"]
    ctx.registered.append(revision)

    # The new tasks, healthy in the Green group: ECS registers a task's address when it starts.
    (green,) = elb.describe_target_groups(TargetGroupArns=[live.arns[RELEASED_COLOUR]])["TargetGroups"]
    addresses = ipaddress.ip_network(ctx.environment.vpc_cidr)
    targets = [{"Id": str(addresses[10 + i]), "Port": green["Port"]} for i in range(ctx.environment.desired_count)]
    elb.register_targets(TargetGroupArn=green["TargetGroupArn"], Targets=targets)

    actions = weighted_forward(live)
    if live.wiring.traffic_type == LISTENER:
        for listener in (live.production, live.test):
            elb.modify_listener(ListenerArn=listener, DefaultActions=actions)
    else:
        for rule in (live.production, live.test):
            elb.modify_rule(RuleArn=rule, Actions=actions)

    container = next(c for c in current["containerDefinitions"] if c.get("portMappings"))
    balancer = {
        "targetGroupArn": green["TargetGroupArn"],
        "containerName": container["name"],
        "containerPort": container["portMappings"][0]["containerPort"],
    }
    if controller_key == "codedeploy":
        # CodeDeploy's replacement task set, made PRIMARY; the original one is gone after the termination wait.
        task_set = ecs.create_task_set(
            service=live.service,
            cluster=live.cluster,
            taskDefinition=revision,
            launchType="FARGATE",
            loadBalancers=[balancer],
            # No scale: moto would then run tasks, and fails on containers without a memory of their own.
        )["taskSet"]["taskSetArn"]
        ecs.update_service_primary_task_set(cluster=live.cluster, service=live.service, primaryTaskSet=task_set)
        runs = "a PRIMARY task set of the new revision"
    else:
        # ECS swaps the service's primary and alternate target groups when a blue/green release completes.
        advanced = {
            "alternateTargetGroupArn": live.arns[IDLE_COLOUR],
            "productionListenerRule": live.production,
            "testListenerRule": live.test,
        }
        ecs.update_service(
            cluster=live.cluster,
            service=live.service,
            taskDefinition=revision,
            loadBalancers=[balancer | {"advancedConfiguration": advanced}],
        )
        runs = "a COMPLETED deployment of the new revision, Green as its primary target group"
    weights = production_weights(ctx, live)
    if not on_released_colour(weights):
        raise Day2Error(f"day-2 release: production forwards {weights_text(weights)} after the simulated release")
    return (
        f"day-2 release ({CONTROLLERS[controller_key]}): simulated: {ctx.stack} runs {RELEASED_IMAGE_TAG} "
        f"({runs}), {len(targets)} healthy targets in {RELEASED_COLOUR}; production and test "
        f"{live.wiring.traffic_noun} forward {weights_text(weights)}"
    )


def production_weights(ctx: Day2Context, live: Live) -> dict[str, int]:
    elb = ctx.client("elbv2", ctx.account)
    if live.wiring.traffic_type == LISTENER:
        (listener,) = elb.describe_listeners(ListenerArns=[live.production])["Listeners"]
        return forward_weights(listener.get("DefaultActions", []), live.colour_of)
    (rule,) = elb.describe_rules(RuleArns=[live.production])["Rules"]
    return forward_weights(rule.get("Actions", []), live.colour_of)


def healthy(ctx: Day2Context, live: Live, colour: str) -> str:
    targets = ctx.client("elbv2", ctx.account).describe_target_health(TargetGroupArn=live.arns[colour])
    descriptions = targets["TargetHealthDescriptions"]
    count = sum(1 for t in descriptions if t.get("TargetHealth", {}).get("State") == "healthy")
    return f"{count}/{len(descriptions)} healthy"


def run_scenario(ctx: Day2Context, controller_key: str, scenario: Scenario, assembly: Path) -> str:
    """Guard, then (if it passes) deploy, then read production back. Returns the scenario's line."""
    controller = CONTROLLERS[controller_key]
    parameters: dict[str, str] = {}
    if scenario.guard:
        argv = ["--assembly", str(assembly), ctx.stack]
        if scenario.image_tag is not None:
            argv += ["--image-tag", scenario.image_tag]
        answer = run_guard(ctx.guard_main, argv, ctx.guard_clients)
        if answer.status == GUARD_REFUSED:
            line = refused_line(scenario.name, controller, answer.line_for(ctx.stack))
            check_expected(scenario, controller_key, REFUSED, line)
            return line
        if answer.status != GUARD_PASSED:
            raise Day2Error(
                f"day-2 {scenario.name} ({controller}): the guard failed (exit {answer.status}): "
                f"{answer.line_for(ctx.stack)}"
            )
        parameters = answer.parameters(ctx.stack)
        if scenario.expected[controller_key] == REFUSED and scenario.hook is None:
            check_expected(scenario, controller_key, APPLIED, f"applied: {answer.line_for(ctx.stack)}")
    previous = stack_parameters(ctx)
    live = live_wiring(ctx)
    service_before = service_state(ctx, live)
    if scenario.hook is not None:
        ctx.hook(scenario.hook)
    try:
        seconds = ctx.deploy(assembly, parameters, ctx.run_dir / f"day2-{scenario.name}-deploy.log")
    except DeployFailed as failure:
        return after_failed_deploy(ctx, controller_key, scenario, str(failure), previous)
    finally:
        if scenario.hook is not None:
            ctx.hook(CLEAR)  # a hook that did not fire, and the release one started, end here
    (stack,) = ctx.client("cloudformation", ctx.account).describe_stacks(StackName=ctx.stack)["Stacks"]
    if stack["StackStatus"] != "UPDATE_COMPLETE":
        raise Day2Error(f"day-2 {scenario.name} ({controller}): {ctx.stack} is {stack['StackStatus']} after the deploy")
    if scenario.expected[controller_key] != APPLIED:
        check_expected(scenario, controller_key, APPLIED, f"applied: {ctx.stack} is UPDATE_COMPLETE")
    live = live_wiring(ctx)
    weights = production_weights(ctx, live)
    if not on_released_colour(weights):
        raise Day2Error(
            f"day-2 {scenario.name} ({controller}): applied, but production forwards {weights_text(weights)} "
            f"after the deploy (parameters {parameters})"
        )
    if scenario.guard:
        given = ", ".join(f"{key}={value}" for key, value in sorted(parameters.items()))
    else:
        given = f"no guard, no --parameters: {kept_parameters(ctx, scenario, controller, previous)}"
    if scenario.same_deployment:
        given += f"; {same_deployment(ctx, scenario, controller, service_before, service_state(ctx, live))}"
    detail = f"{healthy(ctx, live, RELEASED_COLOUR)}; {given}; deployed in {seconds:.1f} s"
    return applied_line(scenario.name, controller, weights_text(weights), detail)


def after_failed_deploy(
    ctx: Day2Context, controller_key: str, scenario: Scenario, failure: str, previous: Mapping[str, str]
) -> str:
    """The line of a deploy that failed: CloudFormation must have rolled it back, production still on Green.

    A failure of the LiveTraffic reader is a refusal (its one line); any other one is a rolled-back update.
    """
    controller = CONTROLLERS[controller_key]
    cloudformation = ctx.client("cloudformation", ctx.account)
    (stack,) = cloudformation.describe_stacks(StackName=ctx.stack)["Stacks"]
    reason = failed_reason(cloudformation.describe_stack_events(StackName=ctx.stack)["StackEvents"]) or failure
    status = str(stack["StackStatus"])
    if status != ROLLBACK_COMPLETE:
        raise Day2Error(
            f"day-2 {scenario.name} ({controller}): the deploy failed and {ctx.stack} is {status}: {reason}"
        )
    live = live_wiring(ctx)
    weights = production_weights(ctx, live)
    refused = reason.startswith(f"{ctx.stack}: {READER}:")
    if refused:
        line = refused_line(scenario.name, controller, reason)
    else:
        detail = f"{healthy(ctx, live, RELEASED_COLOUR)}; {kept_parameters(ctx, scenario, controller, previous)}"
        line = rolled_back_line(scenario.name, controller, reason, weights_text(weights), detail)
    check_expected(scenario, controller_key, REFUSED if refused else ROLLED_BACK, line)
    if not on_released_colour(weights):
        raise Day2Error(
            f"day-2 {scenario.name} ({controller}): {'refused' if refused else 'rolled back'}, but production "
            f"forwards {weights_text(weights)} after the rollback"
        )
    return line


def failed_reason(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The reason of the latest resource failure among the stack's events (newest first, as the API lists them)."""
    for event in events:
        if str(event.get("ResourceStatus", "")).endswith("_FAILED") and event.get("ResourceStatusReason"):
            return str(event["ResourceStatusReason"])
    for event in events:
        if event.get("ResourceStatus") == "UPDATE_ROLLBACK_IN_PROGRESS" and event.get("ResourceStatusReason"):
            return str(event["ResourceStatusReason"])
    return None


def stack_parameters(ctx: Day2Context) -> dict[str, str]:
    (stack,) = ctx.client("cloudformation", ctx.account).describe_stacks(StackName=ctx.stack)["Stacks"]
    return {str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in stack.get("Parameters") or []}


def kept_parameters(ctx: Day2Context, scenario: Scenario, controller: str, previous: Mapping[str, str]) -> str:
    """``ImageTag=<value> kept``: after a deploy without parameters, or a rollback, they are the previous ones."""
    now = stack_parameters(ctx)
    if now != dict(previous):
        raise Day2Error(
            f"day-2 {scenario.name} ({controller}): {ctx.stack}'s parameters were {dict(previous)} before "
            f"and are {now} after"
        )
    return ", ".join(f"{key}={value} kept" for key, value in sorted(now.items()) if key != "BootstrapVersion")


@dataclass(frozen=True)
class ServiceState:
    """What says whether a deployment starts: the stack's task definition (a new one is a new revision, which
    CloudFormation gives the service), the revision the service runs, and its deployments or task sets."""

    stack_task_definitions: tuple[str, ...]
    task_definition: str
    deployments: frozenset[str]

    def __str__(self) -> str:
        def revision(arn: str) -> str:
            return arn.rsplit("/", 1)[-1]

        stack = ", ".join(revision(arn) for arn in self.stack_task_definitions)
        count = f"{len(self.deployments)} deployment{'s' if len(self.deployments) != 1 else ''}"
        return f"the stack's task definition {stack}, the service on {revision(self.task_definition)}, {count}"


def service_state(ctx: Day2Context, live: Live) -> ServiceState:
    ecs = ctx.client("ecs", ctx.account)
    (service,) = ecs.describe_services(cluster=live.cluster, services=[live.service])["services"]
    task_sets = [t for t in service.get("taskSets") or [] if t.get("status") != "INACTIVE"]
    deployments = [f"deployment {d['id']}" for d in service.get("deployments") or []]
    primary = next((t for t in task_sets if t.get("status") == "PRIMARY"), None)
    logical = {name for name, resource in resources(ctx.template).items() if resource.get("Type") == TASK_DEFINITION}
    listed = ctx.client("cloudformation", ctx.account).describe_stack_resources(StackName=ctx.stack)["StackResources"]
    return ServiceState(
        stack_task_definitions=tuple(
            sorted(str(r.get("PhysicalResourceId")) for r in listed if r["LogicalResourceId"] in logical)
        ),
        task_definition=str((primary or service).get("taskDefinition", "")),
        deployments=frozenset([*deployments, *(f"task set {t['id']}" for t in task_sets)]),
    )


def same_deployment(
    ctx: Day2Context, scenario: Scenario, controller: str, before: ServiceState, after: ServiceState
) -> str:
    """``no new deployment (...)``, or the failure when the deploy started one or changed the revision."""
    if after != before:
        raise Day2Error(
            f"day-2 {scenario.name} ({controller}): the deploy changed the task definition or started a deployment "
            f"(before: {before}; after: {after})"
        )
    return f"no new deployment ({after}, as before)"


#: A scenario and how to get the assembly it deploys (None: the one deployed before it).
Step = tuple[Scenario, Callable[[], Path] | None]


def start_variants(ctx: Day2Context, certificate_arns: Sequence[str]) -> list[Step]:
    """Write and check each scenario's configuration and start its synth; returns the scenarios in order.

    Called before the first deployment, so that the synths run while the stacks deploy.
    """
    plan = scenarios(ctx.config, ctx.environment, certificate_arns)
    steps: list[Step] = []
    previous: tuple[Edit, ...] = ()
    started: dict[tuple[Edit, ...], Callable[[], Path]] = {}
    for scenario, edits in zip(plan, variant_edits(plan, ctx.environment.release_controller), strict=True):
        if edits == previous or edits in started:  # the assembly deployed before it, or one synthesized already
            steps.append((scenario, None if edits == previous else started[edits]))
            previous = edits
            continue
        previous = edits
        config_file = ctx.run_dir / f"day2-{scenario.name}.toml"
        config_file.write_text(apply_edits(ctx.config_text, edits))
        load_config(config_file)  # a bad edit fails here, in one line
        out = ctx.run_dir / f"day2-{scenario.name}.out"
        wait = ctx.synth(config_file, out, ctx.run_dir / f"day2-{scenario.name}-synth.log")
        started[edits] = _assembly_when_done(wait, out)
        steps.append((scenario, started[edits]))
    return steps


def _assembly_when_done(wait: Callable[[], float], out: Path) -> Callable[[], Path]:
    def assembly() -> Path:
        wait()
        return out

    return assembly


def run_day2(ctx: Day2Context, steps: Sequence[Step]) -> list[str]:
    """The simulated release, then every scenario in order. Returns the lines printed."""
    controller_key = ctx.environment.release_controller
    line = simulate_release(ctx, controller_key)
    ctx.say(line)
    ctx.lines.append(line)
    assembly = ctx.assembly
    for scenario, synthesized in steps:
        if synthesized is not None:
            assembly = synthesized()
        line = run_scenario(ctx, controller_key, scenario, assembly)
        ctx.say(line)
        ctx.lines.append(line)
    return ctx.lines


def server_hook(endpoint: str, request: Mapping[str, str]) -> str:
    """POST ``request`` to the rehearsal server's hooks (tools/rehearsal/server.py, ``HOOKS_PATH``); its answer."""
    body = json.dumps(dict(request)).encode()
    post = urllib.request.Request(f"{endpoint}{HOOKS_PATH}", data=body, method="POST")
    with urllib.request.urlopen(post, timeout=10) as answer:
        return str(answer.read().decode())


def clean_up(ctx: Day2Context) -> None:
    """Deregister the revision the simulated controller registered: on AWS it would outlive the stack."""
    ecs = ctx.client("ecs", ctx.account)
    for revision in ctx.registered:
        ecs.deregister_task_definition(taskDefinition=revision)
    ctx.registered.clear()


def import_certificate(acm: Any, domain: str) -> str:
    """Import a throwaway self-signed certificate for ``domain`` into ACM; returns its ARN.

    moto's listener refuses a certificate ARN that is not in its ACM, as Elastic Load Balancing does.
    """
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    answer = acm.import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return str(answer["CertificateArn"])
