"""Builds the whole app from one configuration: the only wiring between stacks lives here."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from components.compliance import EncryptionAtRestAspect, register_checks
from config import Config
from stacks.network_stack import NetworkStack


def stack_names(config: Config) -> list[str]:
    """The stacks of the app, in the order ``cdk deploy`` must create them (see docs/deploy.md)."""
    return [f"{environment.title}-Network" for environment in config.environments]


def add_network_stacks(app: cdk.App, config: Config) -> dict[str, NetworkStack]:
    """One ``<Env>-Network`` stack per target account, by environment name (``dev``, ...).

    Later stacks of an environment take ``network_stacks[environment.name].network``.
    """
    return {
        environment.name: NetworkStack(app, f"{environment.title}-Network", config=config, environment=environment)
        for environment in config.environments
    }


def build_app(app: cdk.App, config: Config) -> AwsSolutionsChecks:
    """Add every stack of the reference architectures to ``app`` and register the checks.

    ``app.py`` and the test suite both call this, so what is tested is what is deployed.
    """
    cdk.Aspects.of(app).add(EncryptionAtRestAspect())
    add_network_stacks(app, config)
    return register_checks(app)
