"""LiveTraffic: a CloudFormation custom resource that answers which target group serves, as it is now.

The service stack's listeners and listener rules forward with weights that are ``Fn::GetAtt`` of
this resource, and under the ECS controller the service names its primary target group the same
way. The resource runs on every deployment of its stack (its ``Nonce`` property changes with every
synth) and on CloudFormation's rollback of a failed update (CloudFormation then sends the custom
resource an ``Update`` with its previous properties: "Update request for CloudFormation custom
resources", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-update.html).
So whatever CloudFormation writes to a listener, rule or service is what is live at that moment,
never a value stored at an earlier deploy (aws/aws-cdk#36649; docs/ecs-blue-green.md, "Day 2").

Properties (CloudFormation passes every value as a string):
  ReleaseController           ``codedeploy`` or ``ecs``.
  ProductionListener, TestListener
                              the stack's own logical ids of the two listeners.
  ProductionRule, TestRule    (ecs) the logical ids of the two listener rules ECS shifts traffic on.
  Service                     the logical id of the ECS service.
  BlueTargetGroupArn, GreenTargetGroupArn
                              the two target groups.
  CodeDeployApplication, CodeDeployDeploymentGroup
                              (codedeploy) the deployment group that releases the service.
  Nonce                       changes with every synth, so that every deploy runs this.

The physical ids come from ``DescribeStackResource`` on the resource's own stack (the event's
``StackId``): no CloudFormation dependency on the listeners, so this runs before them. A resource
that does not exist yet (the stack's first create, or a rule added by this update) answers
Blue 100 / Green 0, the shape the first deploy creates.

Attributes (``Data``; numbers as strings):
  ProductionBlueWeight, ProductionGreenWeight, TestBlueWeight, TestGreenWeight
      percentages (they add up to 100) of the production and test forward: the listeners' default
      actions under CodeDeploy, the listener rules under ECS (a listener's default action when its
      rule does not exist yet). A forward with a single ``TargetGroupArn`` and no ``ForwardConfig``
      counts as weight 100 on that group: "Specify only when Type is forward and you want to route
      to a single target group" (Elastic Load Balancing API reference, Action).
  ServiceTargetGroupArn, ServiceAlternateTargetGroupArn
      (ecs) the group the service names as primary (``loadBalancers[0].targetGroupArn`` of
      DescribeServices: "the primary target group for the blue service revision (current
      production traffic)", ECS developer guide, alb-resources-for-blue-green) and the other one.

Outcomes:
  Delete                      nothing to undo: SUCCESS.
  Create / Update, forward    REFUSED (FAILED, one line naming the stack, this resource and what to
                              do) while a release is in progress: a CodeDeploy deployment of the
                              group in Created, Queued, InProgress, Ready or Baking (ListDeployments
                              ``includeOnlyStatuses``, CodeDeploy API reference); an ECS deployment
                              with rolloutState IN_PROGRESS or more than one PRIMARY/ACTIVE
                              deployment; more than one PRIMARY/ACTIVE task set; production weights
                              split between both groups. Otherwise SUCCESS with the attributes.
  Create / Update, rollback   the stack is in a ``*ROLLBACK_IN_PROGRESS`` status (DescribeStacks):
                              never refused, SUCCESS with what is live.
  anything unreadable         FAILED, one line (an AWS error, a forward to a group that is neither
                              Blue nor Green): nothing changes before the cause is fixed.

The response is PUT to the request's presigned ``ResponseURL`` (body at most 4096 bytes: "Custom
resource response objects", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
Nothing raises out of :func:`handler`: every outcome is one response and one JSON log line.

Runs with the standard library and boto3 only: deployed from this folder alone.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SUCCESS = "SUCCESS"
FAILED = "FAILED"
CODEDEPLOY = "codedeploy"
ECS = "ecs"
RESOURCE = "LiveTraffic"
#: CodeDeploy deployment states in which a release may still move traffic (DeploymentStatus).
RELEASE_IN_PROGRESS = ("Created", "Queued", "InProgress", "Ready", "Baking")
#: ECS deployment and task set states that still run tasks of a revision.
RUNNING_STATES = ("PRIMARY", "ACTIVE")
#: CloudFormation sends a response of at most 4096 bytes; the reason stays well inside it.
MAX_REASON = 1000
PUT_ATTEMPTS = 3

_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """A boto3 client created on first use, so importing this module needs no AWS configuration."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")), flush=True)


class Refused(Exception):
    """The update would be unsafe now; the message is the one line CloudFormation shows."""


class Unreadable(Exception):
    """What is live cannot be told; the message says what could not be read."""


