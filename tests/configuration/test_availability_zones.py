"""python -m config.availability_zones: the one command that asks AWS for the zone names, stubbed with botocore."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from config import load_config
from config.availability_zones import ZoneLookupError, lookup, lookup_role_arn, main, toml_lines
from tests.support import ROOT

ACCOUNTS = {"dev": "222222222222", "staging": "333333333333", "prod": "444444444444"}


def credentials(account: str) -> dict[str, Any]:
    return {
        "AccessKeyId": f"ASIA{account}",
        "SecretAccessKey": "secret",
        "SessionToken": account,
        "Expiration": "2026-12-06T04:00:00Z",
    }


def zone(name: str, *, state: str = "available", zone_type: str = "availability-zone") -> dict[str, str]:
    return {"ZoneName": name, "State": state, "ZoneType": zone_type, "RegionName": "us-east-2"}


@pytest.fixture
def sts() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sts", region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def ec2_clients(answers: Mapping[str, list[dict[str, str]]]) -> tuple[Any, list[Stubber]]:
    """An ``ec2_client`` factory that hands out, per session token (the account), a client stubbed with its zones."""
    stubbers = []

    def make(role_credentials: Mapping[str, str]) -> Any:
        client = boto3.client("ec2", region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
        stubber = Stubber(client)
        stubber.add_response(
            "describe_availability_zones", {"AvailabilityZones": answers[role_credentials["SessionToken"]]}, {}
        )
        stubber.activate()
        stubbers.append(stubber)
        return client

    return make, stubbers


def test_each_account_is_read_through_its_cdk_lookup_role(sts: tuple[Any, Stubber]) -> None:
    client, stubber = sts
    for account in ACCOUNTS.values():
        stubber.add_response(
            "assume_role",
            {"Credentials": credentials(account)},
            {
                "RoleArn": f"arn:aws:iam::{account}:role/cdk-hnb659fds-lookup-role-{account}-us-east-2",
                "RoleSessionName": "availability-zones",
            },
        )
    make, stubbers = ec2_clients(
        {
            "222222222222": [zone("us-east-2b"), zone("us-east-2a"), zone("us-east-2c")],
            # An impaired zone and an opted-in Local Zone are not zones to spread a VPC over.
            "333333333333": [zone("us-east-2a"), zone("us-east-2b", state="impaired"), zone("us-east-2c")],
            "444444444444": [zone("us-east-2a"), zone("us-east-2-lax-1a", zone_type="local-zone"), zone("us-east-2b")],
        }
    )
    zones = lookup("us-east-2", ACCOUNTS, sts=client, ec2_client=make)
    assert zones == {
        "dev": ("us-east-2a", "us-east-2b", "us-east-2c"),
        "staging": ("us-east-2a", "us-east-2c"),
        "prod": ("us-east-2a", "us-east-2b"),
    }
    for ec2 in stubbers:
        ec2.assert_no_pending_responses()


def test_a_role_that_cannot_be_assumed_is_one_line_saying_what_to_do(sts: tuple[Any, Stubber]) -> None:
    client, stubber = sts
    stubber.add_client_error("assume_role", service_error_code="AccessDenied", http_status_code=403)
    make, _ = ec2_clients({})
    with pytest.raises(ZoneLookupError) as raised:
        lookup("us-east-2", {"dev": "222222222222"}, sts=client, ec2_client=make)
    assert str(raised.value) == (
        f"dev (222222222222): cannot assume {lookup_role_arn('222222222222', 'us-east-2')} (AccessDenied): "
        "bootstrap the account with `cdk bootstrap --trust <tools account>` (docs/deploy.md) and use credentials "
        "of the tools account or of this account"
    )


def test_the_printed_lines_are_what_the_configuration_reads(tmp_path: Path) -> None:
    """Put into a configuration without zones, the lines make it valid again, with those zones."""
    lines = toml_lines("x.toml", "eu-west-1", {name: ("eu-west-1a", "eu-west-1b", "eu-west-1c") for name in ACCOUNTS})
    assert lines.splitlines()[1:4] == [
        "",
        "[environments.dev]",
        'availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]',
    ]
    sandbox = (ROOT / "config" / "sandbox.toml").read_text()
    text = sandbox.replace('availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]\n', "")
    for environment in ACCOUNTS:
        header = f"[environments.{environment}]\n"
        printed = lines.split(header)[1].splitlines()[0]
        text = text.replace(header, header + printed + "\n")
    path = tmp_path / "x.toml"
    path.write_text(text)
    assert load_config(path) == dataclasses.replace(load_config(ROOT / "config" / "sandbox.toml"), source=str(path))


def test_a_configuration_being_written_is_read_for_its_accounts_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad account id stops it before any AWS call, with the configuration's own one-line error."""
    path = tmp_path / "x.toml"
    path.write_text('region = "us-east-2"\n[accounts]\ntools = "1"\n')
    assert main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}: accounts.tools: expected a 12-digit AWS account id, got '1'\n"
