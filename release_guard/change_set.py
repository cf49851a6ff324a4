"""What a CloudFormation change set says it will do, resource by resource: CloudFormation's own replacement report.

``DescribeChangeSet`` answers, for every resource the change set touches, a ``ResourceChange``:
``Action`` (Add, Modify, Remove, Import, Dynamic), ``Replacement`` for a Modify (``True``,
``False`` or ``Conditional``), ``Scope`` (Properties, Metadata, CreationPolicy, UpdatePolicy,
DeletionPolicy, UpdateReplacePolicy, Tags) and ``Details``, one per change, whose ``Target``
names the attribute or property and says whether it ``RequiresRecreation`` (Never, Conditionally,
Always), with the ``CausingEntity`` (a parameter, a resource's logical id, ``Logical.Attribute``)
when the change is caused by another one
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html).
``Replacement`` is ``Conditional`` when a property that requires recreation changes to a value
CloudFormation only knows at execution (a ``Dynamic`` evaluation), so it counts as a replacement
here: the approver and the refusal below read it as "may be replaced", as ``cdk diff`` does.
``Action`` ``Dynamic`` means that the "exact action for the resource can't be determined" (the
ResourceChange reference above): it may be a replacement or a removal as well as an update in
place, so it counts as "may be replaced" too, and a release-held resource with that action is
refused like a ``Conditional`` one.

A change set is executed by the ``ChangeSetId`` (its ARN) that DescribeChangeSet answered, not by
its name: a name is reused, and a change set created again under it between the read and the
execution would be executed unread; the ARN names the one change set that was read.

The pipeline's infrastructure deploy (:mod:`release_guard.environment_deploy`, ``--method
change-set``) prepares each stack's change set, reads it here, and executes it only when no
resource a release controller holds by ARN (a target group, a listener or rule, the service)
would be replaced or removed. This module keeps no table of which property replaces which
resource: CloudFormation decides, from the resource's schema and the values it resolved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from release_guard.live import call
from release_guard.plan import ECS_SERVICE, LISTENER, LISTENER_RULE, TARGET_GROUP, ResourceChange

#: ``ResourceChange.Action`` -> this package's action. ``Dynamic``: "exact action for the resource can't be
#: determined" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html),
#: so it may replace or remove the resource: read as "may be replaced", like ``Replacement`` ``Conditional``.
_ACTIONS: Mapping[str, Literal["added", "removed", "modified", "replaced"]] = {
    "Add": "added",
    "Import": "added",
    "Remove": "removed",
    "Modify": "modified",
    "Dynamic": "replaced",
}
#: ``Replacement`` values that mean the resource gets a new physical id (``Conditional``: it may).
REPLACING = frozenset({"True", "Conditional"})
#: What a blue/green release controller holds by ARN or name: replacing or removing one breaks the next release.
RELEASE_HELD = frozenset({TARGET_GROUP, LISTENER, LISTENER_RULE, ECS_SERVICE})
#: A change set's ARN, DescribeChangeSet's ``ChangeSetId`` (pattern ``arn:[-a-zA-Z0-9:/]*``, API reference above).
_CHANGE_SET_ARN = re.compile(
    r"arn:aws[-a-z]*:cloudformation:[a-z0-9-]+:\d{12}:changeSet/[A-Za-z][-a-zA-Z0-9]*/[-a-zA-Z0-9]+"
)
#: A change set CloudFormation did not create because nothing changes (``Status`` FAILED with this reason).
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")


class ChangeSetError(Exception):
    """The change set is not one that can be judged or executed; the message is one line."""


@dataclass(frozen=True)
class ChangeSetReport:
    """One stack's change set: whether it changes anything, and each resource change with its causes."""

    stack: str
    name: str
    changes: tuple[ResourceChange, ...]
    #: Status FAILED because nothing changes: there is nothing to execute.
    empty: bool = False
    #: DescribeChangeSet's ``ChangeSetId``, the ARN of the change set that was read: what is executed.
    change_set_id: str = ""