@dataclass
class Clients:
    """The four AWS clients the reader uses (tests pass stubbed ones)."""

    cloudformation: Any = None
    elbv2: Any = None
    ecs: Any = None
    codedeploy: Any = None

    def __post_init__(self) -> None:
        self.cloudformation = self.cloudformation or _client("cloudformation")
        self.elbv2 = self.elbv2 or _client("elbv2")
        self.ecs = self.ecs or _client("ecs")
        self.codedeploy = self.codedeploy or _client("codedeploy")


@dataclass(frozen=True)
class Weights:
    """A forward's split between the two groups, in percent."""

    blue: int = 100
    green: int = 0

    @property
    def split(self) -> bool:
        return self.blue > 0 and self.green > 0

    def __str__(self) -> str:
        return f"Blue {self.blue} / Green {self.green}"


@dataclass(frozen=True)
class Request:
    """The properties of one request, checked."""

    stack_id: str
    controller: str
    production_listener: str
    test_listener: str
    service: str
    blue: str
    green: str
    production_rule: str | None = None
    test_rule: str | None = None
    application: str | None = None
    deployment_group: str | None = None

    @property
    def stack_name(self) -> str:
        return stack_name(self.stack_id)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        properties = event.get("ResourceProperties") or {}
        stack_id = str(event.get("StackId") or "")

        def required(name: str) -> str:
            value = properties.get(name)
            if not isinstance(value, str) or not value:
                raise Unreadable(f"property {name} is missing")
            return value

        controller = required("ReleaseController")
        if controller not in (CODEDEPLOY, ECS):
            raise Unreadable(f"property ReleaseController: expected codedeploy or ecs, got {controller!r}")
        ecs_only = controller == ECS
        return cls(
            stack_id=stack_id,
            controller=controller,
            production_listener=required("ProductionListener"),
            test_listener=required("TestListener"),
            service=required("Service"),
            blue=required("BlueTargetGroupArn"),
            green=required("GreenTargetGroupArn"),
            production_rule=required("ProductionRule") if ecs_only else None,
            test_rule=required("TestRule") if ecs_only else None,
            application=None if ecs_only else required("CodeDeployApplication"),
            deployment_group=None if ecs_only else required("CodeDeployDeploymentGroup"),
        )


@dataclass
class Live:
    """What the reader found."""

    production: Weights = field(default_factory=Weights)
    test: Weights = field(default_factory=Weights)
    service_target_group: str | None = None
    service_alternate_target_group: str | None = None
    service: dict[str, Any] | None = None

    def attributes(self) -> dict[str, str]:
        data = {
            "ProductionBlueWeight": str(self.production.blue),
            "ProductionGreenWeight": str(self.production.green),
            "TestBlueWeight": str(self.test.blue),
            "TestGreenWeight": str(self.test.green),
        }
        if self.service_target_group and self.service_alternate_target_group:
            data["ServiceTargetGroupArn"] = self.service_target_group
            data["ServiceAlternateTargetGroupArn"] = self.service_alternate_target_group
        return data


def stack_name(stack_id: str) -> str:
    """``arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`` → ``<name>``."""
    parts = stack_id.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id or "stack"


# -- reading ---------------------------------------------------------------------------------


def stack_status(cloudformation: Any, stack_id: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    return str(stacks[0]["StackStatus"])


def is_rollback(status: str) -> bool:
    """UPDATE_ROLLBACK_IN_PROGRESS (and the other rollbacks, which send Delete only)."""
    return status.endswith("ROLLBACK_IN_PROGRESS")


def physical_id(cloudformation: Any, stack_id: str, logical_id: str) -> str | None:
    """The resource's physical id (a listener's, rule's or service's ARN), or None while it does not exist."""
    try:
        detail = cloudformation.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)[
            "StackResourceDetail"
        ]
    except ClientError as error:
        # "Resource <id> does not exist for stack <name>": not created yet.
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    physical = detail.get("PhysicalResourceId")
    if not physical or str(detail.get("ResourceStatus", "")).startswith(("CREATE_FAILED", "DELETE_")):
        return None
    return str(physical)


