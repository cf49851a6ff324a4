"""The pipeline's artifact store: a KMS key, the artifact bucket and the bucket that keeps its access logs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from components.compliance import acknowledge, control_tower, exempt
from components.kms_policies import deny_grants_except_for_aws_resources

#: A deleted or expired artifact version stays recoverable for this many days.
NONCURRENT_VERSION_DAYS = 30
#: Server access logs are audit evidence: they outlive the artifacts they describe.
ACCESS_LOG_DAYS = 365
#: What a target account's deploy role may do with an artifact: read it, nothing else.
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


class ArtifactStore(Construct):
    """Where the release pipeline keeps its artifacts, readable by the target accounts' deploy roles only.

    The key rotates yearly. Its policy keeps CDK's account statement (so IAM policies in this
    account, such as the pipeline's and the builds' roles, can be granted use of it) and adds
    one statement for the target accounts: decrypt and describe only, for principals whose
    ARN is one of ``reader_role_arns``. The bucket is versioned, private, TLS-only, expires
    old artifacts, logs every request to a separate bucket, and lets the same principals read
    objects. Account principals with an ``aws:PrincipalArn`` condition are used on purpose:
    S3 and KMS reject a policy that names a role that does not exist yet, and the deploy roles
    are created after this stack. With no reader (every environment released by ECS, whose
    releases read no artifact in another account), neither statement is written.

    ``pipeline_bucket`` is a reference to the same bucket for ``codepipeline.Pipeline``: CDK's
    pipeline grants each cross-account action role read access by writing that role's ARN into
    the bucket policy, which would fail for the same reason. Through the reference those grants
    stay on the identity side, and the resource policies are exactly the ones written here.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key_alias: str,
        retention_days: int,
        reader_accounts: Sequence[str],
        reader_role_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        readers = [iam.AccountPrincipal(account) for account in reader_accounts]
        reader_condition = {"ArnEquals": {"aws:PrincipalArn": list(reader_role_arns)}}
        self.key = self._build_key(key_alias, readers, reader_condition)
        self.access_log_bucket = self._build_access_log_bucket()
        self.bucket = self._build_bucket(bucket_name, retention_days, readers, reader_condition)
        self.pipeline_bucket = s3.Bucket.from_bucket_attributes(
            self,
            "PipelineView",
            bucket_arn=self.bucket.bucket_arn,
            bucket_name=self.bucket.bucket_name,
            encryption_key=kms.Key.from_key_arn(self, "PipelineKeyView", self.key.key_arn),
        )

    def _build_key(
        self, key_alias: str, readers: list[iam.AccountPrincipal], reader_condition: dict[str, Any]
    ) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            alias=key_alias,
            description="Encrypts the release pipeline's artifacts and builds",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        deny_grants_except_for_aws_resources(key)
        if readers:
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DecryptForTargetAccountDeployRoles",
                    principals=readers,
                    actions=list(DECRYPT_ACTIONS),
                    resources=["*"],
                    conditions=reader_condition,
                )
            )
        return key

    def _build_access_log_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            # Server access logs can only be delivered to a bucket with SSE-S3 encryption.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # Versioned, as audit evidence should be: a deleted or overwritten log stays recoverable.
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=cdk.Duration.days(ACCESS_LOG_DAYS),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                )
            ],
        )
        sse_s3_only = (
            "Amazon S3 delivers server access logs only to a bucket encrypted with SSE-S3, so a KMS key here "
            "would stop the delivery of every log."
        )
        exempt(
            bucket,
            sse_s3_only,
            nag=["NIST.800.53.R5-S3DefaultEncryptionKMS"],
            control_tower_controls=["CT.S3.PR.10"],
        )
        # No AwsSolutions-S1 finding here: cdk-nag recognises a bucket that receives access logs.
        exempt(
            bucket,
            "This bucket receives the artifact bucket's server access logs; logging its own requests would need "
            "a third bucket and would record only the log delivery service writing here.",
            checkov_checks=["CKV_AWS_18"],
            control_tower_controls=["CT.S3.PR.2"],
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.4",
            "No process reacts to a new access log: they are read when someone investigates, and an event "
            "notification would need CDK's notification custom resource, a Lambda function with its own role, "
            "to send events that nobody consumes.",
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.9",
            f"The logs expire after {ACCESS_LOG_DAYS} days by lifecycle rule and the bucket is versioned against "
            "overwrites; Object Lock, which can only be turned on when a bucket is created, would add a second "
            "retention that the lifecycle rule could not shorten.",
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "These logs describe the artifact bucket of this region only and are versioned against deletion, "
            "so a replica in a second region would double their cost without a recovery need.",
        )
        return bucket

    def _build_bucket(
        self,
        bucket_name: str,
        retention_days: int,
        readers: list[iam.AccountPrincipal],
        reader_condition: dict[str, Any],
    ) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldArtifacts",
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Every artifact is rebuilt from the source repository by the next pipeline run and the bucket is "
            "versioned, so a replica in a second region would protect nothing that cannot be recreated.",
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.4",
            "CodePipeline writes and reads these artifacts itself and starts from the source connection, not "
            "from bucket events; an event notification would need CDK's notification custom resource, a "
            "Lambda function with its own role, to send events that nobody consumes.",
        )
        control_tower.skip(
            bucket,
            "CT.S3.PR.9",
            "Every artifact is rebuilt from the source repository by the next pipeline run and expires with "
            "artifact_retention_days; Object Lock would keep superseded artifacts that nobody may delete, and "
            "versioning already protects the current ones against overwrites.",
        )
        if readers:
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="ReadForTargetAccountDeployRoles",
                    principals=readers,
                    actions=list(READ_ACTIONS),
                    resources=[bucket.arn_for_objects("*")],
                    conditions=reader_condition,
                )
            )
        return bucket
