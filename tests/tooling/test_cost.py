"""docs/cost.md's arithmetic: what it counts from the templates, and how it prices it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import fields

import pytest

from tests.support import ROOT
from tools.docgen import cost
from tools.docgen.model import AppModel
from tools.network_cost import Prices, Traffic, inventory, this_design
from tools.prices import DEFAULT_PRICES, PriceTable, PriceTableError

USAGE = cost.Usage()


@pytest.fixture(scope="module")
def bill(model: AppModel) -> cost.Bill:
    return cost.estate(model, PriceTable.from_file(), USAGE)


def lines(bill: cost.Bill, environment: str, category: str) -> list[cost.Line]:
    return [line for line in bill.lines if line.environment == environment and line.category == category]


@pytest.mark.parametrize(
    ("environment", "tasks", "vcpu", "gb", "termination_wait"),
    [("dev", 1, 0.25, 0.5, 5), ("staging", 2, 0.25, 0.5, 15), ("prod", 3, 0.5, 1.0, 60)],
)
def test_fargate_is_task_size_times_desired_count_plus_the_green_task_set_during_releases(
    bill: cost.Bill, environment: str, tasks: int, vcpu: float, gb: float, termination_wait: int
) -> None:
    overlap = USAGE.releases_per_month * (USAGE.deploy_minutes_before_wait + termination_wait) / 60 * tasks
    task_hours = tasks * USAGE.hours + overlap
    fargate = {line.unit: line for line in lines(bill, environment, "ECS Fargate")}
    assert fargate["vCPU-h"].quantity == pytest.approx(vcpu * task_hours)
    assert fargate["GB-h"].quantity == pytest.approx(gb * task_hours)
    assert fargate["vCPU-h"].price == 0.04048 and fargate["GB-h"].price == 0.004445


@pytest.mark.parametrize(("environment", "azs"), [("dev", 2), ("staging", 2), ("prod", 3)])
def test_an_internet_facing_load_balancer_pays_one_public_ipv4_address_per_az(
    bill: cost.Bill, environment: str, azs: int
) -> None:
    by_unit = {line.item: line for line in lines(bill, environment, "Load balancer")}
    assert by_unit["Application Load Balancer hours"].quantity == USAGE.hours
    assert by_unit["LCU-hours"].quantity == USAGE.alb_lcu * USAGE.hours
    assert by_unit[f"public IPv4 addresses ({azs}, one per AZ)"].quantity == azs * USAGE.hours


def test_the_network_lines_are_the_network_cost_script_s(model: AppModel, bill: cost.Bill) -> None:
    traffic = Traffic(api_gb=USAGE.api_gb, layer_gb=USAGE.layer_gb, hours=USAGE.hours)
    for environment in ("dev", "staging", "prod"):
        template = model.stack(f"{environment.capitalize()}-Network").template
        expected = this_design(inventory(template), Prices.from_table(PriceTable.from_file()), traffic).total
        assert sum(line.cost for line in lines(bill, environment, "VPC endpoints")) == pytest.approx(expected)
    assert not lines(bill, "tools", "VPC endpoints")


@pytest.mark.parametrize(
    ("environment", "endpoint_azs", "other_zones_share"), [("dev", 1, 0.5), ("staging", 1, 0.5), ("prod", 3, 0)]
)
def test_endpoint_hours_follow_endpoint_azs_and_the_other_zones_traffic_crosses_zones_without_charge(
    bill: cost.Bill, environment: str, endpoint_azs: int, other_zones_share: float
) -> None:
    network = {line.item: line for line in lines(bill, environment, "VPC endpoints")}
    # The tasks' four endpoints (ECR API and Docker, Logs, Secrets Manager): the hook calls none.
    assert network["Interface endpoint ENI-hours"].quantity == 4 * endpoint_azs * USAGE.hours
    crossing = network.get("Cross-AZ to endpoint zones (API, logs)")
    if other_zones_share:
        assert crossing is not None and crossing.quantity == USAGE.api_gb * other_zones_share
        assert crossing.price_key == "interface_endpoint_cross_az_gb" and crossing.price == 0.0
    else:
        assert crossing is None


def test_the_nat_comparison_puts_nat_gateways_in_the_endpoints_zones(model: AppModel) -> None:
    text = cost.page(model)
    assert "| dev | 2 | 1 | 32.22 | 40.43 | -8.21 |" in text
    assert "| prod | 3 | 3 | 96.46 | 117.51 | -21.05 |" in text


def test_pipeline_minutes_count_each_deploy_with_its_termination_wait_and_not_the_approval(bill: cost.Bill) -> None:
    (pipeline,) = lines(bill, "tools", "CodePipeline")
    per_release = (
        USAGE.source_minutes
        + USAGE.build_minutes
        + USAGE.scan_minutes
        # the CDK CLI actions, at the build's minutes: Synth, SelfMutate, three Infrastructure, ReviewProd
        + 6 * USAGE.build_minutes
        + 3 * USAGE.deploy_minutes_before_wait
        + (5 + 15 + 60)  # dev, staging, prod termination waits from the deployment groups
    )
    assert pipeline.quantity == pytest.approx(per_release * USAGE.releases_per_month)


def test_storage_follows_the_lifecycle_and_retention_settings_of_the_templates(bill: cost.Bill) -> None:
    (ecr,) = lines(bill, "tools", "ECR")
    assert ecr.item == "storage (30 release images kept)" and ecr.quantity == pytest.approx(30 * USAGE.image_gb)
    flow_logs = [line for line in lines(bill, "prod", "CloudWatch Logs") if "VPC flow logs" in line.item]
    storage = next(line for line in flow_logs if line.unit == "GB-month")
    assert storage.quantity == pytest.approx(USAGE.flow_log_gb * 365 / 30)
    assert next(line for line in flow_logs if line.unit == "GB").price_key == "vended_log_gb"


def test_each_key_secret_and_alarm_is_counted(bill: cost.Bill) -> None:
    for environment, keys in (("tools", 2), ("dev", 2), ("prod", 2)):
        assert len([line for line in lines(bill, environment, "KMS") if line.unit == "key-month"]) == keys
    # Two alarms on each target group and one on the load balancer's own 5xx.
    assert [line.quantity for line in lines(bill, "prod", "CloudWatch alarms")] == [5]
    assert len([line for line in lines(bill, "prod", "Secrets Manager") if line.unit == "secret-month"]) == 1


def test_every_price_has_a_source_page_and_a_recorded_date(bill: cost.Bill) -> None:
    prices = PriceTable.from_file()
    for key in prices.prices:
        assert prices.sources[key].startswith("https://aws.amazon.com/"), key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.date(key)), key
    assert {line.price_key for line in bill.lines} <= set(prices.prices)


def test_the_page_states_every_assumption_and_adds_up(model: AppModel, bill: cost.Bill) -> None:
    text = (ROOT / "docs" / "cost.md").read_text()
    for description in cost.Usage.descriptions().values():
        assert f"| {description} |" in text
    assert set(cost.Usage.descriptions()) == {f.name for f in fields(cost.Usage)}
    total = sum(line.cost for line in bill.lines)
    assert f"| **total** | | | **{total:,.2f}** |" in text
    assert "without network access" in text


def test_fewer_releases_cost_less_and_none_leaves_no_pipeline_line(model: AppModel) -> None:
    prices = PriceTable.from_file()
    idle = cost.estate(model, prices, cost.Usage(releases_per_month=0))
    assert not [line for line in idle.lines if line.category in ("CodePipeline", "CodeBuild", "Lambda")]
    busy = cost.estate(model, prices, cost.Usage(releases_per_month=40))
    assert sum(line.cost for line in busy.lines) > sum(line.cost for line in idle.lines)


def test_a_log_group_that_never_expires_is_counted_as_a_year_of_storage() -> None:
    assert cost.retention_months(None) == 12.0
    assert cost.retention_months(90) == 3.0


def test_container_insights_is_billed_where_the_cluster_turns_it_on(bill: cost.Bill) -> None:
    for environment in ("dev", "staging", "prod"):
        (metrics,) = lines(bill, environment, "CloudWatch metrics")
        assert metrics.item == "Service/Cluster Container Insights: metrics"
        assert metrics.quantity == USAGE.container_insights_metrics and metrics.price_key == "custom_metric_month"
    assert not lines(bill, "tools", "CloudWatch metrics")


def test_a_price_missing_from_the_table_names_the_file_and_the_key(model: AppModel) -> None:
    prices = PriceTable.from_file()
    without_alb = dataclasses.replace(prices, prices={k: v for k, v in prices.prices.items() if k != "alb_hour"})
    with pytest.raises(PriceTableError) as error:
        cost.page(model, without_alb)
    assert str(error.value) == f"{DEFAULT_PRICES}: prices.alb_hour: expected a number, got nothing (the key is missing)"
