"""Keep the logical ids of resources that moved into a child construct.

CloudFormation knows a resource by its logical id, and CDK derives that id from the
construct path. Splitting one construct into several (a load balancer construct, a task
definition construct, ...) adds a path segment, which would give every moved resource a new
logical id: CloudFormation would create a new load balancer, new target groups and a new
service, and delete the old ones, in every account already deployed. ``FoldedIds`` gives the
resources under the named child constructs the ids they would have without that segment.

The id is computed as aws-cdk-lib computes it (``makeUniqueId`` in core/lib/private/uniqueid.ts:
the path's components without ``Default``; a human part without ``Resource`` and repeated
components; an MD5 hash of the path). tests/architecture/test_logical_ids.py proves the
function gives every other resource of the app the id CDK gave it.
"""

from __future__ import annotations

import hashlib
import re

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

HIDDEN_ID = "Default"
HIDDEN_FROM_HUMAN_ID = "Resource"
HASH_LENGTH = 8
MAX_HUMAN_LENGTH = 240
MAX_ID_LENGTH = 255


def unique_id(components: list[str]) -> str:
    """The logical id aws-cdk-lib gives a resource at this path (components below the stack)."""
    components = [component for component in components if component != HIDDEN_ID]
    if not components:
        raise ValueError("a logical id needs at least one path component")
    if len(components) == 1:
        candidate = _alphanumeric(components[0])
        if len(candidate) <= MAX_ID_LENGTH:
            return candidate
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()
    human = "".join(
        _alphanumeric(component) for component in _without_repeats(components) if component != HIDDEN_FROM_HUMAN_ID
    )
    return human[:MAX_HUMAN_LENGTH] + digest[:HASH_LENGTH].upper()


def path_below_stack(node: IConstruct) -> list[str]:
    scopes = node.node.scopes
    stack = cdk.Stack.of(node)
    return [scope.node.id for scope in scopes[scopes.index(stack) + 1 :]]


def _alphanumeric(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", value)


def _without_repeats(components: list[str]) -> list[str]:
    kept: list[str] = []
    for component in components:
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    return kept


@jsii.implements(cdk.IAspect)
class FoldedIds:
    """Give every CloudFormation element under ``folded`` the id it would have without that construct.

    Add it to the construct that holds the folded ones, once they exist
    (``cdk.Aspects.of(parent).add(...)``); it runs before the template is written. It also
    mends the ids CDK derives from another construct's unique id: a security-group rule
    between two groups is named after its peer (``from <peer unique id>:<port>``), so a peer
    that moved would rename, and so replace, the rule. Two elements that fold onto the same id
    fail the synth with both paths, rather than one silently replacing the other.
    """

    def __init__(self, *folded: IConstruct) -> None:
        # Paths, not construct objects: the aspect visits every construct below its scope, and
        # every call across jsii costs a round trip to Node. A path is one string per element.
        self._folded = folded
        self._folded_paths = frozenset(construct.node.path for construct in folded)
        # The ids are computed from paths that start at the stack: a stack inside a Stage or a
        # nested stack would give other ids, so such a use fails here instead of renaming resources.
        for construct in folded:
            stack = cdk.Stack.of(construct)
            if stack.nested_stack_parent is not None or stack.node.scope is not construct.node.root:
                raise ValueError(f"{construct.node.path}: FoldedIds needs a stack that is a direct child of the App")
        self._claimed: dict[str, str] = {}
        self._renamed: dict[str, str] | None = None

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnElement):
            return
        path = node.node.path
        components = path.split("/")
        kept = [self._mend(component) for component in self._without_folded(components)[1:]]
        logical_id = unique_id(kept)
        claimed_by = self._claimed.setdefault(logical_id, path)
        if claimed_by != path:
            raise ValueError(f"{path} and {claimed_by} both fold onto the logical id {logical_id}")
        # unique_id of the path below the stack is the id CDK allocates (tests/architecture/test_logical_ids.py).
        if logical_id != unique_id(components[1:]):
            node.override_logical_id(logical_id)

    def _without_folded(self, components: list[str]) -> list[str]:
        """The ids from the stack down, without the folded constructs (the stack is a top-level child)."""
        return [
            component
            for depth, component in enumerate(components)
            if "/".join(components[: depth + 1]) not in self._folded_paths
        ]

    def _mend(self, component: str) -> str:
        if self._renamed is None:
            # A construct's unique id (cdk.Names.unique_id) is unique_id of its whole path. Only a
            # security group lends its unique id to other elements' ids (the rules of its peers),
            # so only those are looked up: each lookup is a round trip across jsii.
            self._renamed = {}
            for folded in self._folded:
                for child in folded.node.find_all():
                    if isinstance(child, ec2.SecurityGroup) and child is not folded:
                        child_path = child.node.path.split("/")
                        self._renamed[unique_id(child_path)] = unique_id(self._without_folded(child_path))
        for current, legacy in self._renamed.items():
            if current in component:
                component = component.replace(current, legacy)
        return component
