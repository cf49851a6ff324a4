"""The encrypted SNS topic that carries approval requests and release outcomes, and its KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from components.kms_policies import allow_cloudwatch_logs, deny_grants_except_for_aws_resources


class ReleaseNotifications(Construct):
    """A KMS-encrypted, TLS-only topic with one email subscription, and the key that encrypts it.

    The key is also the one the pipeline's CloudWatch log groups use, so its policy lets
    CloudWatch Logs use it for log groups of this account and region only. (The EventBridge
    targets that publish to the topic add the statement for ``events.amazonaws.com`` themselves.)
    """

    def __init__(self, scope: Construct, construct_id: str, *, key_alias: str, email: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=key_alias,
            description="Encrypts the release notifications topic and the build log groups",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(self.key)
        deny_grants_except_for_aws_resources(self.key)
        self.topic = sns.Topic(
            self, "Topic", display_name="Release notifications", master_key=self.key, enforce_ssl=True
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email))
