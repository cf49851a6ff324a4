"""The one place that registers the cdk-nag packs and acknowledges their findings.

``app.py`` and the tests both call :func:`register_checks`, so ``make synth`` and the nag
gate test check exactly the same thing. Findings are acknowledged only through
:func:`acknowledge`, which refuses vague reasons and rule ids that are not granular enough
to review.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

#: With this context key set, :func:`acknowledge` records nothing. The nag hygiene test
#: builds the app that way to prove every acknowledgement still matches a real finding.
ACKNOWLEDGEMENTS_OFF_CONTEXT = "nag:acknowledgements-off"

# A rule id, optionally with the finding cdk-nag reports for it: AwsSolutions-IAM5[Resource::*].
RULE_ID = re.compile(r"[A-Za-z0-9]+-[A-Za-z0-9]+(\[[^\]]+\])?")
# Rules whose findings are reported per action or resource: acknowledge the finding, not the rule.
GRANULAR_RULES = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")
MIN_REASON_WORDS = 8


def register_checks(app: cdk.App) -> AwsSolutionsChecks:
    """Register the AwsSolutions pack on ``app``; an unacknowledged finding fails synth.

    With acknowledgements off (a test-only mode) the pack is returned but not registered,
    so that the test can list every finding with ``pack.validate_scope(app)``.
    """
    pack = AwsSolutionsChecks(app, verbose=True)
    if not app.node.try_get_context(ACKNOWLEDGEMENTS_OFF_CONTEXT):
        cdk.Validations.of(app).add_plugins(pack)
    return pack


def check_acknowledgement(rule_id: str, reason: str) -> None:
    """Raise ValueError unless the id is granular and the reason is a full sentence."""
    if not RULE_ID.fullmatch(rule_id):
        raise ValueError(f"nag acknowledgement {rule_id!r}: expected a rule id such as 'AwsSolutions-S1'")
    if rule_id.startswith(GRANULAR_RULES) and "[" not in rule_id:
        raise ValueError(f"nag acknowledgement {rule_id!r}: name the finding, e.g. {rule_id}[Resource::*]")
    words = reason.split()
    if len(words) < MIN_REASON_WORDS or not reason[0].isupper() or not reason.rstrip().endswith("."):
        raise ValueError(
            f"nag acknowledgement {rule_id!r}: the reason must be at least one full sentence "
            f"({MIN_REASON_WORDS}+ words, capitalized, ending with a period) saying why it is acceptable here"
        )


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on the narrowest construct that causes it."""
    check_acknowledgement(rule_id, reason)
    if scope.node.try_get_context(ACKNOWLEDGEMENTS_OFF_CONTEXT):
        return
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


#: aws-cdk-lib acknowledges findings of its own CloudFormation validation rules by itself (for
#: example W3010 on every stack that reads ``availability_zones``, F3002/F3003 on every flow log).
#: Those are not the project's acknowledgements, and no nag pack reports them.
CDK_BUILT_IN_RULES = "CloudFormation-Validate::"


def acknowledgements(root: IConstruct) -> list[tuple[str, str, str]]:
    """Every acknowledgement made through :func:`acknowledge` below ``root`` as (construct path, rule id, reason)."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key and entry.data:
                for rule_id, reason in dict(entry.data).items():
                    if rule_id.startswith(CDK_BUILT_IN_RULES):
                        continue
                    found.append((construct.node.path, re.sub(r"^annotation::", "", rule_id, flags=re.I), reason))
    return found
