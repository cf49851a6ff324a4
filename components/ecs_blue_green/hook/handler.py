"""Test the new (green) revision through the load balancer's test listener, for either deployment controller.

This is the hook's invoker: the function the release controller calls. It runs outside the VPC, so it
reaches the AWS APIs it calls on their public endpoints with no VPC endpoint: Lambda (the prober) always,
CodeDeploy only under CodeDeploy, EC2 only for an internet-facing load balancer (a function
not connected to a VPC has access to AWS services and the internet;
https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html). It cannot reach the test listener,
which only answers inside the VPC, so each request is sent by the hook's prober
(components/ecs_blue_green/hook_prober/handler.py), a function in the VPC's task subnets that this one
invokes synchronously once per attempt with the URL, the Host header, the timeout and the expected status,
and that answers ``{"healthy": ..., "detail": ..., "status": ...}``. A failed invocation of the prober
counts as a failed attempt.

One invoker, two callers:

CodeDeploy (``AfterAllowTestTraffic`` hook). CodeDeploy sends ``{"DeploymentId": ...,
"LifecycleEventHookExecutionId": ...}`` after it has routed the test listener to the replacement (green)
task set. The function sends up to ATTEMPTS GETs to the test listener (sleeping RETRY_DELAY_SECONDS
between them) and reports ``Succeeded`` or ``Failed`` with ``PutLifecycleEventHookExecutionStatus``;
it returns ``{"status": ..., "reason": ...}``, which CodeDeploy ignores. ``Failed`` makes CodeDeploy stop
the deployment and keep production on the original (blue) task set.

Amazon ECS (ECS-native blue/green, canary and linear deployments; a Lambda lifecycle hook registered for
``POST_TEST_TRAFFIC_SHIFT``, when the test listener rule routes to the new service revision). Every
payload carries ``serviceArn``, ``targetServiceRevisionArn``, ``testTrafficWeights`` and
``productionTrafficWeights``: AWS's sample hooks read them from ``executionDetails``, next to top-level
``lifecycleStage``, ``executionId``, ``resourceArn`` and ``hookDetails``; the developer guide's payload
examples show them at the top level. Both placements are accepted. No API is called to report: ECS reads
the return value. Each invocation sends ONE GET and returns

  ``{"hookStatus": "SUCCEEDED"}``                          healthy answer;
  ``{"hookStatus": "IN_PROGRESS", "callBackDelay": d,       unhealthy, attempts left: ECS invokes the
     "hookDetails": {"attempt": n}}``                       function again after d seconds and passes
                                                            hookDetails back in the next event;
  ``{"hookStatus": "FAILED"}``                              unhealthy on attempt ATTEMPTS, bad settings,
                                                            a malformed event or an unexpected error.

``FAILED`` (and also a raise, or a missing or invalid hookStatus) makes ECS roll the deployment back to
the last successful service revision. ``attempt`` counts the invocations made so far; other keys found
in the incoming hookDetails (for example ones set in the service's lifecycle hook configuration) are
returned with it unchanged. ``d`` is RETRY_DELAY_SECONDS rounded up to a whole number of seconds, at
least 1 and at most 60 (ECS's default is 30 s and its documented example 60 s; the pages below, as read
for this change, state no minimum or maximum). A lifecycle stage other than POST_TEST_TRAFFIC_SHIFT
returns FAILED: at the other stages the test listener does not route all test traffic to the new
revision, so a pass would prove nothing.
References:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html (the stages)
  https://github.com/aws-samples/sample-amazon-ecs-blue-green-deployment-patterns (ecs-bluegreen-lifecycle-hooks)

Runs on Lambda's python3.14 runtime (components/handler_function.py, RUNTIME;
https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html) with the standard library and boto3 only:
deployed from this folder alone.

Time (CodeDeploy path): every AWS call is bounded (_CLIENT_CONFIG), and no attempt starts unless it and the
report still fit in the time Lambda leaves the function (``context.get_remaining_time_in_millis()``); short of
time, the invoker reports Failed and says so, rather than being stopped with nothing reported.

Environment (both controllers):
  PROBER_FUNCTION_NAME           name or ARN of the prober function (required).
  TEST_LISTENER_URL_HOST         DNS name of the load balancer (required).
  TEST_LISTENER_PORT             port of the test listener (required, 1-65535; plain HTTP).
  CHECK_PATH                     path to request (default "/secret-check": the green task really got its secret).
  EXPECTED_STATUS                HTTP status that means healthy (default 200).
  TIMEOUT_SECONDS                per-request timeout (default 5, at most MAX_REQUEST_TIMEOUT_SECONDS: 8).
  ATTEMPTS                       requests before giving up (default 3); for ECS, invocations before FAILED.
  RETRY_DELAY_SECONDS            pause between attempts (default 2, at most 60); for ECS, the callBackDelay
                                 (rounded up, at least 1).
  LOAD_BALANCER_ENI_DESCRIPTION  optional, e.g. "ELB app/my-alb/50dc6c495c0c9188". Set it when the load
                                 balancer is internet-facing: its DNS name then resolves to public addresses
                                 that the prober's isolated subnets cannot reach, so the prober sends the
                                 request to the load balancer's private address (found with
                                 ec2:DescribeNetworkInterfaces) with the Host header set to the DNS name.
                                 Successive attempts (or ECS invocations) go to successive addresses.

Every outcome is logged as one JSON line on stdout. CodeDeploy path: nothing raises before a status is
reported, except an event without the two ids (nothing could be reported for it); if reporting fails, the
error is logged and re-raised: Lambda retries the invocation, and if every try fails the hook times out
and CodeDeploy fails the deployment. ECS path: nothing raises; every failure is a logged FAILED.
An event with neither shape (no CodeDeploy id, no ECS field) takes the CodeDeploy path and raises.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

SUCCEEDED = "Succeeded"
FAILED = "Failed"

# Amazon ECS lifecycle hooks: the hookStatus values, the stage this hook is for, and the fields that mark an event.
ECS_SUCCEEDED = "SUCCEEDED"
ECS_FAILED = "FAILED"
ECS_IN_PROGRESS = "IN_PROGRESS"
ECS_STAGE = "POST_TEST_TRAFFIC_SHIFT"
ECS_EVENT_FIELDS = frozenset(
    {
        "executionDetails",
        "executionId",
        "lifecycleStage",
        "resourceArn",
        "hookDetails",
        "serviceArn",
        "targetServiceRevisionArn",
        "testTrafficWeights",
        "productionTrafficWeights",
    }
)
ATTEMPT_KEY = "attempt"
CALLBACK_DELAY_MIN_SECONDS = 1
CALLBACK_DELAY_MAX_SECONDS = 60
CODEDEPLOY_EVENT_FIELDS = ("DeploymentId", "LifecycleEventHookExecutionId")

_clients: dict[str, Any] = {}
N = TypeVar("N", int, float)


#: The longest request timeout (TIMEOUT_SECONDS) accepted: the prober's own upper bound
#: (hook_prober/handler.py, TIMEOUT_BOUNDS), 2 s under the prober function's 10 s timeout
#: (lifecycle_hook.py, PROBER_TIMEOUT), so the prober answers before Lambda stops it.
MAX_REQUEST_TIMEOUT_SECONDS = 8
#: How long the Lambda client waits for each of the prober's answers: longer than the prober's timeout
#: (lifecycle_hook.py, PROBER_WAIT_SECONDS), so a prober that hangs is stopped by Lambda and answered with an error.
PROBER_WAIT_SECONDS = 15
#: The longest pause before a retry in standard retry mode: "an exponential backoff by a base factor of 2 for a
#: maximum backoff time of 20 seconds" (https://docs.aws.amazon.com/boto3/latest/guide/retries.html).
RETRY_BACKOFF_MAX_SECONDS = 20

# Every client bounds its calls: botocore's defaults are 60 s to connect and 60 s per read
# (https://docs.aws.amazon.com/botocore/latest/reference/config.html), with retries, which could outlast
# the function, and a function that times out reports nothing. The Lambda client does not retry: the hook's
# attempts are the retries. EC2 (DescribeNetworkInterfaces) and CodeDeploy (PutLifecycleEventHookExecutionStatus)
# answer in well under a second; two tries of at most 3 s to connect and 5 s per read each ride out one blip.
# connect_timeout and read_timeout bound the connection and each read from it (same page).
_CLIENT_CONFIG = {
    "lambda": Config(connect_timeout=5, read_timeout=PROBER_WAIT_SECONDS, retries={"total_max_attempts": 1}),
    "ec2": Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}),
    "codedeploy": Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}),
}


def worst_call_seconds(service: str) -> float:
    """The longest one call of ``service``'s client can take: every try connecting and reading to its timeouts."""
    config = _CLIENT_CONFIG[service]
    tries = int(config.retries["total_max_attempts"])
    per_try = float(config.connect_timeout) + float(config.read_timeout)
    return tries * per_try + (tries - 1) * RETRY_BACKOFF_MAX_SECONDS


