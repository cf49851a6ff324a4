"""Acknowledgements for the wildcard findings of CDK's own artifact-bucket and key grants.

CodePipeline and CodeBuild grant their roles access to the artifact store with CDK's standard
grants (``grantRead``/``grantReadWrite``, ``grantEncryptDecrypt``). Those name action groups
(``s3:GetObject*``) and every object of the bucket, which cdk-nag reports one finding at a
time. Each finding is acknowledged here, on the role that carries it, with the same facts:
the bucket and the key belong to this pipeline alone.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from components.compliance.nag import acknowledge_each

READ_ACTIONS = ("s3:GetBucket*", "s3:GetObject*", "s3:List*")
WRITE_ACTIONS = ("s3:Abort*", "s3:DeleteObject*")
KEY_ACTIONS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def bucket_objects_finding(bucket: s3.IBucket) -> str:
    """How cdk-nag names "every object of this bucket": ``<LogicalId.Arn>/*``."""
    stack = cdk.Stack.of(bucket)
    logical_id = stack.resolve(stack.get_logical_id(bucket.node.default_child))  # type: ignore[arg-type]
    return f"Resource::<{logical_id}.Arn>/*"


def acknowledge_artifact_access(role: IConstruct, *, bucket: s3.IBucket, write: bool, who: str) -> None:
    """Acknowledge the findings of an artifact-store grant to ``role`` (``who`` says what the role is)."""
    actions = READ_ACTIONS + (WRITE_ACTIONS if write else ())
    findings = [
        (
            f"AwsSolutions-IAM5[Action::{action}]",
            f"CDK grants {who} {action} on the pipeline's own artifact bucket only, which holds nothing but "
            "this pipeline's release artifacts.",
        )
        for action in actions
    ]
    findings.append(
        (
            f"AwsSolutions-IAM5[{bucket_objects_finding(bucket)}]",
            f"CodePipeline names artifact objects at run time, so {who} reaches every object of the artifact "
            "bucket, which holds only this pipeline's release artifacts.",
        )
    )
    acknowledge_each(role, [*findings, *key_use_findings(who=who, key="the artifact key")])


def key_use_findings(*, who: str, key: str, actions: tuple[str, ...] = KEY_ACTIONS) -> list[tuple[str, str]]:
    return [
        (
            f"AwsSolutions-IAM5[Action::{action}]",
            f"CDK grants {who} {action} on {key} alone, the standard grant for writing data encrypted with one key.",
        )
        for action in actions
    ]


def acknowledge_key_use(role: IConstruct, *, who: str, key: str, actions: tuple[str, ...] = KEY_ACTIONS) -> None:
    acknowledge_each(role, key_use_findings(who=who, key=key, actions=actions))
