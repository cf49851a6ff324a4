"""Security as code: the cdk-nag gate, acknowledgements and the project's own Aspects."""

from components.compliance.encryption_aspect import EncryptionAtRestAspect
from components.compliance.nag import ACKNOWLEDGEMENTS_OFF_CONTEXT, acknowledge, register_checks

__all__ = ["ACKNOWLEDGEMENTS_OFF_CONTEXT", "EncryptionAtRestAspect", "acknowledge", "register_checks"]
