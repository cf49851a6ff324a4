"""Resource-level checkov exceptions, written into the template where checkov reads them.

checkov skips a check for one resource when the resource's template Metadata says so::

    "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "<why it is acceptable here>"}]}}

:func:`skip` is the only way the project writes that Metadata. Like
:func:`components.compliance.nag.acknowledge`, it refuses vague reasons, so every exception in
the templates says why it is acceptable for this design. ``make scan`` runs checkov with no
global skip; tests/architecture/test_scanners.py lists every exception of every synthesized template.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from components.compliance.nag import require_full_sentence

METADATA_KEY = "checkov"
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")


def check_skip(check_id: str, reason: str) -> None:
    """Raise ValueError unless the id is one checkov check and the reason is a full sentence."""
    if not CHECK_ID.fullmatch(check_id):
        raise ValueError(f"checkov skip {check_id!r}: expected one check id such as 'CKV_AWS_18'")
    require_full_sentence(f"checkov skip {check_id!r}", reason)


def cfn_resource(scope: IConstruct) -> cdk.CfnResource:
    """The CloudFormation resource of ``scope``: itself, or its default child."""
    if isinstance(scope, cdk.CfnResource):
        return scope
    child = scope.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{scope.node.path}: checkov skips go on one CloudFormation resource; pass it")
    return child


def skip(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check for the one CloudFormation resource of ``scope``."""
    check_skip(check_id, reason)
    resource = cfn_resource(scope)
    existing = resource.get_metadata(METADATA_KEY)
    entries: list[dict[str, Any]] = list(existing.get("skip", [])) if isinstance(existing, dict) else []
    if any(entry["id"] == check_id for entry in entries):
        raise ValueError(f"{resource.node.path}: checkov check {check_id} is already skipped")
    entries.append({"id": check_id, "comment": reason})
    resource.add_metadata(METADATA_KEY, {"skip": entries})
