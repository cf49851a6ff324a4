"""CodeDeploy ``AfterAllowTestTraffic`` hook: test the green task set through the test listener.

CodeDeploy invokes this Lambda after it has routed the test listener to the replacement (green)
task set and before production traffic moves. The function sends one GET to the test listener
(retrying a few times), and reports ``Succeeded`` or ``Failed`` with
``PutLifecycleEventHookExecutionStatus``. ``Failed`` makes CodeDeploy stop the deployment and
keep production on the original (blue) task set.

Runs on Python 3.12 with the standard library and boto3 only: deployed from this folder alone.

Environment:
  TEST_LISTENER_URL_HOST         DNS name of the load balancer (required).
  TEST_LISTENER_PORT             port of the test listener (required, 1-65535; plain HTTP).
  CHECK_PATH                     path to request (default "/secret-check": the green task really got its secret).
  EXPECTED_STATUS                HTTP status that means healthy (default 200).
  TIMEOUT_SECONDS                per-request timeout (default 5).
  ATTEMPTS                       requests before giving up (default 3).
  RETRY_DELAY_SECONDS            pause between attempts (default 2).
  LOAD_BALANCER_ENI_DESCRIPTION  optional, e.g. "ELB app/my-alb/50dc6c495c0c9188". Set it when the load
                                 balancer is internet-facing: its DNS name then resolves to public addresses
                                 that the function's isolated subnets cannot reach, so the function sends the
                                 request to the load balancer's private address (found with
                                 ec2:DescribeNetworkInterfaces) with the Host header set to the DNS name.

Every outcome is logged as one JSON line on stdout. Nothing raises before a status is reported,
except an event without the two ids (nothing could be reported for it). If reporting fails, the
error is logged and re-raised: Lambda retries the invocation, and if every try fails the hook
times out and CodeDeploy fails the deployment.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SUCCEEDED = "Succeeded"
FAILED = "Failed"
MAX_BODY_BYTES = 64 * 1024

_clients: dict[str, Any] = {}
N = TypeVar("N", int, float)


def _client(service: str) -> Any:
    """A boto3 client created on first use, so importing this module needs no AWS configuration."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")), flush=True)


class SettingsError(ValueError):
    """An environment variable of the function is missing or malformed."""


@dataclass(frozen=True)
class HookSettings:
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
        return cls(
            host=host,
            port=_number(environ, "TEST_LISTENER_PORT", None, int, 1, 65535),
            check_path=check_path,
            expected_status=_number(environ, "EXPECTED_STATUS", "200", int, 100, 599),
            timeout_seconds=_number(environ, "TIMEOUT_SECONDS", "5", float, 0.001, 900),
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer from the listener, not a healthy one: report it, do not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment, no redirects: the request goes to the test listener and nowhere else.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def probe(url: str, *, host_header: str | None, timeout: float, expected_status: int) -> ProbeResult:
    """One GET: healthy when the status is the expected one and the body is JSON."""
    headers = {"Accept": "application/json", "User-Agent": "codedeploy-test-traffic-hook"}
    if host_header:
        headers["Host"] = host_header
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
            body = response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as error:
        error.close()
        return ProbeResult(False, f"status {error.code}, expected {expected_status}", error.code)
    except (OSError, http.client.HTTPException) as error:
        # URLError (connection refused, name resolution), TimeoutError and other socket errors.
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        return ProbeResult(False, f"request failed: {type(reason).__name__}: {reason}")
    if status != expected_status:
        return ProbeResult(False, f"status {status}, expected {expected_status}", status)
    try:
        json.loads(body)
    except ValueError:
        return ProbeResult(False, "the body is not JSON", status)
    return ProbeResult(True, f"status {status} with a JSON body", status)


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


def check(settings: HookSettings, *, ec2: Callable[[], Any], sleep: Callable[[float], None]) -> tuple[str, str]:
    """Run the test against the test listener; (status to report, why)."""
    targets = [settings.host]
    host_header: str | None = None
    if settings.eni_description:
        try:
            targets = load_balancer_private_ips(ec2(), settings.eni_description)
        except (ClientError, BotoCoreError) as error:
            return FAILED, f"describe_network_interfaces failed: {error}"
        if not targets:
            return FAILED, f"no network interface is described as {settings.eni_description!r}"
        host_header = settings.host
    detail = "no attempt made"
    for attempt in range(1, settings.attempts + 1):
        # Successive attempts go to successive load balancer nodes (one per Availability Zone).
        target = targets[(attempt - 1) % len(targets)]
        url = f"http://{target}:{settings.port}{settings.check_path}"
        result = probe(
            url, host_header=host_header, timeout=settings.timeout_seconds, expected_status=settings.expected_status
        )
        log(
            "probe",
            attempt=attempt,
            target=target,
            healthy=result.healthy,
            http_status=result.status,
            detail=result.detail,
        )
        if result.healthy:
            return SUCCEEDED, result.detail
        detail = result.detail
        if attempt < settings.attempts:
            sleep(settings.retry_delay_seconds)
    return FAILED, f"{settings.attempts} attempt(s) failed, last: {detail}"


def run(
    event: Mapping[str, Any],
    *,
    environ: Mapping[str, str],
    codedeploy: Any | None = None,
    ec2: Any | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """The hook with its dependencies passed in (clients default to lazily created boto3 clients)."""
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
            status, reason = check(settings, ec2=lambda: ec2 if ec2 is not None else _client("ec2"), sleep=sleep)
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


def handler(event: Mapping[str, Any], context: object) -> dict[str, str]:
    return run(event, environ=os.environ)
