"""The encrypted SNS topic that carries approval requests and release outcomes, and its KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class ReleaseNotifications(Construct):
    """A KMS-encrypted, TLS-only topic with one email subscription, and the key that encrypts it.

    The key is also the one the pipeline's CloudWatch log groups use, so its policy lets
    CloudWatch Logs use it for log groups of this account and region only. (The EventBridge
    targets that publish to the topic add the statement for ``events.amazonaws.com`` themselves.)
    """

    def __init__(self, scope: Construct, construct_id: str, *, key_alias: str, email: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            alias=key_alias,
            description="Encrypts the release notifications topic and the build log groups",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.topic = sns.Topic(
            self, "Topic", display_name="Release notifications", master_key=self.key, enforce_ssl=True
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email))