#: The time one more attempt needs (one invocation of the prober) and the time kept for the report.
ATTEMPT_SECONDS = worst_call_seconds("lambda")
REPORT_SECONDS = worst_call_seconds("codedeploy")


def _client(service: str) -> Any:
    """A boto3 client created on first use, so importing this module needs no AWS configuration."""
    if service not in _clients:
        _clients[service] = boto3.client(service, config=_CLIENT_CONFIG.get(service))
    return _clients[service]


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")), flush=True)


class SettingsError(ValueError):
    """An environment variable of the function is missing or malformed."""


@dataclass(frozen=True)
class HookSettings:
    prober: str
    host: str
    port: int
    check_path: str
    expected_status: int
    timeout_seconds: float
    attempts: int
    retry_delay_seconds: float
    eni_description: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> HookSettings:
        host = environ.get("TEST_LISTENER_URL_HOST", "").strip()
        if not host:
            raise SettingsError("TEST_LISTENER_URL_HOST: expected the load balancer DNS name, got nothing")
        check_path = environ.get("CHECK_PATH", "/secret-check").strip()
        if not check_path.startswith("/"):
            raise SettingsError(f"CHECK_PATH: expected a path starting with /, got {check_path!r}")
        eni_description = environ.get("LOAD_BALANCER_ENI_DESCRIPTION", "").strip() or None
        prober = environ.get("PROBER_FUNCTION_NAME", "").strip()
        if not prober:
            raise SettingsError("PROBER_FUNCTION_NAME: expected the name of the prober function, got nothing")
        return cls(
            prober=prober,
            host=host,
            port=_number(environ, "TEST_LISTENER_PORT", None, int, 1, 65535),
            check_path=check_path,
            expected_status=_number(environ, "EXPECTED_STATUS", "200", int, 100, 599),
            timeout_seconds=_number(environ, "TIMEOUT_SECONDS", "5", float, 0.001, MAX_REQUEST_TIMEOUT_SECONDS),
            attempts=_number(environ, "ATTEMPTS", "3", int, 1, 20),
            retry_delay_seconds=_number(environ, "RETRY_DELAY_SECONDS", "2", float, 0, 60),
            eni_description=eni_description,
        )


