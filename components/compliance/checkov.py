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

from constructs import IConstruct

from components.compliance.metadata import record_skip
from components.compliance.nag import require_full_sentence

METADATA_KEY = "checkov"
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")


def check_skip(check_id: str, reason: str) -> None:
    """Raise ValueError unless the id is one checkov check and the reason is a full sentence."""
    if not CHECK_ID.fullmatch(check_id):
        raise ValueError(f"checkov skip {check_id!r}: expected one check id such as 'CKV_AWS_18'")
    require_full_sentence(f"checkov skip {check_id!r}", reason)


def skip(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check for the one CloudFormation resource of ``scope``."""
    check_skip(check_id, reason)
    record_skip(scope, METADATA_KEY, check_id, reason, scanner="checkov check")
