"""The release health alarms: each configured alarm once per target group, and the load balancer's own 5xx."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.kms_policies import allow_cloudwatch_alarms

#: What each configurable alarm watches: metric, statistic, threshold, and what it means.
WATCHED = {
    "target_5xx": ("HTTPCode_Target_5XX_Count", "Sum", 5, "answered with 5xx responses"),
    "unhealthy_hosts": ("UnHealthyHostCount", "Maximum", 1, "has unhealthy tasks"),
    "target_response_time": ("TargetResponseTime", "p99", 2, "answers slower than 2 seconds at p99"),
}

#: 5xx answers the load balancer itself gives in one minute that page and roll a release back.
#: An ALB answers 503 to every request a listener forwards to a target group without registered
#: targets, 502/504 when targets drop or time out (ELB user guide, "Troubleshoot your Application
#: Load Balancers", HTTP 502/503/504). Five, like ``target_5xx``: a lone 502 from a task closing
#: a keep-alive connection does not roll a release back, production on an empty group does at
#: five requests a minute. A constant, not configuration: ``[environments.<env>].alarms`` chooses
#: alarms by name and keeps no thresholds, and this alarm is not optional.
LOAD_BALANCER_5XX_THRESHOLD = 5
#: One-minute periods: the ALB sends its metrics every 60 seconds (ELB user guide, "CloudWatch
#: metrics for your Application Load Balancer"), so the alarm can go to ALARM at the end of the
#: first minute with errors, within the issue's 2 minutes.
LOAD_BALANCER_5XX_PERIOD = cdk.Duration.minutes(1)


class HealthAlarms:
    """One CloudWatch alarm per configured alarm and target group, and one on the load balancer's own 5xx.

    Both controllers swap the roles of the two target groups on every release: the new
    revision of the next release starts in the group that served production before.
    Watching both means every release is watched, whichever group it lands in. The alarms
    are named (``alarm_name(alarm, colour)``) because the release controller here and the
    pipeline in the tools account both refer to them by name.

    The target-group alarms cannot see production on an empty target group: a group without
    targets sends no target metrics, and they treat missing data as not breaching. The load
    balancer can: it answers 503 itself and counts it in ``HTTPCode_ELB_5XX_Count`` with the
    ``LoadBalancer`` dimension, whichever group the listener forwards to (docs/ecs-blue-green.md, "The alarms"). It
    needs no knowledge of which group is live, which only the release controller knows.

    A part of ``ReleasedFargateService``, not a construct of its own: it builds into the scope it
    is given (the service) and adds no path segment, so its resources keep the logical ids they
    had before the service was split into files (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        *,
        alarms: Sequence[str],
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_groups: Mapping[str, elbv2.ApplicationTargetGroup],
        alarm_name: Callable[[str, str], str],
        load_balancer_alarm_name: str,
        rolled_back_by: str,
    ) -> None:
        self._scope = scope
        self.alarms: list[cloudwatch.Alarm] = []
        self.load_balancer_5xx = self._load_balancer_5xx(load_balancer, load_balancer_alarm_name, rolled_back_by)
        for name in alarms:
            metric_name, statistic, threshold, meaning = WATCHED[name]
            for colour, target_group in target_groups.items():
                # A target group is attached to a listener only while it serves, so its metrics
                # are named by dimension rather than through the target group object.
                metric = cloudwatch.Metric(
                    namespace="AWS/ApplicationELB",
                    metric_name=metric_name,
                    dimensions_map={
                        "LoadBalancer": load_balancer.load_balancer_full_name,
                        "TargetGroup": target_group.target_group_full_name,
                    },
                    statistic=statistic,
                    period=cdk.Duration.minutes(1),
                )
                alarm = cloudwatch.Alarm(
                    self._scope,
                    "Alarm" + "".join(part.capitalize() for part in name.split("_")) + colour,
                    alarm_name=alarm_name(name, colour.lower()),
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=2,
                    datapoints_to_alarm=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=(
                        f"The {colour.lower()} target group {meaning}: {rolled_back_by} rolls a release back."
                    ),
                )
                self.alarms.append(alarm)
        self.alarms.append(self.load_balancer_5xx)

    def _load_balancer_5xx(
        self, load_balancer: elbv2.ApplicationLoadBalancer, alarm_name: str, rolled_back_by: str
    ) -> cloudwatch.Alarm:
        """``HTTPCode_ELB_5XX_Count`` of the whole load balancer, Sum per minute.

        All 5xx rather than ``HTTPCode_ELB_503_Count`` alone: 502 and 504 are how unhealthy
        targets look from the load balancer too. Missing data is not breaching, and that is right
        here: the ALB reports a count "only when requests are flowing" and only non-zero values
        (ELB user guide, "CloudWatch metrics for your Application Load Balancer"), so a minute
        without data is a minute without an error ("Configuring how CloudWatch alarms treat
        missing data", CloudWatch user guide).
        """
        metric = load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, statistic="Sum", period=LOAD_BALANCER_5XX_PERIOD
        )
        return cloudwatch.Alarm(
            self._scope,
            "AlarmLoadBalancer5xx",
            alarm_name=alarm_name,
            metric=metric,
            threshold=LOAD_BALANCER_5XX_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                "The load balancer itself answers with 5xx (503: the live target group has no registered "
                f"targets): people are paged, and {rolled_back_by} rolls a release back."
            ),
        )

    def notify(self, topic: sns.ITopic, key: kms.IKey) -> None:
        """Every alarm also notifies ``topic``, encrypted with ``key`` (Control Tower CT.CLOUDWATCH.PR.1).

        The release controller rolls a release back when one fires; the action tells people at
        once, also when no release runs. The topic policy admits exactly these alarms; the key
        lets CloudWatch encrypt for the topic (components/kms_policies.py).
        """
        if not self.alarms:
            return
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        for alarm in self.alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowHealthAlarms",
                principals=[cloudwatch_service],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in self.alarms]}},
            )
        )
        allow_cloudwatch_alarms(key)

    @property
    def alarm_names(self) -> list[str]:
        return [alarm.alarm_name for alarm in self.alarms]
