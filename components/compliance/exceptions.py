"""One design exception, one reason, recorded for every gate that reports it.

The same fact often trips several gates at once: a Lambda function that needs no VPC is a
cdk-nag finding (``NIST.800.53.R5-LambdaInsideVPC``), a checkov check (``CKV_AWS_117``) and a
Control Tower control (``CT.LAMBDA.PR.3``). :func:`exempt` records the one reason with each of
them, through the gate's own helper, so the reason is written once and each gate's bar for it
(a granular rule id, one check id, a full sentence) still applies::

    exempt(function, reason, nag=["NIST.800.53.R5-LambdaInsideVPC"], checkov_checks=["CKV_AWS_117"],
           control_tower_controls=["CT.LAMBDA.PR.3"])
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import IConstruct

from components.compliance import checkov, control_tower
from components.compliance.nag import acknowledge_each, check_acknowledgement


def exempt(
    scope: IConstruct,
    reason: str,
    *,
    nag: Sequence[str] = (),
    checkov_checks: Sequence[str] = (),
    control_tower_controls: Sequence[str] = (),
) -> None:
    """Acknowledge the nag findings and skip the checkov checks and Control Tower controls on ``scope``."""
    if not (nag or checkov_checks or control_tower_controls):
        raise ValueError(f"{scope.node.path}: exempt needs at least one nag rule, checkov check or control")
    # Every id and the reason are checked against their gate's rules before anything is recorded, so a
    # bad id or reason leaves no half exception (an id already skipped on the resource is refused when
    # it is recorded).
    for rule_id in nag:
        check_acknowledgement(rule_id, reason)
    for check_id in checkov_checks:
        checkov.check_skip(check_id, reason)
    for control_id in control_tower_controls:
        control_tower.check_skip(control_id, reason)
    acknowledge_each(scope, [(rule_id, reason) for rule_id in nag])
    for check_id in checkov_checks:
        checkov.skip(scope, check_id, reason)
    for control_id in control_tower_controls:
        control_tower.skip(scope, control_id, reason)