def _number(environ: Mapping[str, str], name: str, default: str | None, kind: type[N], low: N, high: N) -> N:
    raw = environ.get(name, "").strip() or default
    expected = f"{'an integer' if kind is int else 'a number'} from {low} to {high}"
    if raw is None:
        raise SettingsError(f"{name}: expected {expected}, got nothing")
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected {expected}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: expected {expected}, got {raw!r}")
    return value


@dataclass(frozen=True)
class ProbeResult:
    healthy: bool
    detail: str
    status: int | None = None


def probe(
    url: str, *, host_header: str | None, timeout: float, expected_status: int, prober: str, lambda_: Any
) -> ProbeResult:
    """One GET, sent by the prober in the VPC: healthy when the status is the expected one and the body is JSON."""
    request = {"url": url, "host_header": host_header, "timeout_seconds": timeout, "expected_status": expected_status}
    try:
        response = lambda_.invoke(
            FunctionName=prober, InvocationType="RequestResponse", Payload=json.dumps(request).encode()
        )
        payload = response["Payload"].read()
    except (ClientError, BotoCoreError) as error:
        return ProbeResult(False, f"invoking the prober failed: {error}")
    if response.get("FunctionError"):
        return ProbeResult(False, f"the prober failed ({response['FunctionError']}): {payload[:500]!r}")
    try:
        answer = json.loads(payload)
        healthy, detail, status = answer["healthy"], answer["detail"], answer.get("status")
    except (ValueError, TypeError, KeyError) as error:
        return ProbeResult(False, f"the prober's answer is malformed ({type(error).__name__}): {payload[:500]!r}")
    if not isinstance(healthy, bool) or not isinstance(detail, str) or not isinstance(status, (int, type(None))):
        return ProbeResult(False, f"the prober's answer is malformed: {payload[:500]!r}")
    return ProbeResult(healthy, detail, status)