def forward_weights(actions: list[dict[str, Any]], blue: str, green: str, where: str) -> Weights:
    """The percentages of Blue and Green in the forward action among ``actions``."""
    forwards = [action for action in actions if action.get("Type") == "forward"]
    if not forwards:
        raise Unreadable(f"{where} has no forward action")
    action = sorted(forwards, key=lambda a: a.get("Order", 0))[0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        weights = {str(g["TargetGroupArn"]): int(g.get("Weight", 1)) for g in groups}
    elif action.get("TargetGroupArn"):
        # The single-group shape: all traffic to that group (CodeDeploy leaves this behind).
        weights = {str(action["TargetGroupArn"]): 100}
    else:
        raise Unreadable(f"{where} forwards to no target group")
    strangers = sorted(arn for arn, weight in weights.items() if arn not in (blue, green) and weight > 0)
    if strangers:
        raise Unreadable(f"{where} forwards to {strangers[0]}, which is neither the Blue nor the Green target group")
    total = weights.get(blue, 0) + weights.get(green, 0)
    if total <= 0:
        raise Unreadable(f"{where} gives both target groups weight 0")
    blue_percent = round(100 * weights.get(blue, 0) / total)
    return Weights(blue=blue_percent, green=100 - blue_percent)


def listener_actions(elbv2: Any, arns: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not arns:
        return {}
    listeners = elbv2.describe_listeners(ListenerArns=arns)["Listeners"]
    return {str(listener["ListenerArn"]): list(listener.get("DefaultActions", [])) for listener in listeners}


def rule_actions(elbv2: Any, arns: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not arns:
        return {}
    rules = elbv2.describe_rules(RuleArns=arns)["Rules"]
    return {str(rule["RuleArn"]): list(rule.get("Actions", [])) for rule in rules}


def describe_service(ecs: Any, service_arn: str) -> dict[str, Any] | None:
    """The service as ECS describes it; its cluster is in its ARN (``service/<cluster>/<name>``)."""
    parts = service_arn.split(":service/", 1)[-1].split("/")
    arguments: dict[str, Any] = {"services": [service_arn]}
    if len(parts) == 2:
        arguments["cluster"] = parts[0]
    services = ecs.describe_services(**arguments).get("services", [])
    active = [service for service in services if service.get("status") != "INACTIVE"]
    return dict(active[0]) if active else None


def read(request: Request, clients: Clients) -> Live:
    """What serves production and test now, and (ECS) which group the service holds as primary."""
    cfn = clients.cloudformation
    ids = {
        "production listener": request.production_listener,
        "test listener": request.test_listener,
        "service": request.service,
    }
    if request.production_rule and request.test_rule:
        ids["production rule"] = request.production_rule
        ids["test rule"] = request.test_rule
    found = {what: physical_id(cfn, request.stack_id, logical) for what, logical in ids.items()}
    listeners = listener_actions(
        clients.elbv2, [arn for what, arn in found.items() if what.endswith("listener") and arn]
    )
    rules = rule_actions(clients.elbv2, [arn for what, arn in found.items() if what.endswith("rule") and arn])

    def weights(kind: str) -> Weights:
        rule_arn = found.get(f"{kind} rule")
        if rule_arn and rule_arn in rules:
            return forward_weights(rules[rule_arn], request.blue, request.green, f"the {kind} listener rule")
        listener_arn = found[f"{kind} listener"]
        if listener_arn and listener_arn in listeners:
            return forward_weights(listeners[listener_arn], request.blue, request.green, f"the {kind} listener")
        return Weights()

    live = Live(production=weights("production"), test=weights("test"))
    service_arn = found["service"]
    live.service = describe_service(clients.ecs, service_arn) if service_arn else None
    if request.controller == ECS:
        primary = request.blue
        balancers = (live.service or {}).get("loadBalancers") or []
        if balancers and balancers[0].get("targetGroupArn"):
            primary = str(balancers[0]["targetGroupArn"])
        if primary not in (request.blue, request.green):
            raise Unreadable(f"the ECS service names {primary} as primary, neither the Blue nor the Green target group")
        live.service_target_group = primary
        live.service_alternate_target_group = request.green if primary == request.blue else request.blue
    return live


# -- refusing --------------------------------------------------------------------------------


def codedeploy_release(codedeploy: Any, application: str, group: str) -> str | None:
    """``CodeDeploy deployment <id>, <status>`` of the first deployment of the group that is not over."""
    try:
        deployments = codedeploy.list_deployments(
            applicationName=application, deploymentGroupName=group, includeOnlyStatuses=list(RELEASE_IN_PROGRESS)
        ).get("deployments", [])
    except ClientError as error:
        # The stack's first create (or the update that adds the group): nothing has been released.
        if error.response.get("Error", {}).get("Code") in (
            "ApplicationDoesNotExistException",
            "DeploymentGroupDoesNotExistException",
        ):
            return None
        raise
    if not deployments:
        return None
    deployment_id = str(deployments[0])
    status = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"].get("status", "in progress")
    return f"CodeDeploy deployment {deployment_id}, {status}"


def ecs_release(service: Mapping[str, Any] | None) -> str | None:
    """The ECS deployment or task sets of a release that is not over, described in a few words."""
    if not service:
        return None
    deployments = service.get("deployments") or []
    for deployment in deployments:
        if deployment.get("rolloutState") == "IN_PROGRESS":
            return f"ECS deployment {deployment.get('id')}, IN_PROGRESS"
    running = [d for d in deployments if d.get("status") in RUNNING_STATES]
    if len(running) > 1:
        return f"{len(running)} ECS deployments PRIMARY or ACTIVE: {', '.join(str(d.get('id')) for d in running)}"
    task_sets = [t for t in service.get("taskSets") or [] if t.get("status") in RUNNING_STATES]
    if len(task_sets) > 1:
        return f"{len(task_sets)} ECS task sets PRIMARY or ACTIVE: {', '.join(str(t.get('id')) for t in task_sets)}"
    return None


def refuse_if_releasing(request: Request, live: Live, clients: Clients) -> None:
    release = None
    if request.controller == CODEDEPLOY and request.application and request.deployment_group:
        release = codedeploy_release(clients.codedeploy, request.application, request.deployment_group)
    release = release or ecs_release(live.service)
    where = f"{request.stack_name}: {RESOURCE}"
    if release:
        raise Refused(
            f"{where}: a release is in progress ({release}); wait for it to finish or stop it, then deploy again"
        )
    if live.production.split:
        raise Refused(
            f"{where}: production traffic is split ({live.production}), a release is shifting it; "
            "wait for it to finish or stop it, then deploy again"
        )


# -- the custom resource -----------------------------------------------------------------------


def respond(event: Mapping[str, Any], clients: Clients | None) -> tuple[str, str, dict[str, str]]:
    """(status, reason, data) for one request (``clients`` default to boto3's). Never raises."""
    request_type = event.get("RequestType")
    where = f"{stack_name(str(event.get('StackId') or ''))}: {RESOURCE}"
    if request_type == "Delete":
        return SUCCESS, "nothing to delete: the reader owns no AWS resource", {}
    try:
        request = Request.from_event(event)
        clients = clients if clients is not None else Clients()
        status = stack_status(clients.cloudformation, request.stack_id)
        live = read(request, clients)
        if request_type in ("Create", "Update") and not is_rollback(status):
            refuse_if_releasing(request, live, clients)
        return SUCCESS, f"live: production {live.production}, test {live.test} (stack {status})", live.attributes()
    except Refused as refusal:
        return FAILED, str(refusal), {}
    except Unreadable as error:
        return FAILED, f"{where}: cannot tell what is live: {error}; fix it, then deploy again", {}
    except (ClientError, BotoCoreError) as error:
        return FAILED, f"{where}: cannot tell what is live ({type(error).__name__}: {error}); deploy again", {}
    except Exception as error:  # a bug must still end in a response, never in an hour of waiting
        return FAILED, f"{where}: unexpected error ({type(error).__name__}: {error})", {}


def response_body(event: Mapping[str, Any], status: str, reason: str, data: Mapping[str, str]) -> dict[str, Any]:
    physical = event.get("PhysicalResourceId") or f"{stack_name(str(event.get('StackId') or ''))}-{RESOURCE}"
    return {
        "Status": status,
        "Reason": reason[:MAX_REASON],
        "PhysicalResourceId": physical,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": dict(data),
    }


def put_response(url: str, body: Mapping[str, Any], sleep: Callable[[float], None] = time.sleep) -> None:
    """PUT the response to CloudFormation's presigned URL, with a few retries."""
    payload = json.dumps(body).encode()
    for attempt in range(1, PUT_ATTEMPTS + 1):
        request = urllib.request.Request(
            url, data=payload, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(payload))}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
            return
        except OSError as error:
            log("response_not_sent", attempt=attempt, error=f"{type(error).__name__}: {error}")
            if attempt == PUT_ATTEMPTS:
                raise
            sleep(2 * attempt)


def run(
    event: Mapping[str, Any],
    *,
    clients: Clients | None = None,
    send: Callable[[str, Mapping[str, Any]], None] = put_response,
) -> dict[str, Any]:
    """Answer one CloudFormation request: read, refuse or answer, then send the response."""
    status, reason, data = respond(event, clients)
    body = response_body(event, status, reason, data)
    log(
        "live_traffic",
        request_type=event.get("RequestType"),
        logical_id=event.get("LogicalResourceId"),
        status=status,
        reason=body["Reason"],
        data=data,
    )
    send(str(event.get("ResponseURL", "")), body)
    return body


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    return run(event)
