"""Resource-level cfn-lint exceptions, written into the template where cfn-lint reads them.

cfn-lint ignores a rule for one resource when the resource's Metadata says so::

    "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["I3510"]}}}

The format has no place for a reason, so :func:`ignore` takes one and refuses vague reasons,
like the checkov and cdk-nag helpers: the reason lives in the code, next to the construct.
Rules that are noise for every CDK template are ignored in scanners/cfn-lint.yaml instead.
"""

from __future__ import annotations

import re

from constructs import IConstruct

from components.compliance.metadata import cfn_resource
from components.compliance.nag import require_full_sentence

METADATA_KEY = "cfn-lint"
RULE_ID = re.compile(r"[EWI]\d{4}")


def check_ignore(rule_id: str, reason: str) -> None:
    """Raise ValueError unless the id is one cfn-lint rule and the reason is a full sentence."""
    if not RULE_ID.fullmatch(rule_id):
        raise ValueError(f"cfn-lint ignore {rule_id!r}: expected one rule id such as 'I3510'")
    require_full_sentence(f"cfn-lint ignore {rule_id!r}", reason)


def ignore(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Ignore one cfn-lint rule for the one CloudFormation resource of ``scope``."""
    check_ignore(rule_id, reason)
    resource = cfn_resource(scope)
    existing = resource.get_metadata(METADATA_KEY)
    rules = list(existing["config"]["ignore_checks"]) if isinstance(existing, dict) else []
    if rule_id in rules:
        raise ValueError(f"{resource.node.path}: cfn-lint rule {rule_id} is already ignored")
    resource.add_metadata(METADATA_KEY, {"config": {"ignore_checks": [*rules, rule_id]}})
