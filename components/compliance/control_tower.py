"""Resource-level exceptions to AWS Control Tower proactive controls, for the make scan gate.

The gate (scanners/control_tower.py) runs the controls' cfn-guard rules over every template and
applies the exceptions written into a resource's Metadata::

    "Metadata": {"control-tower": {"skip": [{"id": "CT.S3.PR.2", "comment": "<why it is acceptable here>"}]}}

:func:`skip` is the only way the project writes that Metadata. Like the checkov and cdk-nag
helpers, it refuses vague reasons and an id that is not one control. An account whose Control
Tower enables such a control as a hook still refuses the resource: an exception here records a
design decision for the review, it does not switch the control off in AWS.
"""

from __future__ import annotations

import re

from constructs import IConstruct

from components.compliance.metadata import record_skip
from components.compliance.nag import require_full_sentence

METADATA_KEY = "control-tower"
CONTROL_ID = re.compile(r"CT\.[A-Z0-9]+\.PR\.\d+")


def check_skip(control_id: str, reason: str) -> None:
    """Raise ValueError unless the id is one proactive control and the reason is a full sentence."""
    if not CONTROL_ID.fullmatch(control_id):
        raise ValueError(f"Control Tower skip {control_id!r}: expected one control id such as 'CT.S3.PR.2'")
    require_full_sentence(f"Control Tower skip {control_id!r}", reason)


def skip(scope: IConstruct, control_id: str, reason: str) -> None:
    """Except the one CloudFormation resource of ``scope`` from one proactive control."""
    check_skip(control_id, reason)
    record_skip(scope, METADATA_KEY, control_id, reason, scanner="Control Tower control")
