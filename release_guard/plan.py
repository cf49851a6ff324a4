"""Whether ``cdk deploy`` of one stack is safe after releases, and with which parameters (no AWS calls).

The forward weights of the listeners and rules are not the guard's business: the service
stack's ``LiveTraffic`` custom resource reads the live weights on every deployment and on
CloudFormation's rollback and writes them back, and it refuses a forward update while a release
is in progress (``docs/ecs-blue-green.md``, "Day 2"). So the guard
passes no ``LiveTargetGroup``/``ServiceTargetGroup`` parameter. It passes ``ImageTag`` (the live
image), and it refuses, before any stack of the deploy changes, what CloudFormation cannot apply
safely (``make deploy`` runs it under the pipeline lock of :mod:`release_guard.lock`):

- A stack that is not in a ``*_COMPLETE`` status (:func:`status_refusal`), or whose service
  is in the middle of a release (ECS deployments or CodeDeploy task sets, as ECS reports them).
- Under the CODE_DEPLOY controller, UpdateService accepts only desired count, deployment
  configuration, placement, tags options and health-check grace period
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html), and the
  CloudFormation handler sends every property on any update of the AWS::ECS::Service, so any
  change to that resource (a property, or a DependsOn a CDK upgrade adds) fails the stack update
  with "Unable to update task definition on services with a CODE_DEPLOY deployment controller"
  (https://github.com/aws/aws-cdk/issues/23564,
  https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1529,
  https://github.com/aws/aws-cdk/issues/25777).
- Changing a target group's Name, Port, Protocol, ProtocolVersion, TargetType, VpcId or
  IpAddressType replaces it ("Update requires: Replacement",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-targetgroup.html),
  with a new ARN that the deployment controller does not hold.
- Changing an AWS::ECS::TaskDefinition's properties registers a new revision, a replacement
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html),
  which changes the ``TaskDefinition`` of every service that refers to it. That is why the
  guard follows parameter changes and replacements through ``Ref``/``Fn::GetAtt``/``Fn::Sub``
  instead of comparing templates text to text: a new ``ImageTag`` value alone changes the
  service.

Every refusal is one line: ``<stack>: <LogicalId> (<ResourceType>): <what would happen>; <what to
do instead>``, or ``<stack>: <what would happen>; <what to do instead>`` when it is not about one
resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Colour = Literal["Blue", "Green"]
COLOURS: tuple[Colour, Colour] = ("Blue", "Green")
Template = Mapping[str, Any]

IMAGE_TAG = "ImageTag"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
ECS_SERVICE = "AWS::ECS::Service"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
ALARM = "AWS::CloudWatch::Alarm"
CODE_DEPLOY = "CODE_DEPLOY"

# Why a table here and CloudFormation's own report elsewhere: the pipeline's deploy reads each
# change set's Replacement (release_guard/change_set.py), but this guard decides the ImageTag that
# make deploy's change sets are then created with, so it runs before any change set exists, and the
# rehearsal runs it against moto, whose change sets carry no Replacement (moto 5.2.5's
# cloudformation.models.Change holds only the action, logical id and type). The table lists only the
# replacement properties of the five types the guard refuses on, each from its reference page.
#: "Update requires: Replacement" on the AWS::ElasticLoadBalancingV2::TargetGroup reference page.
TARGET_GROUP_REPLACEMENT_PROPERTIES = frozenset(
    {"Name", "Port", "Protocol", "ProtocolVersion", "TargetType", "VpcId", "IpAddressType"}
)
#: "Update requires: Replacement" on the reference pages of the other resources a release
#: controller holds by ARN or name (AWS::ECS::Service, AWS::ElasticLoadBalancingV2::Listener and
#: ::ListenerRule). A replaced service with a fixed ServiceName cannot be created beside the old
#: one ("You can't perform an update that causes a custom-named resource to be replaced",
#: CloudFormation user guide, aws-properties-name).
REPLACEMENT_PROPERTIES = {
    TARGET_GROUP: TARGET_GROUP_REPLACEMENT_PROPERTIES,
    ECS_SERVICE: frozenset({"Cluster", "LaunchType", "Role", "SchedulingStrategy", "ServiceName"}),
    LISTENER: frozenset({"LoadBalancerArn"}),
    LISTENER_RULE: frozenset({"ListenerArn"}),
    # createOnlyProperties of the CloudFormation resource schema: a renamed alarm is a new alarm, and
    # the deployment group or service that names it is updated with it.
    ALARM: frozenset({"AlarmName"}),
}
#: Statuses the CDK CLI treats as "no stack yet": it deletes a stack whose creation failed
#: (ROLLBACK_COMPLETE, ROLLBACK_FAILED) before creating it again, and a stack in
#: REVIEW_IN_PROGRESS only holds an unexecuted change set (aws-cdk CLI, deploy-stack:
#: ``StackStatus.isCreationFailure`` and the REVIEW_IN_PROGRESS checks, https://github.com/aws/aws-cdk-cli).
FIRST_DEPLOY_STATUSES = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"})
_ATTRIBUTES = ("DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy")
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([A-Za-z0-9_:]+)(?:\.[A-Za-z0-9_.]+)?\}")


class GuardError(Exception):
    """An input (template, assembly, live answer) is not what the guard can judge. The message is one line."""


# -- live state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveState:
    """What is running now in one service stack, as :func:`release_guard.live.read_live_state` reads it.

    ``release_in_progress`` is true while ECS has more than one deployment or one not COMPLETED,
    or (CODE_DEPLOY) a task set other than the PRIMARY one; ``release_detail`` says which.
    ``stack_parameters`` are the parameter values the stack was last deployed with.
    """

    stack_status: str
    controller: str
    release_in_progress: bool
    live_image_tag: str
    release_detail: str = ""
    stack_parameters: Mapping[str, str] = field(default_factory=dict)


# -- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deploy:
    """``cdk deploy`` may run with these parameters. ``changes`` are one-line descriptions of the
    resource changes it makes (notes, prefixed ``note:``, come last); ``line`` is the summary."""

    parameters: dict[str, str]
    changes: tuple[str, ...]
    line: str


@dataclass(frozen=True)
class Refuse:
    """``cdk deploy`` must not run; ``line`` says what would happen and what to do instead."""

    line: str


Decision = Deploy | Refuse


# -- template reading -------------------------------------------------------------------------


def is_service_stack(template: Template) -> bool:
    """A service stack declares the ImageTag parameter; other stacks pass through."""
    return IMAGE_TAG in (template.get("Parameters") or {})


def resources(template: Template) -> Mapping[str, Mapping[str, Any]]:
    value = template.get("Resources") or {}
    return value if isinstance(value, Mapping) else {}


def colour_target_groups(stack: str, template: Template, *, source: str = "template") -> dict[Colour, str]:
    """Logical id of the target group whose Metadata is ``{"Release": {"Colour": <colour>}}``, per colour.

    The guard only names the colour in a refusal when the metadata is there; the rehearsal
    (``tools/rehearsal/day2.py``) reads the groups through this function.
    """
    found: dict[Colour, list[str]] = {colour: [] for colour in COLOURS}
    for logical_id, resource in resources(template).items():
        if resource.get("Type") != TARGET_GROUP:
            continue
        release = (resource.get("Metadata") or {}).get("Release") or {}
        colour = release.get("Colour") if isinstance(release, Mapping) else None
        if colour in found:
            found[colour].append(logical_id)
    result: dict[Colour, str] = {}
    for colour, ids in found.items():
        if len(ids) != 1:
            raise GuardError(
                f"{stack}: {source} Resources: expected one {TARGET_GROUP} with Metadata Release.Colour "
                f"{colour}, found {len(ids)}{' (' + ', '.join(sorted(ids)) + ')' if ids else ''}"
            )
        result[colour] = ids[0]
    return result


def service_resource(stack: str, template: Template, *, source: str = "template") -> str:
    """The logical id of the one AWS::ECS::Service of a service stack."""
    ids = sorted(lid for lid, resource in resources(template).items() if resource.get("Type") == ECS_SERVICE)
    if len(ids) != 1:
        raise GuardError(f"{stack}: {source} Resources: expected one {ECS_SERVICE}, found {len(ids)}")
    return ids[0]


def check_contract(stack: str, template: Template) -> None:
    """A service stack has the ImageTag parameter and one AWS::ECS::Service.

    The forward weights are the ``LiveTraffic`` resource's (no ``LiveTargetGroup`` or
    ``ServiceTargetGroup`` parameter), and no colour metadata is required.
    """
    if IMAGE_TAG not in (template.get("Parameters") or {}):
        raise GuardError(f"{stack}: template Parameters: expected {IMAGE_TAG}, which is missing")
    service_resource(stack, template)


def _colours(stack: str, template: Template) -> dict[Colour, str]:
    """The colour target groups when the template marks them, else none (they only name a refusal)."""
    try:
        return colour_target_groups(stack, template)
    except GuardError:
        return {}


def references(value: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The names a template value refers to (Ref, Fn::GetAtt, Fn::Sub) and the conditions it uses (Fn::If)."""
    names: set[str] = set()
    conditions: set[str] = set()
    _walk(value, names, conditions)
    return frozenset(names), frozenset(conditions)


