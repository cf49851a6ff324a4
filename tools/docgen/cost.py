"""The monthly bill of the whole estate, counted from the synthesized templates and priced.

What is billed is counted from the templates (task size and desired count, load balancers and
their AZs, interface endpoint ENIs, keys, secrets, alarms, log groups and their retention,
repositories and their lifecycle rules, pipeline actions, build projects, functions). What
depends on use (log volume, releases a month, build minutes...) is an assumption of
:class:`Usage`, printed with the page. Prices are the list prices of ``docs/prices/eu-west-1.json``
(read by ``tools/prices.py``).
The network lines and the NAT comparison reuse ``tools/network_cost.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from tools.docgen.model import AppModel, Resource, Stack
from tools.network_cost import Prices, Traffic, inventory, nat_per_az_design, this_design
from tools.prices import PriceTable

ENVIRONMENTS = ("tools", "dev", "staging", "prod")


@dataclass(frozen=True)
class Usage:
    """What the estate does in a month. Each field is one stated assumption."""

    hours: float = 730.0
    releases_per_month: float = 20.0
    #: Average Load Balancer Capacity Units an idle-to-light service uses per hour.
    alb_lcu: float = 1.0
    api_gb: float = Traffic.api_gb
    layer_gb: float = Traffic.layer_gb
    service_log_gb: float = 5.0
    flow_log_gb: float = 10.0
    build_log_gb: float = 1.0
    hook_log_gb: float = 0.01
    image_gb: float = 0.2
    artifact_gb_per_release: float = 0.05
    access_log_gb: float = 2.0
    kms_requests: float = 20000.0
    secret_api_calls: float = 10000.0
    build_minutes: float = 10.0
    scan_minutes: float = 2.0
    source_minutes: float = 1.0
    #: A blue/green deploy action runs the canary, the test hook and the termination wait.
    deploy_minutes_before_wait: float = 15.0
    hook_seconds: float = 60.0
    container_insights_metrics: float = 20.0
    container_insights_log_gb: float = 1.0

    @staticmethod
    def descriptions() -> dict[str, str]:
        return {
            "hours": "hours in a month (8,760 / 12)",
            "releases_per_month": "releases a month, each through dev, staging and prod",
            "alb_lcu": "LCUs per load balancer per hour (a lightly used service stays near one)",
            "api_gb": "GB a month per environment of API calls, logs and secrets through interface endpoints",
            "layer_gb": "GB a month per environment of image layers through the S3 gateway endpoint",
            "service_log_gb": "GB a month the service writes to its log group, per environment",
            "flow_log_gb": "GB a month of VPC flow logs (ALL traffic), per environment",
            "build_log_gb": "GB a month each CodeBuild project writes to its log group",
            "hook_log_gb": "GB a month the release hook writes to its log group",
            "image_gb": "GB per release image stored in ECR (compressed layers)",
            "artifact_gb_per_release": "GB of pipeline artifacts per release (source zip, release inputs)",
            "access_log_gb": "GB a month written to each access-log bucket",
            "kms_requests": "KMS requests a month per customer managed key",
            "secret_api_calls": "Secrets Manager API calls a month per secret (one per task start, rotation off)",
            "build_minutes": "build minutes of the image build per release",
            "scan_minutes": "build minutes of the scan gate per release",
            "source_minutes": "action minutes of the source action per release",
            "deploy_minutes_before_wait": (
                "minutes of a deploy action before the termination wait (canary, test hook, ten minutes of margin)"
            ),
            "hook_seconds": "seconds the release hook runs per release and environment",
            "container_insights_metrics": (
                "Container Insights metrics per cluster (cluster, service and task-definition level, one service)"
            ),
            "container_insights_log_gb": "GB a month of Container Insights performance log events per cluster",
        }


@dataclass(frozen=True)
class Line:
    environment: str
    category: str
    item: str
    quantity: float
    unit: str
    price_key: str
    price: float

    @property
    def cost(self) -> float:
        return self.quantity * self.price


class Bill:
    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.lines: list[Line] = []

    def add(self, environment: str, category: str, item: str, quantity: float, unit: str, price_key: str) -> None:
        if quantity:
            self.lines.append(Line(environment, category, item, quantity, unit, price_key, self.prices[price_key]))


def retention_months(days: Any) -> float:
    """Months of data a log group keeps in steady state (never-expiring groups counted as a year)."""
    return float(days) / 30.0 if isinstance(days, (int, float)) else 12.0


def _log_gb(resource: Resource, usage: Usage) -> tuple[str, float]:
    name = str(resource.properties.get("LogGroupName") or resource.path)
    if "flow" in name.lower():
        return "VPC flow logs", usage.flow_log_gb
    if name.startswith("/aws/lambda/") and name.endswith("-release-bake"):
        # One JSON line per release besides Lambda's own lines: counted like the hook's.
        return "release bake logs", usage.hook_log_gb
    if name.startswith("/aws/lambda/"):
        return "release hook logs", usage.hook_log_gb
    if name.startswith("/ecs/"):
        return "service logs", usage.service_log_gb
    return "build logs", usage.build_log_gb


def _kept_images(repository: Resource) -> float:
    rules = json.loads(str(repository.properties.get("LifecyclePolicy", {}).get("LifecyclePolicyText", "{}")))
    counts = [
        rule["selection"]["countNumber"]
        for rule in rules.get("rules", [])
        if rule.get("selection", {}).get("countType") == "imageCountMoreThan"
    ]
    return float(sum(counts)) if counts else 100.0


def _expiration_days(bucket: Resource) -> float | None:
    rules = bucket.properties.get("LifecycleConfiguration", {}).get("Rules", [])
    days = [r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r]
    return float(min(days)) if days else None


def _stack_lines(bill: Bill, model: AppModel, stack: Stack, usage: Usage) -> None:
    env = model.environment_of(stack.account)
    h = usage.hours
    for service in stack.of_type("AWS::ECS::Service"):
        family = service.properties.get("TaskDefinition")
        task = next(
            (t for t in stack.of_type("AWS::ECS::TaskDefinition") if t.properties.get("Family") == family), None
        )
        if task is None or service.properties.get("LaunchType") != "FARGATE":
            continue
        count = float(service.properties.get("DesiredCount", 1))
        vcpu, memory = float(task.properties["Cpu"]) / 1024, float(task.properties["Memory"]) / 1024
        # During a release a second (green) task set runs beside blue until the termination wait ends.
        overlap = sum(
            usage.releases_per_month * (usage.deploy_minutes_before_wait + float(_termination_wait(g))) / 60 * count
            for g in stack.of_type("AWS::CodeDeploy::DeploymentGroup")
        )
        task_hours = count * h + overlap
        bill.add(
            env,
            "ECS Fargate",
            f"{vcpu:g} vCPU x {task_hours:,.0f} task-hours",
            vcpu * task_hours,
            "vCPU-h",
            "fargate_vcpu_hour",
        )
        bill.add(
            env,
            "ECS Fargate",
            f"{memory:g} GB x {task_hours:,.0f} task-hours",
            memory * task_hours,
            "GB-h",
            "fargate_gb_hour",
        )
    for cluster in stack.of_type("AWS::ECS::Cluster"):
        settings = {str(x.get("Name")): str(x.get("Value")) for x in cluster.properties.get("ClusterSettings", [])}
        if settings.get("containerInsights", "disabled") != "disabled":
            item = f"{cluster.path} Container Insights"
            metrics = usage.container_insights_metrics
            bill.add(env, "CloudWatch metrics", f"{item}: metrics", metrics, "metric-month", "custom_metric_month")
            gb = usage.container_insights_log_gb
            bill.add(env, "CloudWatch Logs", f"{item}: performance log ingestion", gb, "GB", "log_ingest_gb")
    for balancer in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        bill.add(env, "Load balancer", "Application Load Balancer hours", h, "h", "alb_hour")
        bill.add(env, "Load balancer", "LCU-hours", usage.alb_lcu * h, "LCU-h", "alb_lcu_hour")
        if balancer.properties.get("Scheme", "internet-facing") == "internet-facing":
            azs = len(balancer.properties.get("Subnets", []))
            bill.add(
                env, "Load balancer", f"public IPv4 addresses ({azs}, one per AZ)", azs * h, "h", "public_ipv4_hour"
            )
    if stack.of_type("AWS::EC2::VPC"):
        network = inventory(stack.template)
        traffic = Traffic(api_gb=usage.api_gb, layer_gb=usage.layer_gb, hours=h)
        for line in this_design(network, Prices.from_table(bill.prices), traffic).lines:
            bill.add(env, "VPC endpoints", line.item, line.quantity, line.unit, _network_price_key(line.item))
    for kms_key in stack.of_type("AWS::KMS::Key"):
        bill.add(env, "KMS", f"key {kms_key.path}", 1, "key-month", "kms_key_month")
        bill.add(
            env, "KMS", f"key {kms_key.path}: requests", usage.kms_requests / 10000, "10k requests", "kms_10k_requests"
        )
    for secret in stack.of_type("AWS::SecretsManager::Secret"):
        bill.add(env, "Secrets Manager", f"secret {secret.path}", 1, "secret-month", "secret_month")
        bill.add(
            env,
            "Secrets Manager",
            f"secret {secret.path}: API calls",
            usage.secret_api_calls / 10000,
            "10k calls",
            "secret_10k_calls",
        )
    alarms = len(stack.of_type("AWS::CloudWatch::Alarm"))
    bill.add(env, "CloudWatch alarms", "standard-resolution alarms", alarms, "alarm-month", "alarm_month")
    for group in stack.of_type("AWS::Logs::LogGroup"):
        kind, gb = _log_gb(group, usage)
        vended = kind == "VPC flow logs"
        days = group.properties.get("RetentionInDays")
        name = f"{group.path} ({kind})"
        bill.add(env, "CloudWatch Logs", f"{name}: ingestion", gb, "GB", "vended_log_gb" if vended else "log_ingest_gb")
        stored = gb * retention_months(days)
        bill.add(
            env, "CloudWatch Logs", f"{name}: storage, {days} days kept", stored, "GB-month", "log_storage_gb_month"
        )
    for repository in stack.of_type("AWS::ECR::Repository"):
        images = _kept_images(repository)
        bill.add(
            env, "ECR", f"storage ({images:g} release images kept)", images * usage.image_gb, "GB-month", "ecr_gb_month"
        )
    for bucket in stack.of_type("AWS::S3::Bucket"):
        days = _expiration_days(bucket) or 365.0
        encrypted_with_kms = "aws:kms" in json.dumps(bucket.properties.get("BucketEncryption", {}))
        if encrypted_with_kms:  # the artifact store: releases kept for its expiration
            stored = usage.artifact_gb_per_release * usage.releases_per_month * days / 30
            bill.add(env, "S3", f"{bucket.path}: artifacts, {days:g} days kept", stored, "GB-month", "s3_gb_month")
        else:
            stored = usage.access_log_gb * days / 30
            bill.add(env, "S3", f"{bucket.path}: access logs, {days:g} days kept", stored, "GB-month", "s3_gb_month")
    for pipeline in stack.of_type("AWS::CodePipeline::Pipeline"):
        minutes = _pipeline_minutes(model, pipeline, usage)
        bill.add(
            env,
            "CodePipeline",
            "V2 action execution minutes",
            minutes * usage.releases_per_month,
            "min",
            "codepipeline_action_minute",
        )
    for project in stack.of_type("AWS::CodeBuild::Project"):
        minutes = usage.scan_minutes if "scan" in project.path.lower() else usage.build_minutes
        compute = str(project.properties.get("Environment", {}).get("ComputeType"))
        key = {
            "BUILD_GENERAL1_SMALL": "codebuild_small_minute",
            "BUILD_GENERAL1_MEDIUM": "codebuild_medium_minute",
        }.get(compute, "codebuild_medium_minute")
        bill.add(env, "CodeBuild", f"{project.path} ({compute})", minutes * usage.releases_per_month, "min", key)
    for function in stack.of_type("AWS::Lambda::Function"):
        if "hook" not in str(function.properties.get("FunctionName", "")):
            continue  # custom-resource handlers run only during a deploy
        memory = float(function.properties.get("MemorySize", 128)) / 1024
        # The hook's invoker and its prober (components/ecs_blue_green/lifecycle_hook.py), each named by its path.
        bill.add(
            env,
            "Lambda",
            f"{function.path} (release hook): requests",
            usage.releases_per_month / 1e6,
            "M requests",
            "lambda_1m_requests",
        )
        bill.add(
            env,
            "Lambda",
            f"{function.path} (release hook): compute",
            usage.releases_per_month * usage.hook_seconds * memory,
            "GB-s",
            "lambda_gb_second",
        )


def _network_price_key(item: str) -> str:
    """The price of a ``tools/network_cost.py`` line, by its item."""
    for start, key in (
        ("Interface endpoint ENI", "interface_endpoint_hour"),
        ("Interface endpoint data", "interface_endpoint_gb"),
        ("Cross-AZ to endpoint zones", "interface_endpoint_cross_az_gb"),
        ("S3 gateway endpoint", "gateway_endpoint_gb"),
        ("NAT gateway hours", "nat_gateway_hour"),
        ("Public IPv4", "public_ipv4_hour"),
    ):
        if item.startswith(start):
            return key
    raise KeyError(f"no price for the network line {item!r}")


def _termination_wait(group: Resource) -> float:
    config = group.properties.get("BlueGreenDeploymentConfiguration", {})
    return float(config.get("TerminateBlueInstancesOnDeploymentSuccess", {}).get("TerminationWaitTimeInMinutes", 0))


def _pipeline_minutes(model: AppModel, pipeline: Resource, usage: Usage) -> float:
    """Billed action minutes of one release: manual approvals are not billed."""
    waits = {
        model.stack(g.stack).account: _termination_wait(g)
        for s in model.stacks.values()
        for g in s.of_type("AWS::CodeDeploy::DeploymentGroup")
    }
    total = 0.0
    for stage in pipeline.properties.get("Stages", []):
        for action in stage.get("Actions", []):
            category = action.get("ActionTypeId", {}).get("Category")
            if category == "Source":
                total += usage.source_minutes
            elif category == "Build":
                name = str(action.get("Name", "")).lower()
                total += usage.scan_minutes if "scan" in name else usage.build_minutes
            elif category == "Deploy":
                account = str(action.get("RoleArn", "")).split(":")[4] if ":" in str(action.get("RoleArn", "")) else ""
                total += usage.deploy_minutes_before_wait + waits.get(account, 0.0)
    return total


def estate(model: AppModel, prices: PriceTable, usage: Usage) -> Bill:
    bill = Bill(prices)
    for stack in model.stacks.values():
        _stack_lines(bill, model, stack, usage)
    return bill


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _quantity(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 else f"{value:.2g}"


def _price(value: float) -> str:
    """A unit price without exponent: 0.0000166667, 0.011, 1."""
    return format(Decimal(repr(value)), "f")


def _totals(lines: Iterable[Line]) -> dict[str, float]:
    totals = dict.fromkeys(ENVIRONMENTS, 0.0)
    for line in lines:
        totals[line.environment] = totals.get(line.environment, 0.0) + line.cost
    return totals


def page(model: AppModel, prices: PriceTable | None = None, usage: Usage | None = None) -> str:
    prices = prices or PriceTable.from_file()
    usage = usage or Usage()
    bill = estate(model, prices, usage)
    totals = _totals(bill.lines)
    total = sum(totals.values())
    by_category = {c: sum(x.cost for x in bill.lines if x.category == c) for c in {x.category for x in bill.lines}}
    biggest = max(sorted(by_category), key=lambda c: by_category[c])
    out = [
        f"List prices for {prices.region} in {prices.currency}, without tax, free tiers or discounts; "
        f"{usage.hours:g} hours a month.",
        "",
        f"**{_money(total)} {prices.currency} a month** for the four accounts. The largest part is "
        f"{biggest} ({_money(by_category[biggest])}, {by_category[biggest] / total:.0%} of the total)"
        + (
            ": the price of task subnets with no route out of the VPC (docs/network.md)."
            if biggest == "VPC endpoints"
            else "."
        ),
        "",
        "### Per environment",
        "",
        "| Environment | Account | Stacks | Monthly cost |",
        "| --- | --- | --- | ---: |",
    ]
    for env in ENVIRONMENTS:
        account = getattr(model.config.accounts, env)
        stacks = ", ".join(f"`{s.name}`" for s in model.stacks.values() if s.account == account)
        out.append(f"| {env} | {account} | {stacks} | {_money(totals[env])} |")
    out.append(f"| **total** | | | **{_money(sum(totals.values()))}** |")
    categories = sorted({line.category for line in bill.lines})
    out += [
        "",
        "### Per resource type",
        "",
        "| Resource type | " + " | ".join(ENVIRONMENTS) + " | Total |",
        "| --- | " + " | ".join("---:" for _ in ENVIRONMENTS) + " | ---: |",
    ]
    for category in sorted(categories, key=lambda c: -sum(x.cost for x in bill.lines if x.category == c)):
        by_env = _totals(line for line in bill.lines if line.category == category)
        cells = " | ".join(_money(by_env[env]) for env in ENVIRONMENTS)
        out.append(f"| {category} | {cells} | {_money(sum(by_env.values()))} |")
    out += [
        "",
        "### Every line",
        "",
        "| Environment | Resource type | Item | Quantity | Unit price | Monthly cost |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for line in sorted(bill.lines, key=lambda x: (ENVIRONMENTS.index(x.environment), x.category, x.item)):
        out.append(
            f"| {line.environment} | {line.category} | {line.item} | {_quantity(line.quantity)} {line.unit} "
            f"| {_price(line.price)} (`{line.price_key}`) | {_money(line.cost)} |"
        )
    out += _nat_section(model, prices, usage)
    out += [
        "",
        "### Usage assumptions",
        "",
        "Counted from the templates: task CPU, memory and desired count; load balancers and the AZs of",
        "their subnets; interface endpoints and their subnets; KMS keys; secrets; alarms; log groups and",
        "their retention; the ECR lifecycle rule's image count; bucket expiration rules; pipeline actions",
        "and each environment's termination wait; build projects and their compute type; the hook's memory.",
        "Assumed (`tools/docgen/cost.py`, `Usage`):",
        "",
        "| Assumption | Value |",
        "| --- | ---: |",
    ]
    descriptions = Usage.descriptions()
    for field in fields(Usage):
        out.append(f"| {descriptions[field.name]} | {getattr(usage, field.name):g} |")
    out += [
        "",
        "### Price table",
        "",
        f"From `docs/prices/{prices.region}.json`. {prices.note}",
        "",
        "| Price | Value | Source | Recorded |",
        "| --- | ---: | --- | --- |",
    ]
    for key in sorted(prices.prices):
        out.append(f"| `{key}` | {_price(prices[key])} | {prices.sources.get(key, '')} | {prices.date(key)} |")
    return "\n".join(out)


def _nat_section(model: AppModel, prices: PriceTable, usage: Usage) -> list[str]:
    network_prices = Prices.from_table(prices)
    traffic = Traffic(api_gb=usage.api_gb, layer_gb=usage.layer_gb, hours=usage.hours)
    out = [
        "",
        "### The NAT-based alternative",
        "",
        "The same VPCs with PRIVATE_WITH_EGRESS subnets, one NAT gateway (and its public IPv4 address)",
        "in each zone the interface endpoints span (the same resilience) and no VPC endpoint, so ECR, S3,",
        "CloudWatch Logs and the other APIs are reached through the NAT gateways, across zones from the",
        "other zones (`tools/network_cost.py`, docs/network.md). Everything else is the same.",
        "",
        "| Environment | AZs | Endpoint AZs | Endpoints (this design) | NAT in the same AZs | Difference |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ours_total = theirs_total = 0.0
    for stack in model.stacks.values():
        if not stack.of_type("AWS::EC2::VPC"):
            continue
        network = inventory(stack.template)
        ours = this_design(network, network_prices, traffic).total
        theirs = nat_per_az_design(network, network_prices, traffic).total
        ours_total, theirs_total = ours_total + ours, theirs_total + theirs
        out.append(
            f"| {model.environment_of(stack.account)} | {network.availability_zones} | {network.endpoint_zones} "
            f"| {_money(ours)} "
            f"| {_money(theirs)} | {ours - theirs:+,.2f} |"
        )
    difference = ours_total - theirs_total
    out.append(f"| **total** | | | **{_money(ours_total)}** | **{_money(theirs_total)}** | **{difference:+,.2f}** |")
    return out
