"""Builds the whole app from one configuration: the only wiring between stacks lives here."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from components.compliance import EncryptionAtRestAspect, register_checks
from config import Config
from stacks.network_stack import NetworkStack
from stacks.service_stack import ServiceStack


def stack_names(config: Config) -> list[str]:
    """The stacks of the app, in the order ``cdk deploy`` must create them (see docs/deploy.md)."""
    names = []
    for environment in config.environments:
        names += [f"{environment.title}-Network", f"{environment.title}-Service"]
    return names


def add_network_stacks(app: cdk.App, config: Config) -> dict[str, NetworkStack]:
    """One ``<Env>-Network`` stack per target account, by environment name (``dev``, ...).

    Later stacks of an environment take ``network_stacks[environment.name].network``.
    """
    return {
        environment.name: NetworkStack(app, f"{environment.title}-Network", config=config, environment=environment)
        for environment in config.environments
    }


def add_service_stacks(
    app: cdk.App, config: Config, network_stacks: dict[str, NetworkStack]
) -> dict[str, ServiceStack]:
    """One ``<Env>-Service`` stack per target account, on that account's network."""
    service_stacks = {}
    for environment in config.environments:
        network_stack = network_stacks[environment.name]
        stack = ServiceStack(
            app,
            f"{environment.title}-Service",
            config=config,
            environment=environment,
            network=network_stack.network,
        )
        stack.add_stack_dependency(network_stack, "it runs on this environment's VPC")
        service_stacks[environment.name] = stack
    return service_stacks


def build_app(app: cdk.App, config: Config) -> AwsSolutionsChecks:
    """Add every stack of the reference architectures to ``app`` and register the checks.

    ``app.py`` and the test suite both call this, so what is tested is what is deployed.
    """
    cdk.Aspects.of(app).add(EncryptionAtRestAspect())
    network_stacks = add_network_stacks(app, config)
    add_service_stacks(app, config, network_stacks)
    return register_checks(app)