def _walk(value: Any, names: set[str], conditions: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, names, conditions)
        return
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        if key == "Ref" and isinstance(item, str):
            names.add(item)
        elif key == "Fn::GetAtt" and isinstance(item, str):
            names.add(item.split(".", 1)[0])
        elif key == "Fn::GetAtt" and isinstance(item, list) and item and isinstance(item[0], str):
            names.add(item[0])
            _walk(item[1:], names, conditions)
        elif key == "Fn::Sub":
            variables: Any
            if isinstance(item, str):
                text, variables = item, {}
            else:
                text, variables = item[0], item[1] if len(item) > 1 else {}
            names.update(name for name in _SUB_VARIABLE.findall(str(text)) if name not in variables)
            _walk(variables, names, conditions)
        elif key == "Fn::If" and isinstance(item, list) and item and isinstance(item[0], str):
            conditions.add(item[0])
            _walk(item[1:], names, conditions)
        elif key == "Condition" and isinstance(item, str):
            conditions.add(item)
        else:
            _walk(item, names, conditions)


def condition_parameters(template: Template) -> dict[str, frozenset[str]]:
    """For each condition of the template, every name it depends on, through the conditions it uses."""
    direct = {name: references(body) for name, body in (template.get("Conditions") or {}).items()}
    resolved = {name: set(refs[0]) for name, refs in direct.items()}
    changed = True
    while changed:
        changed = False
        for name, (_, used) in direct.items():
            for other in used:
                extra = resolved.get(other, set()) - resolved[name]
                if extra:
                    resolved[name] |= extra
                    changed = True
    return {name: frozenset(values) for name, values in resolved.items()}


