"""The post-deploy bake: watch one environment's health alarms, from the tools account, for a set time.

CodePipeline runs this function through a ``LambdaInvoke`` rule in the ``onSuccess`` condition of
a deploy stage (pipelines/stage_conditions.py). The alarms live in the target account, so the
function assumes that account's alarm reader role (``cloudwatch:DescribeAlarms`` on exactly these
alarms) and polls their state until the bake time is over. It fails at the first sign that the
release is not healthy, so that the condition's ROLLBACK result engages:

- an alarm in ``ALARM``;
- an alarm that does not exist (a typo in the configuration must not pass as healthy);
- the role or the alarms cannot be read (``AccessDenied`` and the like): health is unknown;
- throttling that lasts until the end of the bake, so the final state was never read.

``INSUFFICIENT_DATA`` passes: an alarm on a quiet environment has no data points, and the
release controller's own alarms treat missing data the same way. Every outcome is one JSON log line.

The rule reference (https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-LambdaInvoke.html)
documents only ``FunctionName`` and ``UserParameters``, not the event or how the function reports
its result. So the function reads nothing from the event except a job id, and reports both ways:
through ``PutJobSuccessResult``/``PutJobFailureResult`` when the event carries a job id (as the
Lambda invoke action does), and by returning normally or raising :class:`BakeFailed`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

POLL_SECONDS = 30
#: Stop polling this long before Lambda would stop the function, to report the result in time.
REPORT_MARGIN_SECONDS = 20
#: The shortest session STS grants; the bake (at most 14 minutes) fits inside it.
SESSION_SECONDS = 900
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException"}
)
#: Standard retries with backoff for each call; what is still throttled after them waits for the next poll.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class BakeFailed(Exception):
    """The environment was not shown healthy for the whole bake; the rule fails."""


@dataclass(frozen=True)
class Settings:
    environment: str
    role_arn: str
    region: str
    alarm_names: tuple[str, ...]
    bake_seconds: int

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Settings:
        return cls(
            environment=env["ENVIRONMENT"],
            role_arn=env["ALARM_READER_ROLE_ARN"],
            region=env["ALARM_REGION"],
            alarm_names=tuple(json.loads(env["ALARM_NAMES"])),
            bake_seconds=int(env["BAKE_MINUTES"]) * 60,
        )


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str
    environment: str
    checks: int
    firing: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    insufficient_data: tuple[str, ...] = ()
    error: str | None = None

    def log_line(self) -> str:
        return json.dumps(
            {
                "outcome": "PASSED" if self.passed else "FAILED",
                "reason": self.reason,
                "environment": self.environment,
                "checks": self.checks,
                "firing": list(self.firing),
                "missing": list(self.missing),
                "insufficient_data": list(self.insufficient_data),
                "error": self.error,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class Reading:
    """One look at the alarms: their states, or the error code that prevented it."""

    states: dict[str, str]
    error: str | None = None


def read_alarms(cloudwatch: Any, names: Sequence[str]) -> Reading:
    states: dict[str, str] = {}
    try:
        # DescribeAlarms takes at most 100 names per call.
        for start in range(0, len(names), 100):
            # Metric alarms only: DescribeAlarms returns composite alarms only to a caller whose
            # permission is scoped to * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
            # API_DescribeAlarms.html), and the reader role is scoped to exactly the watched alarms.
            response = cloudwatch.describe_alarms(
                AlarmNames=list(names[start : start + 100]), AlarmTypes=["MetricAlarm"]
            )
            for alarm in response.get("MetricAlarms", []):
                states[alarm["AlarmName"]] = alarm["StateValue"]
    except ClientError as error:
        return Reading(states={}, error=str(error.response.get("Error", {}).get("Code", "ClientError")))
    except BotoCoreError as error:
        return Reading(states={}, error=type(error).__name__)
    return Reading(states=states)


def bake(
    settings: Settings,
    cloudwatch: Any,
    *,
    seconds_left: Callable[[], float],
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Poll the alarms until the bake is over or one of them shows the release unhealthy."""
    deadline = now() + min(settings.bake_seconds, max(0.0, seconds_left() - REPORT_MARGIN_SECONDS))
    checks = 0
    insufficient: set[str] = set()

    def outcome(passed: bool, reason: str, **details: Any) -> Outcome:
        return Outcome(passed=passed, reason=reason, environment=settings.environment, checks=checks, **details)

    while True:
        reading = read_alarms(cloudwatch, settings.alarm_names)
        checks += 1
        if reading.error and reading.error not in THROTTLING_CODES:
            return outcome(False, "the alarms could not be read", error=reading.error)
        if not reading.error:
            missing = tuple(name for name in settings.alarm_names if name not in reading.states)
            if missing:
                return outcome(False, "alarms do not exist", missing=missing)
            firing = tuple(name for name, state in reading.states.items() if state == "ALARM")
            if firing:
                return outcome(False, "alarms fired during the bake", firing=firing)
            insufficient |= {name for name, state in reading.states.items() if state == "INSUFFICIENT_DATA"}
        remaining = deadline - now()
        if remaining <= 0:
            if reading.error:
                return outcome(False, "the alarms were throttled at the end of the bake", error=reading.error)
            return outcome(True, "no alarm fired during the bake", insufficient_data=tuple(sorted(insufficient)))
        sleep(min(POLL_SECONDS, remaining))


def alarm_client(settings: Settings) -> Any:
    """A CloudWatch client in the target account, as its alarm reader role."""
    credentials = boto3.client("sts", config=CLIENT_CONFIG).assume_role(
        RoleArn=settings.role_arn,
        RoleSessionName=f"bake-{settings.environment}",
        DurationSeconds=SESSION_SECONDS,
    )["Credentials"]
    return boto3.client(
        "cloudwatch",
        region_name=settings.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=CLIENT_CONFIG,
    )


def report(codepipeline: Any, job_id: str | None, outcome: Outcome) -> None:
    if job_id is None:
        return
    if outcome.passed:
        codepipeline.put_job_success_result(jobId=job_id)
    else:
        codepipeline.put_job_failure_result(
            jobId=job_id, failureDetails={"type": "JobFailed", "message": outcome.reason[:5000]}
        )


def run(
    event: dict[str, Any],
    settings: Settings,
    *,
    cloudwatch: Callable[[Settings], Any],
    codepipeline: Callable[[], Any],
    seconds_left: Callable[[], float],
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    job = event.get("CodePipeline.job")
    job_id = job.get("id") if isinstance(job, dict) else None
    try:
        client = cloudwatch(settings)
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else type(error).__name__
        outcome = Outcome(False, "the alarm reader role could not be assumed", settings.environment, 0, error=str(code))
    else:
        outcome = bake(settings, client, seconds_left=seconds_left, now=now, sleep=sleep)
    print(outcome.log_line())
    report(codepipeline() if job_id else None, job_id, outcome)
    if not outcome.passed:
        raise BakeFailed(outcome.reason)
    return {"outcome": "PASSED", "checks": outcome.checks}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(
        event,
        Settings.from_environment(dict(os.environ)),
        cloudwatch=alarm_client,
        codepipeline=lambda: boto3.client("codepipeline", config=CLIENT_CONFIG),
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
