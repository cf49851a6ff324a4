"""The bake rule's handler with stubbed CloudWatch and CodePipeline clients and a fake clock: no AWS account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from pipelines.bake_check import handler as bake

NAMES = ("delivery-ref-prod-web-target-5xx-blue", "delivery-ref-prod-web-target-5xx-green")
SETTINGS = bake.Settings(
    environment="prod",
    role_arn="arn:aws:iam::444444444444:role/delivery-ref-prod-alarm-reader",
    region="eu-west-1",
    alarm_names=NAMES,
    bake_seconds=60,
)
JOB_EVENT = {"CodePipeline.job": {"id": "11111111-2222-3333-4444-555555555555"}}
REQUEST = {"AlarmNames": list(NAMES), "AlarmTypes": ["MetricAlarm"]}


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


class Clock:
    """Fake time: sleeping moves it on, nothing waits."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def alarms(*states: str) -> dict[str, Any]:
    return {
        "MetricAlarms": [{"AlarmName": name, "StateValue": state} for name, state in zip(NAMES, states, strict=False)],
        "CompositeAlarms": [],
    }


@pytest.fixture
def cloudwatch() -> Iterator[tuple[Any, Stubber]]:
    cw = client("cloudwatch")
    with Stubber(cw) as stubber:
        yield cw, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def codepipeline() -> Iterator[tuple[Any, Stubber]]:
    cp = client("codepipeline")
    with Stubber(cp) as stubber:
        yield cp, stubber
        stubber.assert_no_pending_responses()


def run(event: dict[str, Any], cw: Any, cp: Any, clock: Clock, seconds_left: float = 900) -> dict[str, Any]:
    return bake.run(
        event,
        SETTINGS,
        cloudwatch=lambda _settings: cw,
        codepipeline=lambda: cp,
        seconds_left=lambda: seconds_left,
        now=clock.now,
        sleep=clock.sleep,
    )


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_alarms_ok_for_the_whole_bake_pass_and_report_success(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, cp_stub = codepipeline
    for _ in range(3):  # at 0 s, 30 s and 60 s
        cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    cp_stub.add_response("put_job_success_result", {}, {"jobId": JOB_EVENT["CodePipeline.job"]["id"]})
    clock = Clock()
    assert run(JOB_EVENT, cw, cp, clock) == {"outcome": "PASSED", "checks": 3}
    assert clock.sleeps == [30, 30]
    (line,) = log_lines(capsys)
    assert line["outcome"] == "PASSED" and line["checks"] == 3 and line["environment"] == "prod"


def test_an_alarm_in_alarm_fails_at_once_and_reports_failure(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, cp_stub = codepipeline
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    cw_stub.add_response("describe_alarms", alarms("OK", "ALARM"), REQUEST)
    cp_stub.add_response(
        "put_job_failure_result",
        {},
        {
            "jobId": JOB_EVENT["CodePipeline.job"]["id"],
            "failureDetails": {"type": "JobFailed", "message": "alarms fired during the bake"},
        },
    )
    clock = Clock()
    with pytest.raises(bake.BakeFailed, match="alarms fired during the bake"):
        run(JOB_EVENT, cw, cp, clock)
    assert clock.sleeps == [30], "no further poll after the alarm"
    (line,) = log_lines(capsys)
    assert line["outcome"] == "FAILED" and line["firing"] == [NAMES[1]]


def test_insufficient_data_passes_and_is_logged(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    for _ in range(3):
        cw_stub.add_response("describe_alarms", alarms("INSUFFICIENT_DATA", "OK"), REQUEST)
    assert run({}, cw, cp, Clock())["outcome"] == "PASSED"
    (line,) = log_lines(capsys)
    assert line["insufficient_data"] == [NAMES[0]]


def test_a_missing_alarm_fails_rather_than_passing_unwatched(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    cw_stub.add_response("describe_alarms", alarms("OK"), REQUEST)
    with pytest.raises(bake.BakeFailed, match="alarms do not exist"):
        run({}, cw, cp, Clock())
    (line,) = log_lines(capsys)
    assert line["missing"] == [NAMES[1]] and line["checks"] == 1


def test_access_denied_fails_closed(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    cw_stub.add_client_error("describe_alarms", "AccessDenied", "not authorized", 403, expected_params=REQUEST)
    with pytest.raises(bake.BakeFailed, match="the alarms could not be read"):
        run({}, cw, cp, Clock())
    (line,) = log_lines(capsys)
    assert line["error"] == "AccessDenied"


def test_throttling_is_retried_at_the_next_poll(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    cw_stub.add_client_error("describe_alarms", "Throttling", "Rate exceeded", 400, expected_params=REQUEST)
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    assert run({}, cw, cp, Clock())["outcome"] == "PASSED"
    assert log_lines(capsys)[0]["checks"] == 3


def test_throttling_until_the_end_of_the_bake_fails(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    cw_stub.add_client_error("describe_alarms", "Throttling", "Rate exceeded", 400, expected_params=REQUEST)
    cw_stub.add_client_error("describe_alarms", "Throttling", "Rate exceeded", 400, expected_params=REQUEST)
    with pytest.raises(bake.BakeFailed, match="throttled at the end of the bake"):
        run({}, cw, cp, Clock())
    assert log_lines(capsys)[0]["error"] == "Throttling"


def test_a_role_that_cannot_be_assumed_fails_without_polling(
    codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cp, _ = codepipeline

    def denied(_settings: bake.Settings) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    with pytest.raises(bake.BakeFailed, match="could not be assumed"):
        bake.run({}, SETTINGS, cloudwatch=denied, codepipeline=lambda: cp, seconds_left=lambda: 900)
    (line,) = log_lines(capsys)
    assert line == {**line, "outcome": "FAILED", "checks": 0, "error": "AccessDenied"}


def test_the_bake_ends_before_lambda_stops_the_function(
    cloudwatch: tuple[Any, Stubber], codepipeline: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    cw, cw_stub = cloudwatch
    cp, _ = codepipeline
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    cw_stub.add_response("describe_alarms", alarms("OK", "OK"), REQUEST)
    clock = Clock()
    run({}, cw, cp, clock, seconds_left=bake.REPORT_MARGIN_SECONDS + 10)
    assert clock.sleeps == [10]


def test_settings_come_from_the_function_environment() -> None:
    settings = bake.Settings.from_environment(
        {
            "ENVIRONMENT": "staging",
            "ALARM_READER_ROLE_ARN": "arn:aws:iam::333333333333:role/r",
            "ALARM_REGION": "eu-west-1",
            "ALARM_NAMES": json.dumps(list(NAMES)),
            "BAKE_MINUTES": "5",
        }
    )
    assert settings.alarm_names == NAMES and settings.bake_seconds == 300
