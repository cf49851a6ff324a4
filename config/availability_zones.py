"""Look up each target account's availability zone names and print them as the configuration's lines.

    python -m config.availability_zones --config config/<name>.toml

The synth reads the zones from the configuration (``availability_zones`` in each
``[environments.<name>]`` table) and asks AWS nothing; this command is the one place that asks.
It reads only ``region`` and ``[accounts]`` of the file, so it works on a configuration still
being written, and prints one ``[environments.<name>]`` table header and ``availability_zones``
line per environment, to copy into the file. It writes nothing.

Credentials: the ambient ones (a profile, SSO, environment variables) assume, in each target
account, the CDK bootstrap lookup role ``cdk-hnb659fds-lookup-role-<account>-<region>``. The
bootstrap template gives that role the ReadOnlyAccess managed policy (with kms:Decrypt denied)
and lets the account itself, the accounts trusted for lookup and the accounts given to
``cdk bootstrap --trust`` assume it (``LookupRole`` in the CDK CLI's ``bootstrap-template.yaml``,
``node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml``; the roles are described in
https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-bootstrap.html). So the tools account's
credentials reach dev, staging and prod once they are bootstrapped as docs/deploy.md says.
The project's own template reader, which the stacks name as their lookup role, cannot: it reads
stack templates only.

The call is EC2 ``DescribeAvailabilityZones``, as the CDK CLI's own availability-zones context
provider makes it, keeping the zones whose state is ``available``; Local and Wavelength Zones the
account opted into are left out (``ZoneType`` other than ``availability-zone``): the VPC spreads
its subnets over Availability Zones. A zone name maps to a physical zone per account
(https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html); each environment
is one account, so each gets its own account's names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from config.reader import ConfigError
from config.settings import load_targets

LOOKUP_ROLE = "cdk-hnb659fds-lookup-role-{account}-{region}"
SESSION_NAME = "availability-zones"


class ZoneLookupError(Exception):
    """An AWS call failed; the message is one line."""


def lookup_role_arn(account: str, region: str) -> str:
    return f"arn:aws:iam::{account}:role/{LOOKUP_ROLE.format(account=account, region=region)}"


def available_zones(ec2: Any) -> tuple[str, ...]:
    """The names of the account's Availability Zones in the client's region whose state is ``available``."""
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return tuple(
        sorted(
            zone["ZoneName"]
            for zone in zones
            if zone.get("State") == "available" and zone.get("ZoneType", "availability-zone") == "availability-zone"
        )
    )


def lookup(
    region: str,
    accounts: Mapping[str, str],
    *,
    sts: Any,
    ec2_client: Callable[[Mapping[str, str]], Any],
) -> dict[str, tuple[str, ...]]:
    """The zone names by environment: assume each account's lookup role with ``sts``, then ask EC2.

    ``ec2_client`` makes an EC2 client of ``region`` from the role's temporary credentials.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    found = {}
    for environment, account in accounts.items():
        role_arn = lookup_role_arn(account, region)
        try:
            credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise ZoneLookupError(
                f"{environment} ({account}): cannot assume {role_arn} ({code}): bootstrap the account with "
                "`cdk bootstrap --trust <tools account>` (docs/deploy.md) and use credentials of the tools account "
                "or of this account"
            ) from None
        except BotoCoreError as error:
            raise ZoneLookupError(f"{environment} ({account}): cannot assume {role_arn}: {error}") from None
        try:
            zones = available_zones(ec2_client(credentials))
        except (ClientError, BotoCoreError) as error:
            raise ZoneLookupError(f"{environment} ({account}): DescribeAvailabilityZones failed: {error}") from None
        if not zones:
            raise ZoneLookupError(f"{environment} ({account}): no available availability zone in {region}")
        found[environment] = zones
    return found


def toml_lines(source: str, region: str, zones: Mapping[str, Sequence[str]]) -> str:
    """The lines to put into the configuration, one table per environment."""
    lines = [f"# {source}: the availability zones of each target account in {region}; put each line in its table."]
    for environment, names in zones.items():
        quoted = ", ".join(f'"{name}"' for name in names)
        lines += ["", f"[environments.{environment}]", f"availability_zones = [{quoted}]"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.availability_zones",
        description="Print each target account's availability zone names as the configuration's lines.",
    )
    parser.add_argument("--config", required=True, help="the configuration file (config/<name>.toml)")
    arguments = parser.parse_args(argv)
    try:
        region, accounts = load_targets(arguments.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    import boto3
    from botocore.exceptions import BotoCoreError

    def ec2_client(credentials: Mapping[str, str]) -> Any:
        return boto3.client(
            "ec2",
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    try:
        zones = lookup(region, accounts, sts=boto3.client("sts", region_name=region), ec2_client=ec2_client)
    except ZoneLookupError as error:
        print(f"{arguments.config}: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:  # no credentials at all, or no network
        print(f"{arguments.config}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(toml_lines(arguments.config, region, zones))
    return 0


if __name__ == "__main__":
    sys.exit(main())
