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
