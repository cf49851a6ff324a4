"""The template Metadata that the scanners read their resource-level exceptions from.

checkov and the Control Tower gate both skip a check for one resource when its Metadata lists it
under their key: ``{"<key>": {"skip": [{"id": "<check id>", "comment": "<why>"}]}}``. Only
:func:`components.compliance.checkov.skip` and :func:`components.compliance.control_tower.skip`
call :func:`record_skip`, after they have checked the id and the reason.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import IConstruct


def cfn_resource(scope: IConstruct) -> cdk.CfnResource:
    """The CloudFormation resource of ``scope``: itself, or its default child."""
    if isinstance(scope, cdk.CfnResource):
        return scope
    child = scope.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{scope.node.path}: scanner exceptions go on one CloudFormation resource; pass it")
    return child


def record_skip(scope: IConstruct, key: str, check_id: str, reason: str, *, scanner: str) -> None:
    """Add one ``{"id", "comment"}`` entry under ``key`` of the resource's Metadata; each id once."""
    resource = cfn_resource(scope)
    existing = resource.get_metadata(key)
    entries: list[dict[str, Any]] = list(existing.get("skip", [])) if isinstance(existing, dict) else []
    if any(entry["id"] == check_id for entry in entries):
        raise ValueError(f"{resource.node.path}: {scanner} {check_id} is already skipped")
    entries.append({"id": check_id, "comment": reason})
    resource.add_metadata(key, {"skip": entries})
