"""Every deterministic name stays within what AWS accepts, even with the longest valid configuration."""

from __future__ import annotations

import dataclasses
import re

import pytest

from components.naming import Names
from config import Config
from config.settings import aws_regions


@pytest.fixture
def longest(config: Config) -> Names:
    """The longest project and service names the configuration accepts, in the longest region."""
    return Names(
        dataclasses.replace(
            config,
            project="p" + "roject-name" * 2 + "x",  # 24 characters
            service=dataclasses.replace(config.service, name="s" + "ervice-name" * 2 + "x"),
            region=max(aws_regions(), key=len),
        )
    )


def test_the_fixture_uses_the_configuration_maximums(longest: Names) -> None:
    assert len(longest.config.project) == 24
    assert len(longest.config.service.name) == 24


@pytest.mark.parametrize(
    ("attribute", "limit", "pattern", "what"),
    [
        ("execution_role", 64, r"[\w+=,.@-]+", "IAM role name"),
        ("task_role", 64, r"[\w+=,.@-]+", "IAM role name"),
        ("deploy_role", 64, r"[\w+=,.@-]+", "IAM role name"),
        ("pipeline_role", 64, r"[\w+=,.@-]+", "IAM role name"),
        ("hook_function", 64, r"[a-zA-Z0-9-_]+", "Lambda function name"),
        ("live_traffic_function", 64, r"[a-zA-Z0-9-_]+", "Lambda function name"),
        ("alarm_reader_role", 64, r"[\w+=,.@-]+", "IAM role name"),
        ("artifact_bucket", 63, r"[a-z0-9][a-z0-9-]*[a-z0-9]", "S3 bucket name"),
        ("ecr_repository", 256, r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", "ECR repository"),
        ("codedeploy_application", 100, r"[\w.+-]+", "CodeDeploy application name"),
        ("deployment_group", 100, r"[\w.+-]+", "CodeDeploy deployment group name"),
        ("task_family", 255, r"[A-Za-z0-9_-]+", "ECS task definition family"),
        ("pipeline", 100, r"[A-Za-z0-9.@_-]+", "CodePipeline name"),
        ("artifact_key_alias", 256, r"alias/[A-Za-z0-9/_-]+", "KMS alias"),
        ("service_log_group", 512, r"[\w/.#-]+", "CloudWatch log group name"),
    ],
)
def test_name_fits_the_aws_limit(longest: Names, attribute: str, limit: int, pattern: str, what: str) -> None:
    name = getattr(longest, attribute)
    assert len(name) <= limit, f"{what} {name!r} is {len(name)} characters; AWS allows {limit}"
    assert re.fullmatch(pattern, name), f"{what} {name!r} has characters AWS refuses"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_bake_function_name_fits_lambda_and_iam(longest: Names, environment: str) -> None:
    """The bake function and its role share the name: it must fit both (64 characters)."""
    name = longest.bake_function(environment)
    assert len(name) <= 64 and re.fullmatch(r"[a-zA-Z0-9-_]+", name), name


def test_bake_watches_each_health_alarm_on_both_target_groups_and_the_load_balancer_then_the_extras(
    config: Config,
) -> None:
    environment = dataclasses.replace(
        config.environment("prod"), bake_alarm_names=("prod-queue-depth", "delivery-ref-prod-web-target-5xx-blue")
    )
    names = Names(config)
    assert names.bake_alarms(environment) == (
        "delivery-ref-prod-web-target-5xx-blue",
        "delivery-ref-prod-web-target-5xx-green",
        "delivery-ref-prod-web-unhealthy-hosts-blue",
        "delivery-ref-prod-web-unhealthy-hosts-green",
        "delivery-ref-prod-web-elb-5xx",
        "prod-queue-depth",
    ), "each name once"
