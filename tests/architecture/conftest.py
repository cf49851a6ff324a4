"""Synths of configurations the committed files lack, shared by the architecture tests that read them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from config import Config

if TYPE_CHECKING:
    import aws_cdk as cdk
    from cdk_nag import NagPack

    from stacks.service_stack import ServiceStack

#: A certificate ARN of the dev account: the service stack only passes it to the listener.
DEV_CERTIFICATE = "arn:aws:acm:{region}:{account}:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


@dataclass(frozen=True)
class CertificateApp:
    """Dev's network and service stacks with a certificate configured, and the project's checks on."""

    app: cdk.App
    service: ServiceStack
    packs: tuple[NagPack, ...]
    certificate_arn: str
    template: dict[str, Any]


@pytest.fixture(scope="session")
def dev_with_a_certificate(config: Config, tmp_path_factory: pytest.TempPathFactory) -> CertificateApp:
    """One synth for every test of the HTTPS listener (the sandbox has no certificate)."""
    from components.compliance import register_checks
    from stacks.network_stack import NetworkStack
    from stacks.service_stack import ServiceStack
    from tests.support import new_app

    certificate = DEV_CERTIFICATE.format(region=config.region, account=config.accounts.dev)
    environment = dataclasses.replace(config.environment("dev"), certificate_arn=certificate)
    app = new_app(str(tmp_path_factory.mktemp("cdk.out.certificate")))
    network = NetworkStack(app, "Network", config=config, environment=environment)
    service = ServiceStack(app, "Service", config=config, environment=environment, network=network.network)
    packs = register_checks(app)
    template = dict(app.synth().get_stack_by_name("Service").template)
    return CertificateApp(app=app, service=service, packs=packs, certificate_arn=certificate, template=template)