# -- the resource diff ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    """One resource that ``cdk deploy`` would add, remove, modify in place or replace, and why."""

    logical_id: str
    resource_type: str
    action: Literal["added", "removed", "modified", "replaced"]
    causes: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.logical_id} ({self.resource_type})"

    def describe(self) -> str:
        causes = f": {', '.join(self.causes)}" if self.causes else ""
        return f"{self.action} {self.subject}{causes}"


def _normalise(attribute: str, value: Any) -> Any:
    if attribute == "DependsOn":
        if value is None:
            return []
        return sorted([value] if isinstance(value, str) else value)
    return value


def _is_replaced(resource_type: str, type_changed: bool, properties: set[str]) -> bool:
    if type_changed:
        return True
    if resource_type in REPLACEMENT_PROPERTIES:
        return bool(properties & REPLACEMENT_PROPERTIES[resource_type])
    if resource_type == TASK_DEFINITION:
        return bool(properties - {"Tags"})
    return False


def diff_resources(
    deployed: Template,
    synthesized: Template,
    *,
    parameter_changes: Mapping[str, tuple[str | None, str]] | None = None,
) -> tuple[ResourceChange, ...]:
    """What a stack update from ``deployed`` to ``synthesized`` changes, by logical id.

    Compared: Properties (by top-level key), DependsOn (as a sorted list), Condition,
    DeletionPolicy and UpdateReplacePolicy; Metadata is ignored. A property whose expression is
    unchanged still changes when it refers to a parameter in ``parameter_changes`` (name → old
    and new value), to a condition that depends on one, or to a resource that is replaced. Target
    groups whose replacement properties change, task definitions whose properties change and
    resources whose Type changes are "replaced". An in-place change of a referenced resource is
    not followed (its Ref is unchanged; a GetAtt of it could change, which the guard does not
    model).
    """
    changed_parameters = dict(parameter_changes or {})
    depends = condition_parameters(synthesized)
    old_resources, new_resources = resources(deployed), resources(synthesized)

    def parameter_cause(names: frozenset[str], conditions: frozenset[str]) -> str | None:
        hits = sorted(
            name
            for name in changed_parameters
            if name in names or any(name in depends.get(condition, frozenset()) for condition in conditions)
        )
        if not hits:
            return None
        return ", ".join(
            f"parameter {name} {changed_parameters[name][0] or '(unset)'} -> {changed_parameters[name][1]}"
            for name in hits
        )

    common = sorted(set(old_resources) & set(new_resources))
    property_causes: dict[str, dict[str, str]] = {}
    attribute_causes: dict[str, dict[str, str]] = {}
    property_references: dict[str, dict[str, frozenset[str]]] = {}
    type_changed: dict[str, bool] = {}
    for logical_id in common:
        old, new = old_resources[logical_id], new_resources[logical_id]
        old_properties, new_properties = old.get("Properties") or {}, new.get("Properties") or {}
        causes: dict[str, str] = {}
        property_references[logical_id] = {}
        for key in sorted(set(old_properties) | set(new_properties)):
            names, conditions = references(new_properties.get(key))
            property_references[logical_id][key] = names
            if old_properties.get(key) != new_properties.get(key):
                causes[key] = ""
            elif (cause := parameter_cause(names, conditions)) is not None:
                causes[key] = cause
        attributes: dict[str, str] = {}
        for attribute in _ATTRIBUTES:
            if _normalise(attribute, old.get(attribute)) != _normalise(attribute, new.get(attribute)):
                attributes[attribute] = ""
        condition = new.get("Condition")
        if "Condition" not in attributes and isinstance(condition, str):
            cause = parameter_cause(frozenset(), frozenset({condition}))
            if cause is not None:
                attributes["Condition"] = cause
        property_causes[logical_id], attribute_causes[logical_id] = causes, attributes
        type_changed[logical_id] = old.get("Type") != new.get("Type")

    def replaced_now(logical_id: str) -> bool:
        resource_type = str(new_resources[logical_id].get("Type"))
        return _is_replaced(resource_type, type_changed[logical_id], set(property_causes[logical_id]))

    replaced = {logical_id for logical_id in common if replaced_now(logical_id)}
    growing = True
    while growing:
        growing = False
        for logical_id in common:
            for key, names in property_references[logical_id].items():
                hits = sorted(names & replaced)
                if hits and key not in property_causes[logical_id]:
                    property_causes[logical_id][key] = f"{hits[0]} is replaced"
                    growing = True
            if logical_id not in replaced and replaced_now(logical_id):
                replaced.add(logical_id)
                growing = True

    changes: list[ResourceChange] = []
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        if logical_id not in new_resources:
            changes.append(ResourceChange(logical_id, str(old_resources[logical_id].get("Type")), "removed"))
            continue
        resource_type = str(new_resources[logical_id].get("Type"))
        if logical_id not in old_resources:
            changes.append(ResourceChange(logical_id, resource_type, "added"))
            continue
        rendered = (["Type"] if type_changed[logical_id] else []) + [
            f"{key} ({cause})" if cause else key
            for key, cause in [*property_causes[logical_id].items(), *attribute_causes[logical_id].items()]
        ]
        if rendered:
            action: Literal["modified", "replaced"] = "replaced" if logical_id in replaced else "modified"
            changes.append(ResourceChange(logical_id, resource_type, action, tuple(rendered)))
    return tuple(changes)


