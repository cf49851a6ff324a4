"""The role a target account lends the tools account's post-deploy bake: read exactly the watched alarms."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge_inline_policies

MAX_SESSION = cdk.Duration.hours(1)


class AlarmReaderRole(Construct):
    """A role that only the bake function's role (by ARN) may assume, allowed ``cloudwatch:DescribeAlarms``
    on exactly ``alarm_arns``.

    CodePipeline's CloudWatchAlarm rule names an alarm by name and reads the pipeline's own
    account (https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-CloudWatchAlarm.html),
    so the tools account's bake function reads the target account's alarms through this role
    instead. Alarm names are deterministic (``Names.bake_alarms``): the role does not depend on
    which release controller created them. Metric alarms only: DescribeAlarms returns composite
    alarms only to a caller allowed on ``*``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        reader_role_arn: str,
        alarm_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            # The bake function's role exists: Tools-Pipeline is deployed before this stack.
            assumed_by=iam.ArnPrincipal(reader_role_arn),
            max_session_duration=MAX_SESSION,
            description="Assumed by the tools account's release bake to read this environment's health alarms",
        )
        self.policy = iam.Policy(
            self,
            "ReadWatchedAlarms",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="DescribeTheWatchedAlarms", actions=["cloudwatch:DescribeAlarms"], resources=list(alarm_arns)
                )
            ],
        )
        acknowledge_inline_policies(self.policy)
