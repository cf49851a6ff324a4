"""tools/network_cost.py: the inventory it reads from a template and the arithmetic of both designs."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from tools.network_cost import (
    Inventory,
    Prices,
    Traffic,
    break_even_gb,
    inventory,
    main,
    nat_per_az_design,
    this_design,
)
from tools.prices import DEFAULT_PRICES, PriceTable, PriceTableError

PRICES = Prices(
    interface_endpoint_hour=0.01,
    interface_endpoint_gb=0.01,
    nat_gateway_hour=0.05,
    nat_gateway_gb=0.05,
    public_ipv4_hour=0.005,
    interface_endpoint_cross_az_gb=0.0,
    cross_az_gb=0.01,
)
TRAFFIC = Traffic(api_gb=10, layer_gb=90, hours=100)


def subnet(zone: str) -> dict[str, object]:
    return {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": zone}}


def interface_endpoint(*subnets: str) -> dict[str, object]:
    return {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {"VpcEndpointType": "Interface", "SubnetIds": [{"Ref": s} for s in subnets]},
    }


#: Two AZs (a public and a task subnet in each), two interface endpoints, one S3 gateway endpoint.
TEMPLATE = {
    "Resources": {
        "PublicA": subnet("eu-west-1a"),
        "PublicB": subnet("eu-west-1b"),
        "TasksA": subnet("eu-west-1a"),
        "TasksB": subnet("eu-west-1b"),
        "Ecr": interface_endpoint("TasksA", "TasksB"),
        "Logs": interface_endpoint("TasksA", "TasksB"),
        "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
    }
}


def test_inventory_counts_azs_endpoint_enis_and_nat() -> None:
    assert inventory(TEMPLATE) == Inventory(
        availability_zones=2,
        interface_endpoints=2,
        interface_endpoint_enis=4,
        gateway_endpoints=1,
        nat_gateways=0,
        elastic_ips=0,
        endpoint_zones=2,
    )


def test_this_design_pays_endpoint_eni_hours_and_api_gb_but_not_layer_gb() -> None:
    estimate = this_design(inventory(TEMPLATE), PRICES, TRAFFIC)
    # 4 ENIs x 100 h x 0.01 = 4.00; 10 GB x 0.01 = 0.10; 90 GB of layers through the gateway = 0
    assert [round(line.cost, 4) for line in estimate.lines] == [4.0, 0.1, 0.0]
    assert estimate.total == pytest.approx(4.1)


def test_nat_design_pays_one_nat_and_one_public_ipv4_per_az_and_every_gb() -> None:
    estimate = nat_per_az_design(inventory(TEMPLATE), PRICES, TRAFFIC)
    # 2 NAT x 100 h x 0.05 = 10.00; 2 EIP x 100 h x 0.005 = 1.00; 100 GB x 0.05 = 5.00
    assert [round(line.cost, 4) for line in estimate.lines] == [10.0, 1.0, 5.0]
    assert estimate.total == pytest.approx(16.0)


#: The same VPC with the endpoints in the first zone only (endpoint_azs = 1).
ONE_ZONE = {
    "Resources": {
        **TEMPLATE["Resources"],
        "Ecr": interface_endpoint("TasksA"),
        "Logs": interface_endpoint("TasksA"),
    }
}


def test_endpoints_in_one_of_two_zones_pay_half_the_eni_hours_and_no_cross_zone_transfer() -> None:
    network = inventory(ONE_ZONE)
    assert (network.availability_zones, network.endpoint_zones, network.interface_endpoint_enis) == (2, 1, 2)
    assert network.other_zones_share == 0.5
    estimate = this_design(network, PRICES, TRAFFIC)
    # 2 ENIs x 100 h x 0.01 = 2.00; 10 GB x 0.01 = 0.10; half of it from the other zone, transfer waived
    assert [(line.item, line.quantity, round(line.cost, 4)) for line in estimate.lines] == [
        ("Interface endpoint ENI-hours", 200, 2.0),
        ("Interface endpoint data (API, logs)", 10, 0.1),
        ("Cross-AZ to endpoint zones (API, logs)", 5, 0.0),
        ("S3 gateway endpoint data (image layers)", 90, 0.0),
    ]


def test_the_nat_design_gets_as_many_zones_as_the_endpoints_and_pays_the_cross_zone_transfer() -> None:
    estimate = nat_per_az_design(inventory(ONE_ZONE), PRICES, TRAFFIC)
    assert estimate.design == "One NAT gateway in 1 of 2 AZs, like the endpoints, no endpoints"
    # 1 NAT x 100 h x 0.05 = 5.00; 1 EIP x 100 h x 0.005 = 0.50; 100 GB x 0.05 = 5.00;
    # half of the 100 GB crosses zones, billed out of one and into the other: 100 GB x 0.01 = 1.00
    assert [round(line.cost, 4) for line in estimate.lines] == [5.0, 0.5, 5.0, 1.0]


def test_break_even_counts_the_cross_zone_transfer_of_both_designs() -> None:
    network, prices = inventory(ONE_ZONE), dataclasses.replace(PRICES, interface_endpoint_hour=0.1)
    # fixed: 2 x 100 x 0.1 = 20 here, 100 x (0.05 + 0.005) = 5.5 there; gap 14.5. Per GB with 10 % API
    # traffic: 0.05 + 2 x 0.5 x 0.01 there against 0.1 x 0.01 here, 0.059 saved; 14.5 / 0.059 = 245.8 GB
    even = break_even_gb(network, prices, TRAFFIC)
    assert even is not None and even == pytest.approx(14.5 / 0.059)
    at = Traffic(api_gb=even * 0.1, layer_gb=even * 0.9, hours=100)
    assert this_design(network, prices, at).total == pytest.approx(nat_per_az_design(network, prices, at).total)


def test_nat_and_eip_left_in_the_template_are_charged_to_this_design() -> None:
    template = {
        "Resources": {
            **TEMPLATE["Resources"],
            "Nat": {"Type": "AWS::EC2::NatGateway"},
            "Eip": {"Type": "AWS::EC2::EIP"},
        }
    }
    estimate = this_design(inventory(template), PRICES, TRAFFIC)
    assert estimate.total == pytest.approx(4.1 + 5.0 + 0.5)


def test_break_even_is_where_the_fixed_cost_gap_is_paid_back_by_cheaper_gb() -> None:
    expensive_endpoints = Prices(
        interface_endpoint_hour=0.1,
        interface_endpoint_gb=0.01,
        nat_gateway_hour=0.05,
        nat_gateway_gb=0.05,
        public_ipv4_hour=0.005,
        interface_endpoint_cross_az_gb=0.0,
        cross_az_gb=0.01,
    )
    network = inventory(TEMPLATE)
    # fixed: 4 x 100 x 0.1 = 40 here, 2 x 100 x (0.05 + 0.005) = 11 there; gap 29
    # per GB with 10 % API traffic: 0.05 - 0.1 x 0.01 = 0.049 saved; 29 / 0.049 = 591.8 GB
    even = break_even_gb(network, expensive_endpoints, TRAFFIC)
    assert even is not None and even == pytest.approx(29 / 0.049)
    at = Traffic(api_gb=even * 0.1, layer_gb=even * 0.9, hours=100)
    assert this_design(network, expensive_endpoints, at).total == pytest.approx(
        nat_per_az_design(network, expensive_endpoints, at).total
    )


def test_the_committed_price_table_has_a_source_and_a_date() -> None:
    data = json.loads(DEFAULT_PRICES.read_text())
    assert data["region"] == "eu-west-1" and data["recorded"]
    assert set(data["sources"]) >= {
        "interface_endpoint_hour",
        "interface_endpoint_gb",
        "nat_gateway_hour",
        "nat_gateway_gb",
        "public_ipv4_hour",
    }
    assert Prices.from_table(PriceTable.from_file(DEFAULT_PRICES)).nat_gateway_hour > 0


def test_script_prints_both_designs_for_a_template_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "Dev-Network.template.json"
    path.write_text(json.dumps(TEMPLATE))
    assert main(["--template", str(path), "--api-gb", "10", "--layer-gb", "20"]) == 0
    out = capsys.readouterr().out
    assert "Network cost per month for Dev-Network" in out
    assert "This design (isolated subnets + VPC endpoints)" in out
    assert "One NAT gateway per AZ (2), no endpoints" in out


def test_missing_template_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--template", str(tmp_path / "nope.json")]) == 2
    assert (
        capsys.readouterr().err.strip().endswith("nope.json: no such file (run `make synth` first or pass --template)")
    )


COMMITTED_PRICES = json.loads(DEFAULT_PRICES.read_text())


def price_file(drop: str = "", **changes: object) -> str:
    """The committed price table with top-level keys replaced by ``changes`` and the dotted key ``drop`` left out."""
    data = copy.deepcopy(COMMITTED_PRICES)
    data.update(changes)
    if drop:
        *parents, last = drop.split(".")
        table = data
        for parent in parents:
            table = table[parent]
        del table[last]
    return json.dumps(data)


#: Each bad price file (None: no file at all) and the one line it gives after ``<file>: ``.
BAD_PRICE_TABLES = [
    pytest.param(None, "cannot read the price table (No such file or directory)", id="no-file"),
    pytest.param("not json", "not JSON (Expecting value: line 1 column 1 (char 0))", id="not-json"),
    pytest.param("[]", "<top level>: expected an object, got []", id="a-list-not-an-object"),
    pytest.param(
        price_file(drop="region"), "region: expected a string, got nothing (the key is missing)", id="no-region"
    ),
    pytest.param(
        price_file(drop="prices"),
        "prices: expected an object of numbers, got nothing (the key is missing)",
        id="no-prices",
    ),
    pytest.param(
        price_file(drop="prices.nat_gateway_hour"),
        "prices.nat_gateway_hour: expected a number, got nothing (the key is missing)",
        id="no-price-for-a-nat-gateway-hour",
    ),
    pytest.param(
        price_file(prices={**COMMITTED_PRICES["prices"], "nat_gateway_gb": "0.048"}),
        "prices.nat_gateway_gb: expected a number, got '0.048'",
        id="a-price-written-as-a-string",
    ),
    pytest.param(
        price_file(prices={**COMMITTED_PRICES["prices"], "public_ipv4_hour": True}),
        "prices.public_ipv4_hour: expected a number, got True",
        id="a-price-written-as-a-boolean",
    ),
    pytest.param(
        price_file(sources=["https://aws.amazon.com/vpc/pricing/"]),
        "sources: expected an object of strings, got ['https://aws.amazon.com/vpc/pricing/']",
        id="sources-as-a-list",
    ),
    pytest.param(
        price_file(recorded_on={"alb_hour": 20261130}),
        "recorded_on.alb_hour: expected a string, got 20261130",
        id="a-date-written-as-a-number",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_PRICE_TABLES)
def test_a_bad_price_table_is_an_error_naming_the_file_and_the_key(
    tmp_path: Path, text: str | None, expected: str
) -> None:
    path = tmp_path / "prices.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(PriceTableError) as error:
        Prices.from_table(PriceTable.from_file(path))
    assert str(error.value) == f"{path}: {expected}"


@pytest.mark.parametrize(("text", "expected"), BAD_PRICE_TABLES)
def test_script_with_a_bad_price_table_prints_one_line_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, expected: str
) -> None:
    template, prices = tmp_path / "Dev-Network.template.json", tmp_path / "prices.json"
    template.write_text(json.dumps(TEMPLATE))
    if text is not None:
        prices.write_text(text)
    assert main(["--template", str(template), "--prices", str(prices)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{prices}: {expected}\n" and captured.out == ""


def test_the_network_prices_are_the_shared_table_s() -> None:
    table = PriceTable.from_file()
    prices = Prices.from_table(table)
    assert prices.nat_gateway_hour == table["nat_gateway_hour"] == COMMITTED_PRICES["prices"]["nat_gateway_hour"]
    assert prices.recorded == f"eu-west-1, list prices recorded {COMMITTED_PRICES['recorded']}"