def load_balancer_private_ips(ec2: Any, description: str) -> list[str]:
    """Primary private IPv4 addresses of the load balancer's network interfaces, sorted."""
    addresses: set[str] = set()
    arguments: dict[str, Any] = {"Filters": [{"Name": "description", "Values": [description]}]}
    while True:
        page = ec2.describe_network_interfaces(**arguments)
        for interface in page.get("NetworkInterfaces", []):
            if interface.get("PrivateIpAddress"):
                addresses.add(str(interface["PrivateIpAddress"]))
        token = page.get("NextToken")
        if not token:
            return sorted(addresses)
        arguments["NextToken"] = token


class CheckFailed(Exception):
    """The test cannot be run at all (the load balancer's addresses are unknown)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def resolve_targets(settings: HookSettings, *, ec2: Callable[[], Any]) -> tuple[list[str], str | None]:
    """Where to send the requests, and the Host header to send them with (None: the target's own)."""
    if not settings.eni_description:
        return [settings.host], None
    try:
        targets = load_balancer_private_ips(ec2(), settings.eni_description)
    except (ClientError, BotoCoreError) as error:
        raise CheckFailed(f"describe_network_interfaces failed: {error}") from None
    if not targets:
        raise CheckFailed(f"no network interface is described as {settings.eni_description!r}")
    return targets, settings.host


def probe_attempt(
    settings: HookSettings,
    targets: list[str],
    host_header: str | None,
    attempt: int,
    *,
    lambda_: Callable[[], Any],
    **log_fields: Any,
) -> ProbeResult:
    """Attempt number ``attempt`` (from 1), logged; successive attempts go to successive targets."""
    # Successive attempts go to successive load balancer nodes (one per Availability Zone).
    target = targets[(attempt - 1) % len(targets)]
    url = f"http://{target}:{settings.port}{settings.check_path}"
    result = probe(
        url,
        host_header=host_header,
        timeout=settings.timeout_seconds,
        expected_status=settings.expected_status,
        prober=settings.prober,
        lambda_=lambda_(),
    )
    log(
        "probe",
        **log_fields,
        attempt=attempt,
        target=target,
        healthy=result.healthy,
        http_status=result.status,
        detail=result.detail,
    )
    return result


def _out_of_time(settings: HookSettings, made: int, left: float, detail: str) -> str:
    return (
        f"stopped after {made} of {settings.attempts} attempt(s): {left:.0f} s left before the function times out, "
        f"too little for another attempt ({ATTEMPT_SECONDS:.0f} s) and the report ({REPORT_SECONDS:.0f} s); "
        f"last: {detail}"
    )


def check(
    settings: HookSettings,
    *,
    ec2: Callable[[], Any],
    lambda_: Callable[[], Any],
    sleep: Callable[[float], None],
    remaining: Callable[[], float] = lambda: math.inf,
) -> tuple[str, str]:
    """Run the test against the test listener; (status to report, why).

    ``remaining`` is the time left before Lambda stops the function, in seconds
    (``context.get_remaining_time_in_millis()``, https://docs.aws.amazon.com/lambda/latest/dg/python-context.html).
    No attempt starts, and no pause before one, unless the attempt and the report still fit in it: a function
    that times out reports nothing, and CodeDeploy would wait for the hook until its own timeout.
    """
    try:
        targets, host_header = resolve_targets(settings, ec2=ec2)
    except CheckFailed as error:
        return FAILED, error.reason
    detail = "no attempt made"
    for attempt in range(1, settings.attempts + 1):
        pause = settings.retry_delay_seconds if attempt > 1 else 0
        left = remaining()
        if left < pause + ATTEMPT_SECONDS + REPORT_SECONDS:
            return FAILED, _out_of_time(settings, attempt - 1, left, detail)
        if pause:
            sleep(pause)
        result = probe_attempt(settings, targets, host_header, attempt, lambda_=lambda_)
        if result.healthy:
            return SUCCEEDED, result.detail
        detail = result.detail
    return FAILED, f"{settings.attempts} attempt(s) failed, last: {detail}"


def _given(client: Any | None, service: str) -> Callable[[], Any]:
    """The client passed in, or the cached boto3 client, created only when first used."""
    return lambda: client if client is not None else _client(service)


def is_ecs_event(event: Any) -> bool:
    """An Amazon ECS lifecycle hook event: no CodeDeploy id, and at least one documented ECS field."""
    if not isinstance(event, Mapping):
        return False
    if any(field in event for field in CODEDEPLOY_EVENT_FIELDS):
        return False
    return any(field in event for field in ECS_EVENT_FIELDS)


def callback_delay(settings: HookSettings) -> int:
    """RETRY_DELAY_SECONDS as ECS's callBackDelay: whole seconds, within the bounds above."""
    seconds = math.ceil(settings.retry_delay_seconds)
    return min(max(seconds, CALLBACK_DELAY_MIN_SECONDS), CALLBACK_DELAY_MAX_SECONDS)


def _ecs_revision(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(serviceArn, targetServiceRevisionArn), from executionDetails or, as in the guide's examples, the top level."""
    details = event.get("executionDetails")
    source: Mapping[str, Any] = details if isinstance(details, Mapping) else event
    service, revision = source.get("serviceArn"), source.get("targetServiceRevisionArn")
    return (
        service if isinstance(service, str) and service else None,
        revision if isinstance(revision, str) and revision else None,
    )


def run_ecs(
    event: Mapping[str, Any], *, environ: Mapping[str, str], ec2: Any | None = None, lambda_: Any | None = None
) -> dict[str, Any]:
    """One Amazon ECS lifecycle hook invocation: one probe, and the hookStatus for ECS to act on. Never raises."""
    try:
        return _run_ecs(event, environ=environ, ec2=ec2, lambda_=lambda_)
    except Exception as error:  # last resort: a raise would roll back too, but without this log line
        log("ecs_hook_result", hook_status=ECS_FAILED, reason=f"unexpected error: {type(error).__name__}: {error}")
        return {"hookStatus": ECS_FAILED}


def _run_ecs(
    event: Mapping[str, Any], *, environ: Mapping[str, str], ec2: Any | None, lambda_: Any | None
) -> dict[str, Any]:
    stage = event.get("lifecycleStage")
    service_arn, revision = _ecs_revision(event)
    previous = event.get("hookDetails")
    fields: dict[str, Any] = {"stage": stage, "service_arn": service_arn, "service_revision": revision}

    def finish(status: str, reason: str, attempt: int | None, **extra: Any) -> dict[str, Any]:
        log("ecs_hook_result", **fields, attempt=attempt, hook_status=status, reason=reason)
        return {"hookStatus": status, **extra}

    if revision is None:
        log("invalid_event", keys=sorted(event), reason="no targetServiceRevisionArn in executionDetails")
        return {"hookStatus": ECS_FAILED}
    if stage is not None and stage != ECS_STAGE:
        return finish(ECS_FAILED, f"lifecycle stage {stage!r}: this hook only tests at {ECS_STAGE}", None)
    if previous is None:
        previous = {}
    if not isinstance(previous, Mapping):
        return finish(ECS_FAILED, f"hookDetails: expected an object, got {type(previous).__name__}", None)
    done = previous.get(ATTEMPT_KEY, 0)
    if isinstance(done, bool) or not isinstance(done, int) or done < 0:
        return finish(ECS_FAILED, f"hookDetails.{ATTEMPT_KEY}: expected a count, got {done!r}", None)
    attempt = done + 1
    try:
        settings = HookSettings.from_environ(environ)
    except SettingsError as error:
        return finish(ECS_FAILED, f"invalid configuration: {error}", attempt)
    try:
        targets, host_header = resolve_targets(settings, ec2=_given(ec2, "ec2"))
        result = probe_attempt(settings, targets, host_header, attempt, lambda_=_given(lambda_, "lambda"), **fields)
    except CheckFailed as error:
        return finish(ECS_FAILED, error.reason, attempt)
    except Exception as error:  # a bug here must still end in a clear FAILED, never in an opaque raise
        return finish(ECS_FAILED, f"unexpected error: {type(error).__name__}: {error}", attempt)
    if result.healthy:
        return finish(ECS_SUCCEEDED, result.detail, attempt)
    if attempt >= settings.attempts:
        return finish(ECS_FAILED, f"{attempt} attempt(s) failed, last: {result.detail}", attempt)
    delay = callback_delay(settings)
    return finish(
        ECS_IN_PROGRESS,
        f"attempt {attempt} of {settings.attempts} failed: {result.detail}; next in {delay} s",
        attempt,
        callBackDelay=delay,
        hookDetails={**previous, ATTEMPT_KEY: attempt},
    )


def run(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str],
    codedeploy: Any | None = None,
    ec2: Any | None = None,
    lambda_: Any | None = None,
    sleep: Callable[[float], None] | None = None,
    remaining: Callable[[], float] = lambda: math.inf,
) -> dict[str, Any]:
    """The hook with its dependencies passed in (clients default to lazily created boto3 clients).

    ``remaining``: seconds left before Lambda stops the function (see :func:`check`).
    """
    if is_ecs_event(event):
        return run_ecs(event, environ=environ, ec2=ec2, lambda_=lambda_)
    deployment_id = event.get("DeploymentId")
    execution_id = event.get("LifecycleEventHookExecutionId")
    if not deployment_id or not execution_id:
        log("invalid_event", keys=sorted(event))
        raise ValueError("the event has no DeploymentId or LifecycleEventHookExecutionId: nothing to report to")
    try:
        settings = HookSettings.from_environ(environ)
    except SettingsError as error:
        status, reason = FAILED, f"invalid configuration: {error}"
    else:
        log("check_started", deployment_id=deployment_id, path=settings.check_path, port=settings.port)
        try:
            status, reason = check(
                settings,
                ec2=_given(ec2, "ec2"),
                lambda_=_given(lambda_, "lambda"),
                sleep=sleep or time.sleep,
                remaining=remaining,
            )
        except Exception as error:  # a bug here must still end in a report, never in a silent hang
            status, reason = FAILED, f"unexpected error: {type(error).__name__}: {error}"
    log("check_finished", deployment_id=deployment_id, status=status, reason=reason)
    try:
        client = codedeploy if codedeploy is not None else _client("codedeploy")
        client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
        )
    except Exception as error:  # logged with the status it tried to send, then Lambda retries
        log("report_failed", deployment_id=deployment_id, status=status, error=f"{type(error).__name__}: {error}")
        raise
    log("reported", deployment_id=deployment_id, status=status)
    return {"status": status, "reason": reason}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    clock = getattr(context, "get_remaining_time_in_millis", None)
    remaining = (lambda: clock() / 1000) if clock is not None else (lambda: math.inf)
    return run(event, environ=os.environ, remaining=remaining)
