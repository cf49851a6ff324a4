"""Builds the whole app from one configuration: the only wiring between stacks lives here."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from components.compliance import EncryptionAtRestAspect, register_checks
from config import Config


def stack_names(config: Config) -> list[str]:
    """The stacks of the app, in the order ``cdk deploy`` must create them (see docs/deploy.md)."""
    return []


def build_app(app: cdk.App, config: Config) -> AwsSolutionsChecks:
    """Add every stack of the reference architectures to ``app`` and register the checks.

    ``app.py`` and the test suite both call this, so what is tested is what is deployed.
    """
    cdk.Aspects.of(app).add(EncryptionAtRestAspect())
    return register_checks(app)
