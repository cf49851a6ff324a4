"""The ECR repository of the service image: immutable release tags, scanned on push, pull-only for targets."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

# Every image the pipeline publishes is tagged ``release-<digest of what goes into the image>``
# (pipelines/app_digest.py); nothing is ever tagged ``latest``. The lifecycle policy keeps the
# newest release images by this prefix. Other tags (such as the ``initial_image_tag`` pushed by
# hand before the first deployment) are never expired by it.
from pipelines.app_digest import RELEASE_TAG_PREFIX

#: Images that lost their tag (a failed push, a re-tag) are removed after this many days.
UNTAGGED_IMAGE_DAYS = 7
#: The only actions a target account's task execution role needs to pull an image.
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


class ImageRepository(Construct):
    """An ECR repository the tools account pushes to and the target accounts' services pull from.

    Tags are immutable, so a release tag always names the image that was scanned and tested.
    Images are encrypted with KMS (the account's AWS managed ``aws/ecr`` key: ECR decrypts
    through its own grant, so pullers in other accounts need no key permission). The
    repository policy lets the ``puller_accounts`` pull, and only their principals whose ARN
    is one of ``puller_role_arns``: account principals with an ``aws:PrincipalArn`` condition,
    because a repository policy naming a role that does not exist yet is rejected.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        puller_accounts: Sequence[str],
        puller_role_arns: Sequence[str],
        release_images_to_keep: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.KMS,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"Keep the newest {release_images_to_keep} release images ({RELEASE_TAG_PREFIX}<sha>)",
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_prefix_list=[RELEASE_TAG_PREFIX],
                    max_image_count=release_images_to_keep,
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"Expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=cdk.Duration.days(UNTAGGED_IMAGE_DAYS),
                ),
            ],
        )
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PullFromTargetAccountExecutionRoles",
                principals=[iam.AccountPrincipal(account) for account in puller_accounts],
                actions=list(PULL_ACTIONS),
                conditions={"ArnEquals": {"aws:PrincipalArn": list(puller_role_arns)}},
            )
        )
