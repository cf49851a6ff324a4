"""Access logs are audit evidence: both access-log buckets are versioned, and keep deleted logs for a while."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from components.ecs_blue_green.load_balancer import NONCURRENT_LOG_DAYS
from config import Config
from pipelines.artifact_store import ACCESS_LOG_DAYS, NONCURRENT_VERSION_DAYS
from tests.support import SynthesizedApp

ENVIRONMENTS = ("dev", "staging", "prod")


def versioned_log_bucket(retention_days: int, noncurrent_days: int) -> dict[str, object]:
    return {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "LifecycleConfiguration": {
            "Rules": [
                Match.object_like(
                    {
                        "ExpirationInDays": retention_days,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
                        "Status": "Enabled",
                    }
                )
            ]
        },
    }


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_load_balancer_access_logs_are_versioned_sse_s3_evidence(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    environment = config.environment(name)
    template = synthesized.template(f"{environment.title}-Service")
    template.has_resource_properties(
        "AWS::S3::Bucket", versioned_log_bucket(environment.log_retention_days, NONCURRENT_LOG_DAYS)
    )


def test_artifact_access_logs_are_versioned_sse_s3_evidence(synthesized: SynthesizedApp) -> None:
    synthesized.template("Tools-Pipeline").has_resource_properties(
        "AWS::S3::Bucket", versioned_log_bucket(ACCESS_LOG_DAYS, NONCURRENT_VERSION_DAYS)
    )