def resource_change(change: Mapping[str, Any]) -> ResourceChange:
    """One ``Changes[].ResourceChange`` of DescribeChangeSet as a :class:`ResourceChange`.

    The causes are the details' targets (``Properties.Port``, ``Tags``), each with its
    ``RequiresRecreation`` when that is not ``Never`` and the ``CausingEntity`` when there is one,
    e.g. ``Properties.TaskDefinition (Always, caused by TaskDefinition)``.
    """
    action = str(change.get("Action", ""))
    if action not in _ACTIONS:
        raise ChangeSetError(f"ResourceChange.Action: expected one of {', '.join(_ACTIONS)}, got {action!r}")
    mapped = _ACTIONS[action]
    if mapped == "modified" and str(change.get("Replacement", "False")) in REPLACING:
        mapped = "replaced"
    causes: list[str] = []
    for detail in change.get("Details") or ():
        target = detail.get("Target") or {}
        where = ".".join(str(part) for part in (target.get("Attribute"), target.get("Name")) if part)
        notes = []
        recreation = target.get("RequiresRecreation")
        if recreation and recreation != "Never":
            notes.append(str(recreation))
        if detail.get("CausingEntity"):
            notes.append(f"caused by {detail['CausingEntity']}")
        elif detail.get("ChangeSource") and detail.get("ChangeSource") != "DirectModification":
            notes.append(f"caused by {detail['ChangeSource']}")
        cause = f"{where} ({', '.join(notes)})" if notes else where
        if cause and cause not in causes:
            causes.append(cause)
    if action == "Modify" and change.get("Replacement") == "Conditional":
        causes.append("Replacement Conditional")
    if action == "Dynamic":
        causes.append("Action Dynamic")
    return ResourceChange(
        str(change.get("LogicalResourceId", "")), str(change.get("ResourceType", "")), mapped, tuple(causes)
    )


def report(stack: str, name: str, pages: Sequence[Mapping[str, Any]]) -> ChangeSetReport:
    """The report of one change set from every page DescribeChangeSet answered (``NextToken``)."""
    if not pages:
        raise ChangeSetError(f"{stack}: change set {name}: DescribeChangeSet answered nothing")
    first = pages[0]
    status, reason = str(first.get("Status", "")), str(first.get("StatusReason") or "")
    if status == "FAILED" and any(text in reason for text in NO_CHANGES_REASONS):
        return ChangeSetReport(stack, name, (), empty=True)
    if status != "CREATE_COMPLETE":
        detail = f": {' '.join(reason.split())}" if reason else ""
        raise ChangeSetError(f"{stack}: change set {name} is {status or 'without a status'}{detail}")
    change_set_id = str(first.get("ChangeSetId") or "")
    if not _CHANGE_SET_ARN.fullmatch(change_set_id):
        raise ChangeSetError(
            f"{stack}: change set {name}: expected a ChangeSetId arn:<partition>:cloudformation:<region>:<account>:"
            f"changeSet/<name>/<id>, got {change_set_id!r}"
        )
    changes = tuple(
        resource_change(item["ResourceChange"])
        for page in pages
        for item in page.get("Changes") or ()
        if item.get("Type") == "Resource" and "ResourceChange" in item
    )
    return ChangeSetReport(stack, name, changes, change_set_id=change_set_id)


def describe(client: Any, stack: str, name: str) -> ChangeSetReport:
    """DescribeChangeSet of ``name`` on ``stack``, every page, as a :class:`ChangeSetReport`.

    An AWS error is one :class:`release_guard.live.AwsCallError` line naming the stack and the call.
    """
    pages: list[Mapping[str, Any]] = []
    token: str | None = None
    name_or_id = name
    while True:
        arguments: dict[str, Any] = {"StackName": stack, "ChangeSetName": name_or_id}
        if token:
            arguments["NextToken"] = token
        page = call(stack, client, "describe_change_set", **arguments)
        pages.append(page)
        # The later pages by the ARN the first one answered (ChangeSetName takes a name or an ARN:
        # API_DescribeChangeSet), so a change set recreated under the same name mid-read is never mixed in.
        name_or_id = pages[0].get("ChangeSetId") or name
        token = page.get("NextToken")
        if not token:
            return report(stack, name, pages)


def release_held_refusal(change_set: ChangeSetReport) -> str | None:
    """One line when the change set replaces or removes what a release controller holds; else None."""
    held = [
        change
        for change in change_set.changes
        if change.resource_type in RELEASE_HELD and change.action in ("replaced", "removed")
    ]
    if not held:
        return None
    what = "; ".join(change.describe() for change in held)
    return (
        f"{change_set.stack}: change set {change_set.name} {what}: the release controller holds the deployed "
        "one by ARN or name, so the next release would fail or send production to nothing; keep the properties "
        "CloudFormation replaces on as deployed, or recreate the service stack in a planned migration "
        "(the change set is left unexecuted for review)"
    )


def lines(change_set: ChangeSetReport) -> list[str]:
    """The report as the build log shows it: a summary line, then one line per resource change."""
    if change_set.empty:
        return [f"{change_set.stack}: change set {change_set.name}: no changes"]
    replaced = sum(1 for change in change_set.changes if change.action == "replaced")
    head = (
        f"{change_set.stack}: change set {change_set.name}: {len(change_set.changes)} resource change(s), "
        f"{replaced} replacement(s) (CloudFormation's Replacement True or Conditional, or Action Dynamic)"
    )
    return [head, *(f"  {change.describe()}" for change in change_set.changes)]
