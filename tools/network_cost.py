#!/usr/bin/env python3
"""Monthly cost of one environment's network: this design against one NAT gateway per AZ.

Reads a synthesized ``<Env>-Network`` template (``cdk.out/Prod-Network.template.json`` by
default, or ``--template``), counts what is billed by the hour (interface endpoint ENIs, NAT
gateways, Elastic IPs) and prices it with the table in ``docs/prices/eu-west-1.json``. The
comparison design is the usual one: the same VPC with PRIVATE_WITH_EGRESS subnets, one NAT
gateway (with its public IPv4 address) per AZ and no VPC endpoint, so every byte to ECR, S3,
CloudWatch Logs and the other APIs goes through a NAT gateway. When the interface endpoints span
fewer zones than the VPC (``endpoint_azs``), the comparison puts NAT gateways in as many zones, the
same resilience, and counts the traffic that crosses zones in each design.

Usage: python -m tools.network_cost [--env Prod | --template PATH] [--prices PATH]
                                      [--api-gb 10] [--layer-gb 20] [--hours 730]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.prices import DEFAULT_PRICES, PriceTable, PriceTableError

ROOT = Path(__file__).resolve().parent.parent
#: Hours in an average month (8,760 / 12), the figure AWS uses in its pricing examples.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Prices:
    interface_endpoint_hour: float
    interface_endpoint_gb: float
    nat_gateway_hour: float
    nat_gateway_gb: float
    public_ipv4_hour: float
    #: Transfer between zones to an interface endpoint (0 since AWS waived it for PrivateLink).
    interface_endpoint_cross_az_gb: float
    #: Transfer between zones otherwise, billed in each direction (to a NAT gateway in another zone).
    cross_az_gb: float
    recorded: str = ""

    @classmethod
    def from_table(cls, table: PriceTable) -> Prices:
        """The prices this comparison needs, from the price table (a missing one names its key)."""
        return cls(
            interface_endpoint_hour=table["interface_endpoint_hour"],
            interface_endpoint_gb=table["interface_endpoint_gb"],
            nat_gateway_hour=table["nat_gateway_hour"],
            nat_gateway_gb=table["nat_gateway_gb"],
            public_ipv4_hour=table["public_ipv4_hour"],
            interface_endpoint_cross_az_gb=table["interface_endpoint_cross_az_gb"],
            cross_az_gb=table["cross_az_gb"],
            recorded=f"{table.region}, list prices recorded {table.recorded}",
        )


@dataclass(frozen=True)
class Traffic:
    """What one environment sends to AWS services in a month (the assumptions)."""

    #: API calls, CloudWatch Logs and secrets: through interface endpoints here, a NAT gateway there.
    api_gb: float = 10.0
    #: Image layers pulled from S3: through the free S3 gateway endpoint here, a NAT gateway there.
    layer_gb: float = 20.0
    hours: float = HOURS_PER_MONTH


@dataclass(frozen=True)
class Inventory:
    """What a network template bills by the hour."""

    availability_zones: int
    interface_endpoints: int
    #: Interface endpoint ENIs: one per endpoint per subnet (AZ); each is billed per hour.
    interface_endpoint_enis: int
    gateway_endpoints: int
    nat_gateways: int
    elastic_ips: int
    #: The zones that hold an interface endpoint ENI (``endpoint_azs``); every zone by default.
    endpoint_zones: int = 0

    @property
    def other_zones_share(self) -> float:
        """The share of the tasks (spread evenly over the zones) in a zone without an endpoint ENI."""
        if not self.endpoint_zones or not self.availability_zones:
            return 0.0
        return (self.availability_zones - self.endpoint_zones) / self.availability_zones


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    price: float

    @property
    def cost(self) -> float:
        return self.quantity * self.price


@dataclass(frozen=True)
class Estimate:
    design: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)


def inventory(template: Mapping[str, Any]) -> Inventory:
    resources = [dict(r) for r in template.get("Resources", {}).values()]

    def of_type(kind: str) -> list[dict[str, Any]]:
        return [r for r in resources if r.get("Type") == kind]

    subnet_zones = {
        name: json.dumps(r.get("Properties", {}).get("AvailabilityZone"), sort_keys=True)
        for name, r in template.get("Resources", {}).items()
        if r.get("Type") == "AWS::EC2::Subnet"
    }
    zones = set(subnet_zones.values())
    endpoints = of_type("AWS::EC2::VPCEndpoint")
    interface = [e for e in endpoints if e.get("Properties", {}).get("VpcEndpointType") == "Interface"]
    endpoint_zones = {
        subnet_zones.get(ref.get("Ref") if isinstance(ref, dict) else None, json.dumps(ref, sort_keys=True))
        for e in interface
        for ref in e["Properties"].get("SubnetIds", [])
    }
    return Inventory(
        availability_zones=len(zones),
        interface_endpoints=len(interface),
        interface_endpoint_enis=sum(len(e["Properties"].get("SubnetIds", [])) for e in interface),
        gateway_endpoints=len(endpoints) - len(interface),
        nat_gateways=len(of_type("AWS::EC2::NatGateway")),
        elastic_ips=len(of_type("AWS::EC2::EIP")),
        endpoint_zones=len(endpoint_zones),
    )


def this_design(network: Inventory, prices: Prices, traffic: Traffic) -> Estimate:
    lines = [
        Line(
            "Interface endpoint ENI-hours",
            network.interface_endpoint_enis * traffic.hours,
            "h",
            prices.interface_endpoint_hour,
        ),
        Line("Interface endpoint data (API, logs)", traffic.api_gb, "GB", prices.interface_endpoint_gb),
    ]
    if network.other_zones_share:
        # Tasks in a zone without an ENI reach one in another zone: data processing as above, and
        # the transfer between zones that AWS waived for PrivateLink (docs/network.md).
        lines.append(
            Line(
                "Cross-AZ to endpoint zones (API, logs)",
                traffic.api_gb * network.other_zones_share,
                "GB",
                prices.interface_endpoint_cross_az_gb,
            )
        )
    lines.append(Line("S3 gateway endpoint data (image layers)", traffic.layer_gb, "GB", 0.0))
    if network.nat_gateways:
        lines.append(Line("NAT gateway hours", network.nat_gateways * traffic.hours, "h", prices.nat_gateway_hour))
    if network.elastic_ips:
        lines.append(
            Line("Public IPv4 address hours", network.elastic_ips * traffic.hours, "h", prices.public_ipv4_hour)
        )
    return Estimate("This design (isolated subnets + VPC endpoints)", tuple(lines))


def nat_per_az_design(network: Inventory, prices: Prices, traffic: Traffic) -> Estimate:
    """NAT gateways in as many zones as the interface endpoints span: the same resilience as this design."""
    zones = network.availability_zones
    nats = network.endpoint_zones or zones
    gb = traffic.api_gb + traffic.layer_gb
    where = f"per AZ ({nats})" if nats == zones else f"in {nats} of {zones} AZs, like the endpoints"
    lines = [
        Line("NAT gateway hours", nats * traffic.hours, "h", prices.nat_gateway_hour),
        Line("Public IPv4 address hours (one EIP per NAT)", nats * traffic.hours, "h", prices.public_ipv4_hour),
        Line("NAT data processed (API, logs, image layers)", gb, "GB", prices.nat_gateway_gb),
    ]
    if network.other_zones_share:
        # Out of one zone and into the other: the regional transfer price is billed in each direction.
        lines.append(
            Line(
                "Cross-AZ to NAT zones (both ways)",
                2 * gb * network.other_zones_share,
                "GB",
                prices.cross_az_gb,
            )
        )
    return Estimate(f"One NAT gateway {where}, no endpoints", tuple(lines))


def break_even_gb(network: Inventory, prices: Prices, traffic: Traffic) -> float | None:
    """Monthly GB (same API/layer mix) at which both designs cost the same; None if never."""
    total = traffic.api_gb + traffic.layer_gb
    if total <= 0:
        return None
    nothing = Traffic(api_gb=0.0, layer_gb=0.0, hours=traffic.hours)
    one_gb = Traffic(api_gb=traffic.api_gb / total, layer_gb=traffic.layer_gb / total, hours=traffic.hours)

    def difference(used: Traffic) -> float:
        return this_design(network, prices, used).total - nat_per_az_design(network, prices, used).total

    fixed_difference = difference(nothing)
    per_gb_saving = fixed_difference - difference(one_gb)
    if per_gb_saving <= 0:
        return None
    return max(fixed_difference, 0.0) / per_gb_saving


def render(name: str, network: Inventory, prices: Prices, traffic: Traffic) -> str:
    ours, theirs = this_design(network, prices, traffic), nat_per_az_design(network, prices, traffic)
    out = [
        f"Network cost per month for {name} ({prices.recorded}; {traffic.hours:g} h/month)",
        f"Template: {network.availability_zones} AZs, {network.interface_endpoints} interface endpoints "
        f"({network.interface_endpoint_enis} ENIs), {network.gateway_endpoints} gateway endpoint(s), "
        f"{network.nat_gateways} NAT gateways, {network.elastic_ips} Elastic IPs",
        f"Assumed traffic: {traffic.api_gb:g} GB API calls and logs, {traffic.layer_gb:g} GB image layers",
        "",
    ]
    for estimate in (ours, theirs):
        out.append(f"{estimate.design}")
        for line in estimate.lines:
            out.append(
                f"  {line.item:<46} {line.quantity:>9,.1f} {line.unit:<2} x {line.price:<6g} = {line.cost:>8.2f} USD"
            )
        out.append(f"  {'Total':<46}{'':24}{estimate.total:>8.2f} USD")
        out.append("")
    difference = ours.total - theirs.total
    verdict = "more" if difference > 0 else "less"
    out.append(f"This design costs {abs(difference):.2f} USD per month {verdict} than the NAT design.")
    even = break_even_gb(network, prices, traffic)
    if even is not None and even > 0:
        out.append(f"Break-even at about {even:,.0f} GB per month with the same mix; above it this design is cheaper.")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--env", default="Prod", help="environment title: reads cdk.out/<Env>-Network.template.json")
    source.add_argument("--template", type=Path, help="a synthesized network template instead")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="price table (JSON)")
    parser.add_argument("--api-gb", type=float, default=Traffic.api_gb, help="GB per month of API calls and logs")
    parser.add_argument("--layer-gb", type=float, default=Traffic.layer_gb, help="GB per month of image layers")
    parser.add_argument("--hours", type=float, default=HOURS_PER_MONTH, help="hours per month")
    args = parser.parse_args(argv)
    path: Path = args.template or ROOT / "cdk.out" / f"{args.env}-Network.template.json"
    try:
        template = json.loads(path.read_text())
    except FileNotFoundError:
        print(f"{path}: no such file (run `make synth` first or pass --template)", file=sys.stderr)
        return 2
    try:
        prices = Prices.from_table(PriceTable.from_file(args.prices))
    except PriceTableError as error:
        print(error, file=sys.stderr)
        return 2
    traffic = Traffic(api_gb=args.api_gb, layer_gb=args.layer_gb, hours=args.hours)
    print(render(path.name.removesuffix(".template.json"), inventory(template), prices, traffic))
    return 0


if __name__ == "__main__":
    sys.exit(main())
