"""The one place that registers the cdk-nag packs and acknowledges their findings.

Two packs check every stack: AwsSolutions (AWS's own best practices) and NIST 800-53 rev 5
(the controls many regulated platform teams are audited against). ``app.py`` and the tests
both call :func:`register_checks`, so ``make synth`` and the nag gate test check exactly the
same thing. Findings are acknowledged only through
:func:`acknowledge`, which refuses vague reasons and rule ids that are not granular enough
to review.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct

#: With this context key set, :func:`acknowledge` records nothing. The nag hygiene test
#: builds the app that way to prove every acknowledgement still matches a real finding.
ACKNOWLEDGEMENTS_OFF_CONTEXT = "nag:acknowledgements-off"

# A rule id, optionally with the finding cdk-nag reports for it: AwsSolutions-IAM5[Resource::*].
RULE_ID = re.compile(r"[A-Za-z0-9.]+-[A-Za-z0-9]+(\[[^\]]+\])?")
# Rules whose findings are reported per action or resource: acknowledge the finding, not the rule.
GRANULAR_RULES = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")
MIN_REASON_WORDS = 8


def register_checks(app: cdk.App) -> tuple[NagPack, ...]:
    """Register the AwsSolutions and NIST 800-53 rev 5 packs on ``app``; an unacknowledged finding fails synth.

    With acknowledgements off (a test-only mode) the packs are returned but not registered,
    so that the test can list every finding with :func:`findings`.
    """
    packs: tuple[NagPack, ...] = (AwsSolutionsChecks(app, verbose=True), NIST80053R5Checks(app, verbose=True))
    if not app.node.try_get_context(ACKNOWLEDGEMENTS_OFF_CONTEXT):
        cdk.Validations.of(app).add_plugins(*packs)
    return packs


def findings(packs: tuple[NagPack, ...], scope: IConstruct) -> set[tuple[str, str]]:
    """Every finding of ``packs`` below ``scope`` that is not acknowledged, as (rule id, construct path)."""
    return {
        (violation.rule_name, str(resource.construct_path))
        for pack in packs
        for violation in pack.validate_scope(scope).violations
        for resource in violation.violating_resources
    }


def check_acknowledgement(rule_id: str, reason: str) -> None:
    """Raise ValueError unless the id is granular and the reason is a full sentence."""
    if not RULE_ID.fullmatch(rule_id):
        raise ValueError(f"nag acknowledgement {rule_id!r}: expected a rule id such as 'AwsSolutions-S1'")
    if rule_id.startswith(GRANULAR_RULES) and "[" not in rule_id:
        raise ValueError(f"nag acknowledgement {rule_id!r}: name the finding, e.g. {rule_id}[Resource::*]")
    require_full_sentence(f"nag acknowledgement {rule_id!r}", reason)


def require_full_sentence(what: str, reason: str) -> None:
    """Raise ValueError naming ``what`` unless ``reason`` is at least one full sentence.

    The same bar for every exception the project makes: cdk-nag acknowledgements, checkov
    skips and cfn-lint ignores.
    """
    words = reason.split()
    if len(words) < MIN_REASON_WORDS or not reason[0].isupper() or not reason.rstrip().endswith("."):
        raise ValueError(
            f"{what}: the reason must be at least one full sentence "
            f"({MIN_REASON_WORDS}+ words, capitalized, ending with a period) saying why it is acceptable here"
        )


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on the narrowest construct that causes it."""
    acknowledge_each(scope, [(rule_id, reason)])


def acknowledge_each(scope: IConstruct, findings: Sequence[tuple[str, str]]) -> None:
    """Acknowledge several findings, each (rule id, reason), on one construct, in one call to CDK.

    The same as :func:`acknowledge` for each; one call instead of several, because each call
    from Python to aws-cdk-lib is a round trip to its Node process (``make bench`` times synth).
    """
    for rule_id, reason in findings:
        check_acknowledgement(rule_id, reason)
    if not findings or scope.node.try_get_context(ACKNOWLEDGEMENTS_OFF_CONTEXT):
        return
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=rule_id, reason=reason) for rule_id, reason in findings)
    )


#: Why a role's grants may stay inline (NIST.800.53.R5-IAMNoInlinePolicy): true of every role the CDK grants to.
INLINE_POLICY_REASON = (
    "The grants of this role are written for it alone, in a policy created, changed and deleted together "
    "with the role and attached to nothing else; a customer managed policy could be attached to other "
    "roles and would widen access rather than narrow it."
)


def acknowledge_inline_policies(role: IConstruct) -> None:
    """Acknowledge NIST.800.53.R5-IAMNoInlinePolicy on a role (its inline and default policies) or on one policy."""
    acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)


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
                found.extend(_acknowledged(construct.node.path, dict(entry.data)))
    return found


def synthesized_acknowledgements(metadata: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[str, str, str]]:
    """The same as :func:`acknowledgements`, read from a synthesized stack's construct metadata.

    CDK writes the metadata of every construct of a stack into the cloud assembly
    (``stacks.assembly.AssemblyStack.metadata``: ``/path`` to its entries), acknowledgements
    included. Reading them there costs no call to aws-cdk-lib; walking the construct tree costs
    two or more per construct (about 1.5 s for the whole app: ``make bench``).
    """
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") == key and entry.get("data"):
                found.extend(_acknowledged(path.removeprefix("/"), dict(entry["data"])))
    return found


def _acknowledged(path: str, rules: Mapping[str, str]) -> list[tuple[str, str, str]]:
    return [
        (path, re.sub(r"^annotation::", "", rule_id, flags=re.I), reason)
        for rule_id, reason in rules.items()
        if not rule_id.startswith(CDK_BUILT_IN_RULES)
    ]