# -- the decision -----------------------------------------------------------------------------


def _count(changes: tuple[ResourceChange, ...]) -> str:
    if not changes:
        return "no changes"
    return "1 change" if len(changes) == 1 else f"{len(changes)} changes"


def status_refusal(stack: str, status: str) -> Refuse | None:
    """A refusal when CloudFormation would not accept (or would compound) an update in this status.

    UPDATE_ROLLBACK_FAILED is left with ContinueUpdateRollback
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html).
    """
    if status in FIRST_DEPLOY_STATUSES or status.endswith("_COMPLETE"):
        return None
    if status.endswith("_IN_PROGRESS"):
        return Refuse(
            f"{stack}: stack status is {status}: another CloudFormation operation is running and would reject "
            "this update; wait until the stack reaches a *_COMPLETE status, then run the guard again"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        return Refuse(
            f"{stack}: stack status is {status}: CloudFormation accepts no update until the rollback is finished; "
            "continue the rollback (aws cloudformation continue-update-rollback) until UPDATE_ROLLBACK_COMPLETE, "
            "then run the guard again"
        )
    return Refuse(
        f"{stack}: stack status is {status}, not a *_COMPLETE status, so the update would fail; "
        "resolve the stack in CloudFormation first, then run the guard again"
    )


def _first_deploy(stack: str, synthesized: Template, requested_image_tag: str | None) -> Deploy:
    changes = tuple(
        ResourceChange(logical_id, str(resource.get("Type")), "added")
        for logical_id, resource in sorted(resources(synthesized).items())
    )
    parameters = {IMAGE_TAG: requested_image_tag} if requested_image_tag else {}
    image = f", image {requested_image_tag}" if requested_image_tag else ""
    return Deploy(
        parameters=parameters,
        changes=tuple(change.describe() for change in changes),
        line=f"{stack}: deploy: first deployment, template defaults{image}; {_count(changes)}",
    )


def plan(
    stack: str,
    deployed: Template | None,
    synthesized: Template,
    live: LiveState | None,
    requested_image_tag: str | None = None,
) -> Decision:
    """Deploy (with the ``ImageTag`` that keeps the live image) or Refuse, for one stack.

    ``deployed`` is None when the stack does not exist yet; ``live`` may then be None too. A
    stack without the ImageTag parameter passes through untouched. On a first deployment the
    template defaults apply (and ``requested_image_tag``, when given).

    Under CODE_DEPLOY the running image comes from CodeDeploy's own task definition revision,
    and a new ``ImageTag`` value would replace the stack's task definition and so change the
    service, which that controller rejects. When keeping the deployed ``ImageTag`` leaves the
    service unchanged, the guard keeps it (and says so) rather than refuse.
    """
    if not is_service_stack(synthesized):
        return Deploy({}, (), f"{stack}: deploy: not a service stack (no {IMAGE_TAG} parameter), passed through")
    check_contract(stack, synthesized)
    if deployed is None or (live is not None and live.stack_status in FIRST_DEPLOY_STATUSES):
        return _first_deploy(stack, synthesized, requested_image_tag)
    if live is None:
        raise ValueError(f"{stack}: a deployed service stack needs its live state")
    refusal = status_refusal(stack, live.stack_status)
    if refusal is not None:
        return refusal
    service = service_resource(stack, deployed, source="deployed template")
    if live.release_in_progress:
        detail = f" ({live.release_detail})" if live.release_detail else ""
        return Refuse(
            f"{stack}: {service} ({ECS_SERVICE}): a release is in progress{detail}, and a stack update must not "
            "interleave with it (the stack's LiveTraffic resource would refuse it partway through the deploy); "
            "wait until the release completes or rolls back, then run make deploy again"
        )
    if requested_image_tag is not None and requested_image_tag != live.live_image_tag:
        return Refuse(
            f"{stack}: {IMAGE_TAG}: --image-tag {requested_image_tag} differs from the live image "
            f"{live.live_image_tag}, and a deploy would change the running image outside the pipeline; leave out "
            "--image-tag (the guard keeps the live image): images are released by the pipeline"
        )

    parameters = {IMAGE_TAG: live.live_image_tag}
    changes = _changes(deployed, synthesized, live, parameters)
    notes: list[str] = []
    colours = _colours(stack, deployed)
    for change in changes:
        refusal = _target_group_refusal(stack, change, live.controller, colours) or _replacement_refusal(
            stack, change, live.controller
        )
        if refusal is not None:
            return refusal
    service_change = _find(changes, service)
    if service_change is not None and service_change.action == "removed":
        return Refuse(
            f"{stack}: {service_change.subject}: the update would delete the running service; keep the service in "
            "the template under its logical id (cdk destroy removes an environment on purpose)"
        )
    kept_image = ""
    if live.controller == CODE_DEPLOY and service_change is not None:
        deployed_tag = live.stack_parameters.get(IMAGE_TAG)
        if deployed_tag and deployed_tag != live.live_image_tag:
            kept = {IMAGE_TAG: deployed_tag}
            kept_changes = _changes(deployed, synthesized, live, kept)
            if _find(kept_changes, service) is None:
                parameters, changes, kept_image = kept, kept_changes, deployed_tag
                notes.append(
                    f"note: {IMAGE_TAG} stays {deployed_tag}: under CODE_DEPLOY the service runs "
                    f"{live.live_image_tag} from CodeDeploy's task definition revision, and a new stack revision "
                    "would change the service"
                )
                service_change = None
        if service_change is not None:
            return Refuse(
                f"{stack}: {service_change.subject}: {', '.join(service_change.causes)} would change, and "
                "CloudFormation sends every service property to UpdateService, which a CODE_DEPLOY service rejects "
                "(Unable to update task definition on services with a CODE_DEPLOY deployment controller); revert "
                "the change to the service (a DependsOn a CDK upgrade adds included), change capacity through the "
                "scalable target, and release task definition changes through CodeDeploy"
            )
    image = f"image {live.live_image_tag}"
    if kept_image:
        image += f" (CodeDeploy's revision; {IMAGE_TAG} stays {kept_image})"
    return Deploy(
        parameters=parameters,
        changes=tuple(change.describe() for change in changes) + tuple(notes),
        line=f"{stack}: deploy: {image}; {_count(changes)}",
    )


def _changes(
    deployed: Template, synthesized: Template, live: LiveState, parameters: Mapping[str, str]
) -> tuple[ResourceChange, ...]:
    parameter_changes = {
        name: (live.stack_parameters.get(name), value)
        for name, value in parameters.items()
        if live.stack_parameters.get(name) != value
    }
    return diff_resources(deployed, synthesized, parameter_changes=parameter_changes)


def _find(changes: tuple[ResourceChange, ...], logical_id: str) -> ResourceChange | None:
    return next((change for change in changes if change.logical_id == logical_id), None)


def _target_group_refusal(
    stack: str, change: ResourceChange, controller: str, colours: Mapping[Colour, str]
) -> Refuse | None:
    if change.resource_type != TARGET_GROUP or change.action not in ("removed", "replaced"):
        return None
    colour = next((f" {c}" for c, logical_id in colours.items() if logical_id == change.logical_id), "")
    if change.action == "removed":
        return Refuse(
            f"{stack}: {change.subject}: the update would delete the{colour} target group, which the {controller} "
            "deployment controller routes releases to; keep both Release target groups in the template under "
            "their logical ids"
        )
    changed = [cause.split(" ", 1)[0] for cause in change.causes]
    return Refuse(
        f"{stack}: {change.subject}: {', '.join(changed)} would change, which replaces the{colour} target group "
        f"with a new ARN that the {controller} deployment controller does not hold; keep "
        f"{', '.join(sorted(TARGET_GROUP_REPLACEMENT_PROPERTIES))} as deployed, or move to a new target group "
        "pair in a planned migration"
    )


def _replacement_refusal(stack: str, change: ResourceChange, controller: str) -> Refuse | None:
    """A replaced service, listener or rule: the controller holds the old one by ARN or name."""
    if change.action != "replaced" or change.resource_type not in (ECS_SERVICE, LISTENER, LISTENER_RULE):
        return None
    changed = [cause.split(" ", 1)[0] for cause in change.causes]
    return Refuse(
        f"{stack}: {change.subject}: {', '.join(changed) or 'its type'} would change, which replaces it, and the "
        f"{controller} deployment controller holds the deployed one; keep "
        f"{', '.join(sorted(REPLACEMENT_PROPERTIES.get(change.resource_type, frozenset())))} as deployed, or "
        "recreate the service stack in a planned migration"
    )
