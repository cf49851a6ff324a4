"""An Aspect that refuses unencrypted data stores: buckets, topics, queues and log groups."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

RULE_ID = "EncryptionAtRest"


@jsii.implements(cdk.IAspect)
class EncryptionAtRestAspect:
    """Every S3 bucket, SNS topic, SQS queue and CloudWatch log group must be encrypted.

    Buckets need an explicit ``BucketEncryption``; topics and log groups a KMS key; queues
    a KMS key or SQS-managed encryption. A violation is a validation error on the resource,
    which stops synthesis and names the construct path.
    """

    def visit(self, node: IConstruct) -> None:
        problem = self._problem(node)
        if problem:
            cdk.Validations.of(node).add_error(RULE_ID, f"{node.node.path}: {problem}")

    @staticmethod
    def _problem(node: IConstruct) -> str | None:
        if isinstance(node, s3.CfnBucket) and node.bucket_encryption is None:
            return "S3 bucket is not encrypted: set encryption (S3_MANAGED or KMS)"
        if isinstance(node, sns.CfnTopic) and node.kms_master_key_id is None:
            return "SNS topic is not encrypted: set master_key to a KMS key"
        if isinstance(node, sqs.CfnQueue) and node.kms_master_key_id is None and not node.sqs_managed_sse_enabled:
            return "SQS queue is not encrypted: set encryption (SQS_MANAGED or KMS)"
        if isinstance(node, logs.CfnLogGroup) and node.kms_key_id is None:
            return "CloudWatch log group is not encrypted: set encryption_key to a KMS key"
        return None
