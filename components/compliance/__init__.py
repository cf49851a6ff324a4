"""Security as code: the cdk-nag gate, checkov and Control Tower exceptions, acknowledgements and Aspects."""

from components.compliance import control_tower
from components.compliance.checkov import skip
from components.compliance.encryption_aspect import EncryptionAtRestAspect
from components.compliance.exceptions import exempt
from components.compliance.nag import (
    ACKNOWLEDGEMENTS_OFF_CONTEXT,
    acknowledge,
    acknowledge_inline_policies,
    register_checks,
)

__all__ = [
    "ACKNOWLEDGEMENTS_OFF_CONTEXT",
    "EncryptionAtRestAspect",
    "acknowledge",
    "acknowledge_inline_policies",
    "control_tower",
    "exempt",
    "register_checks",
    "skip",
]
