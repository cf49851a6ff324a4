"""The test-traffic hook's invoker and prober, for CodeDeploy and for ECS, against a local test listener, stubbed AWS.

No AWS account and no network: the listener is an http.server on 127.0.0.1, the CodeDeploy, EC2 and
Lambda clients are botocore clients under a Stubber or stand-ins, the invoker's Lambda client runs the
prober's handler in the test process (``InProcessProber``), and a guard fails any test that resolves
another host.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from components.ecs_blue_green.hook import handler as hook
from components.ecs_blue_green.hook_prober import handler as prober

DEPLOYMENT_ID = "d-ABCDEF123"
EXECUTION_ID = "hook-execution-0f8e4d2c"
EVENT = {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": EXECUTION_ID}
ALB_DNS_NAME = "internet-facing-alb-1234567890.eu-west-1.elb.amazonaws.com"
ENI_DESCRIPTION = "ELB app/internet-facing-alb/50dc6c495c0c9188"
PROBER = "example-release-hook-probe"


@dataclass
class Listener:
    """A stand-in for the test listener. It answers with ``answers`` in turn (the last one repeats)."""

    answers: list[tuple[int, bytes]] = field(default_factory=lambda: [(200, b'{"secret_present": true}')])
    redirect_to: str | None = None
    hang: bool = False
    released: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        self.requests.append({"path": request.path, "host": request.headers.get("Host", "")})
        if self.hang:
            self.released.wait(timeout=5)
            return
        status, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        request.send_response(status)
        if self.redirect_to:
            request.send_header("Location", self.redirect_to)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@pytest.fixture
def listener() -> Iterator[Listener]:
    state = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.answer(self)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any name or address other than 127.0.0.1 that the code tries to reach fails the test."""
    attempted: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", b"127.0.0.1"):
            attempted.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "blocked by the test: only 127.0.0.1 is reachable")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempted
    assert attempted == [], f"the hook tried to reach {attempted}"


class InProcessProber:
    """The Lambda client of the invoker: each synchronous invocation of PROBER runs the prober's handler here.

    The request and the answer go through JSON as they do between the two functions, and the prober's
    log lines go to its own log (``logs``), not the invoker's.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.logs = io.StringIO()

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert FunctionName == PROBER
        assert InvocationType == "RequestResponse", "the invoker waits for the prober's answer"
        request = json.loads(Payload)
        self.requests.append(request)
        with contextlib.redirect_stdout(self.logs):
            answer = prober.handler(request, None)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture(autouse=True)
def in_process_prober(monkeypatch: pytest.MonkeyPatch) -> InProcessProber:
    """Every test's invoker reaches the prober through this client unless it passes its own ``lambda_``."""
    fake = InProcessProber()
    monkeypatch.setattr(hook, "_clients", {"lambda": fake})
    return fake


def aws_client(service: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE", aws_secret_access_key="example", region_name="eu-west-1"
    )
    return session.client(service)


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """Created once per module (creating a client is the slow part); each test stubs them afresh."""
    return {service: aws_client(service) for service in ("codedeploy", "ec2", "lambda")}


@pytest.fixture
def codedeploy(clients: dict[str, Any]) -> Iterator[tuple[Any, Stubber]]:
    client = clients["codedeploy"]
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ec2(clients: dict[str, Any]) -> Iterator[tuple[Any, Stubber]]:
    client = clients["ec2"]
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_report(stubber: Stubber, status: str) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": EXECUTION_ID},
        {"deploymentId": DEPLOYMENT_ID, "lifecycleEventHookExecutionId": EXECUTION_ID, "status": status},
    )


def environ_for(listener: Listener, **overrides: str) -> dict[str, str]:
    return {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": "127.0.0.1",
        "TEST_LISTENER_PORT": str(listener.port),
        **overrides,
    }


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def test_a_healthy_green_task_set_is_reported_succeeded(
    listener: Listener, codedeploy: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")

    result = hook.run(EVENT, environ=environ_for(listener), codedeploy=client, sleep=Sleeps())

    assert result["status"] == "Succeeded"
    assert listener.requests == [{"path": "/secret-check", "host": f"127.0.0.1:{listener.port}"}]
    events = [line["event"] for line in log_lines(capsys)]
    assert events == ["check_started", "probe", "check_finished", "reported"]


def test_the_check_path_and_expected_status_are_configurable(
    listener: Listener, codedeploy: tuple[Any, Stubber]
) -> None:
    listener.answers = [(202, b"{}")]
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")

    environ = environ_for(listener, CHECK_PATH="/healthz", EXPECTED_STATUS="202")
    assert hook.run(EVENT, environ=environ, codedeploy=client, sleep=Sleeps())["status"] == "Succeeded"
    assert [request["path"] for request in listener.requests] == ["/healthz"]


def test_a_server_error_is_retried_then_reported_failed(listener: Listener, codedeploy: tuple[Any, Stubber]) -> None:
    listener.answers = [(500, b'{"error": "boom"}')]
    client, stubber = codedeploy
    expect_report(stubber, "Failed")
    sleeps = Sleeps()

    result = hook.run(EVENT, environ=environ_for(listener, RETRY_DELAY_SECONDS="1.5"), codedeploy=client, sleep=sleeps)

    assert result == {"status": "Failed", "reason": "3 attempt(s) failed, last: status 500, expected 200"}
    assert len(listener.requests) == 3
    assert sleeps.calls == [1.5, 1.5], "a pause between attempts, none after the last one"


def test_a_missing_secret_503_is_reported_failed(listener: Listener, codedeploy: tuple[Any, Stubber]) -> None:
    listener.answers = [(503, b'{"secret_present": false}')]
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    result = hook.run(EVENT, environ=environ_for(listener, ATTEMPTS="1"), codedeploy=client)

    assert result["reason"] == "1 attempt(s) failed, last: status 503, expected 200"


def test_a_transient_failure_followed_by_a_healthy_answer_succeeds(
    listener: Listener, codedeploy: tuple[Any, Stubber]
) -> None:
    listener.answers = [(502, b"bad gateway"), (200, b'{"secret_present": true}')]
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")
    sleeps = Sleeps()

    assert hook.run(EVENT, environ=environ_for(listener), codedeploy=client, sleep=sleeps)["status"] == "Succeeded"
    assert len(listener.requests) == 2
    assert sleeps.calls == [2.0]


def test_a_listener_slower_than_the_timeout_is_reported_failed(
    listener: Listener, codedeploy: tuple[Any, Stubber]
) -> None:
    listener.hang = True
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = environ_for(listener, TIMEOUT_SECONDS="0.2", ATTEMPTS="1")
    result = hook.run(EVENT, environ=environ, codedeploy=client)

    assert result["status"] == "Failed"
    assert "TimeoutError" in result["reason"]


def test_a_refused_connection_is_reported_failed(codedeploy: tuple[Any, Stubber]) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        closed_port = probe_socket.getsockname()[1]
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": "127.0.0.1",
        "TEST_LISTENER_PORT": str(closed_port),
        "ATTEMPTS": "2",
    }
    result = hook.run(EVENT, environ=environ, codedeploy=client, sleep=Sleeps())

    assert result["status"] == "Failed"
    assert "ConnectionRefusedError" in result["reason"]


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b'{"truncated": '])
def test_a_body_that_is_not_json_is_reported_failed(
    listener: Listener, codedeploy: tuple[Any, Stubber], body: bytes
) -> None:
    listener.answers = [(200, body)]
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    result = hook.run(EVENT, environ=environ_for(listener, ATTEMPTS="1"), codedeploy=client)

    assert result["reason"] == "1 attempt(s) failed, last: the body is not JSON"


def test_a_redirect_is_not_followed_and_is_reported_failed(listener: Listener, codedeploy: tuple[Any, Stubber]) -> None:
    listener.answers = [(302, b"{}")]
    listener.redirect_to = "http://elsewhere.example/secret-check"
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    result = hook.run(EVENT, environ=environ_for(listener, ATTEMPTS="1"), codedeploy=client)

    assert result["reason"] == "1 attempt(s) failed, last: status 302, expected 200"
    assert len(listener.requests) == 1


def test_an_internet_facing_load_balancer_is_called_on_its_private_address_with_its_host_name(
    listener: Listener, codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-0a1b2c3d", "PrivateIpAddress": "127.0.0.1"}]},
        {"Filters": [{"Name": "description", "Values": [ENI_DESCRIPTION]}]},
    )
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")

    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": str(listener.port),
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }
    result = hook.run(EVENT, environ=environ, codedeploy=client, ec2=ec2_client)

    assert result["status"] == "Succeeded"
    # The only_loopback guard proves the public DNS name was never resolved.
    assert listener.requests == [{"path": "/secret-check", "host": ALB_DNS_NAME}]


def test_private_addresses_are_collected_from_every_page_once_each(ec2: tuple[Any, Stubber]) -> None:
    client, stubber = ec2
    filters = {"Filters": [{"Name": "description", "Values": [ENI_DESCRIPTION]}]}
    stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"PrivateIpAddress": "10.0.2.10"}, {"PrivateIpAddress": "10.0.1.10"}], "NextToken": "n"},
        filters,
    )
    stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"PrivateIpAddress": "10.0.1.10"}, {"NetworkInterfaceId": "eni-without-address"}]},
        {**filters, "NextToken": "n"},
    )

    assert hook.load_balancer_private_ips(client, ENI_DESCRIPTION) == ["10.0.1.10", "10.0.2.10"]


def test_no_matching_network_interface_is_reported_failed(
    codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]
) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = {"PROBER_FUNCTION_NAME": PROBER, "TEST_LISTENER_URL_HOST": ALB_DNS_NAME, "TEST_LISTENER_PORT": "8080"}
    result = hook.run(
        EVENT, environ={**environ, "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION}, codedeploy=client, ec2=ec2_client
    )

    assert result["reason"] == f"no network interface is described as {ENI_DESCRIPTION!r}"


def test_an_ec2_error_is_reported_failed(codedeploy: tuple[Any, Stubber], ec2: tuple[Any, Stubber]) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_client_error("describe_network_interfaces", "UnauthorizedOperation", "not allowed", 403)
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": "8080",
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }
    result = hook.run(EVENT, environ=environ, codedeploy=client, ec2=ec2_client)

    assert result["status"] == "Failed"
    assert result["reason"].startswith("describe_network_interfaces failed:")
    assert "UnauthorizedOperation" in result["reason"]


def test_a_failed_report_is_logged_and_re_raised(
    listener: Listener, codedeploy: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = codedeploy
    stubber.add_client_error(
        "put_lifecycle_event_hook_execution_status", "LifecycleEventAlreadyCompletedException", "already completed"
    )

    with pytest.raises(ClientError, match="LifecycleEventAlreadyCompletedException"):
        hook.run(EVENT, environ=environ_for(listener), codedeploy=client)

    last = log_lines(capsys)[-1]
    assert last["event"] == "report_failed"
    assert last["status"] == "Succeeded", "the check passed; only the report failed"
    assert "LifecycleEventAlreadyCompletedException" in last["error"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"TEST_LISTENER_URL_HOST": ""}, "TEST_LISTENER_URL_HOST: expected the load balancer DNS name, got nothing"),
        ({"TEST_LISTENER_PORT": ""}, "TEST_LISTENER_PORT: expected an integer from 1 to 65535, got nothing"),
        ({"TEST_LISTENER_PORT": "http"}, "TEST_LISTENER_PORT: expected an integer from 1 to 65535, got 'http'"),
        ({"TEST_LISTENER_PORT": "0"}, "TEST_LISTENER_PORT: expected an integer from 1 to 65535, got '0'"),
        ({"CHECK_PATH": "secret-check"}, "CHECK_PATH: expected a path starting with /, got 'secret-check'"),
        ({"EXPECTED_STATUS": "OK"}, "EXPECTED_STATUS: expected an integer from 100 to 599, got 'OK'"),
        ({"TIMEOUT_SECONDS": "-1"}, "TIMEOUT_SECONDS: expected a number from 0.001 to 8, got '-1'"),
        ({"TIMEOUT_SECONDS": "nan"}, "TIMEOUT_SECONDS: expected a number from 0.001 to 8, got 'nan'"),
        # Above 8 s the prober could be stopped by Lambda (10 s) before its request times out.
        ({"TIMEOUT_SECONDS": "9"}, "TIMEOUT_SECONDS: expected a number from 0.001 to 8, got '9'"),
        ({"ATTEMPTS": "0"}, "ATTEMPTS: expected an integer from 1 to 20, got '0'"),
        ({"PROBER_FUNCTION_NAME": " "}, "PROBER_FUNCTION_NAME: expected the name of the prober function, got nothing"),
        ({"RETRY_DELAY_SECONDS": "soon"}, "RETRY_DELAY_SECONDS: expected a number from 0 to 60, got 'soon'"),
    ],
)
def test_bad_configuration_is_reported_failed_without_calling_the_listener(
    listener: Listener, codedeploy: tuple[Any, Stubber], overrides: dict[str, str], error: str
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    result = hook.run(EVENT, environ=environ_for(listener, **overrides), codedeploy=client)

    assert result == {"status": "Failed", "reason": f"invalid configuration: {error}"}
    assert listener.requests == []


def test_an_unexpected_error_in_the_check_is_still_reported_failed(codedeploy: tuple[Any, Stubber]) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    class BrokenEc2:
        def describe_network_interfaces(self, **_: Any) -> Any:
            raise RuntimeError("a bug, not an AWS error")

    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": "8080",
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }
    result = hook.run(EVENT, environ=environ, codedeploy=client, ec2=BrokenEc2())

    assert result == {"status": "Failed", "reason": "unexpected error: RuntimeError: a bug, not an AWS error"}


@pytest.mark.parametrize(
    "event", [{}, {"DeploymentId": DEPLOYMENT_ID}, {"LifecycleEventHookExecutionId": EXECUTION_ID}]
)
def test_an_event_without_ids_raises_because_nothing_can_be_reported(
    codedeploy: tuple[Any, Stubber], event: dict[str, str]
) -> None:
    client, _stubber = codedeploy
    with pytest.raises(ValueError, match="nothing to report to"):
        hook.run(event, environ={}, codedeploy=client)


def test_the_lambda_entry_point_reads_the_environment_and_uses_the_cached_clients(
    listener: Listener,
    codedeploy: tuple[Any, Stubber],
    in_process_prober: InProcessProber,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")
    monkeypatch.setattr(hook, "_clients", {"codedeploy": client, "lambda": in_process_prober})
    for name, value in environ_for(listener, ATTEMPTS="1").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOAD_BALANCER_ENI_DESCRIPTION", raising=False)

    assert hook.handler(EVENT, None)["status"] == "Succeeded"


def test_without_an_eni_description_the_dns_name_is_called_directly(
    codedeploy: tuple[Any, Stubber], only_loopback: list[str]
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": "8080",
        "ATTEMPTS": "1",
    }
    result = hook.run(EVENT, environ=environ, codedeploy=client)

    assert result["status"] == "Failed"
    assert only_loopback == [ALB_DNS_NAME], "the guard stopped the lookup of the load balancer name"
    only_loopback.clear()


@pytest.mark.parametrize("module", [hook, prober], ids=["invoker", "prober"])
def test_the_handler_file_stands_alone_as_the_lambda_package(module: Any) -> None:
    """Lambda runs handler.handler from each folder alone: standard library and boto3 only, no AWS call at import."""
    folder = Path(module.__file__).parent
    environ = {"PATH": os.environ.get("PATH", ""), "AWS_CONFIG_FILE": "/nonexistent", "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import handler, sys; assert callable(handler.handler); assert 'components' not in sys.modules"
    completed = subprocess.run([sys.executable, "-c", code], cwd=folder, env=environ, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


# Amazon ECS lifecycle hook (ECS-native blue/green, canary and linear deployments): the return value is the report.

SERVICE_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/example-cluster/example-service"
REVISION_ARN = "arn:aws:ecs:eu-west-1:123456789012:service-revision/example-cluster/example-service/01275892"
BLUE_REVISION_ARN = "arn:aws:ecs:eu-west-1:123456789012:service-revision/example-cluster/example-service/78652123"


def ecs_event(hook_details: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """The POST_TEST_TRAFFIC_SHIFT payload: executionDetails and top-level stage fields, hookDetails when set."""
    event: dict[str, Any] = {
        "executionId": "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "resourceArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/example-cluster/example-service/ab12",
        "executionDetails": {
            "serviceArn": SERVICE_ARN,
            "targetServiceRevisionArn": REVISION_ARN,
            "testTrafficWeights": {REVISION_ARN: 100, BLUE_REVISION_ARN: 0},
            "productionTrafficWeights": {REVISION_ARN: 0, BLUE_REVISION_ARN: 100},
        },
        **overrides,
    }
    if hook_details is not None:
        event["hookDetails"] = hook_details
    return event


class NoCodeDeploy:
    """Stands in for the CodeDeploy client on the ECS path: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the ECS path used codedeploy.{name}")


def run_ecs_hook(event: dict[str, Any], environ: dict[str, str], **clients: Any) -> dict[str, Any]:
    sleeps = Sleeps()
    result = hook.run(event, environ=environ, codedeploy=NoCodeDeploy(), sleep=sleeps, **clients)
    assert sleeps.calls == [], "the ECS path never sleeps: ECS calls back"
    return result


def test_ecs_a_healthy_new_revision_succeeds_on_the_first_invocation(
    listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_ecs_hook(ecs_event(), environ_for(listener))

    assert result == {"hookStatus": "SUCCEEDED"}
    assert listener.requests == [{"path": "/secret-check", "host": f"127.0.0.1:{listener.port}"}]
    lines = log_lines(capsys)
    assert [line["event"] for line in lines] == ["probe", "ecs_hook_result"]
    assert lines[-1] == {
        "event": "ecs_hook_result",
        "stage": "POST_TEST_TRAFFIC_SHIFT",
        "service_arn": SERVICE_ARN,
        "service_revision": REVISION_ARN,
        "attempt": 1,
        "hook_status": "SUCCEEDED",
        "reason": "status 200 with a JSON body",
    }
    assert lines[0]["service_revision"] == REVISION_ARN
    assert lines[0]["attempt"] == 1


def test_ecs_an_unhealthy_answer_with_attempts_left_asks_to_be_called_back(
    listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    listener.answers = [(503, b'{"secret_present": false}')]

    result = run_ecs_hook(ecs_event(), environ_for(listener, RETRY_DELAY_SECONDS="15"))

    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": 15, "hookDetails": {"attempt": 1}}
    assert len(listener.requests) == 1, "one probe per invocation"
    last = log_lines(capsys)[-1]
    assert last["hook_status"] == "IN_PROGRESS"
    assert last["reason"] == "attempt 1 of 3 failed: status 503, expected 200; next in 15 s"


def test_ecs_hook_details_from_the_previous_invocation_are_honoured(listener: Listener) -> None:
    listener.answers = [(500, b"{}")]

    result = run_ecs_hook(ecs_event({"attempt": 1}), environ_for(listener, ATTEMPTS="4"))

    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": 2, "hookDetails": {"attempt": 2}}
    assert len(listener.requests) == 1


def test_ecs_hook_details_from_the_service_configuration_are_passed_on(listener: Listener) -> None:
    listener.answers = [(500, b"{}")]

    result = run_ecs_hook(ecs_event({"team": "payments", "attempt": 1}), environ_for(listener))

    assert result == {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": 2,
        "hookDetails": {"team": "payments", "attempt": 2},
    }


def test_ecs_an_unhealthy_answer_on_the_last_attempt_fails(
    listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    listener.answers = [(500, b'{"error": "boom"}')]

    result = run_ecs_hook(ecs_event({"attempt": 2}), environ_for(listener))

    assert result == {"hookStatus": "FAILED"}
    assert len(listener.requests) == 1
    last = log_lines(capsys)[-1]
    assert last["attempt"] == 3
    assert last["reason"] == "3 attempt(s) failed, last: status 500, expected 200"


def test_ecs_a_single_attempt_fails_at_once(listener: Listener) -> None:
    listener.answers = [(500, b"{}")]

    assert run_ecs_hook(ecs_event(), environ_for(listener, ATTEMPTS="1")) == {"hookStatus": "FAILED"}


def test_ecs_a_healthy_answer_after_earlier_failures_succeeds(listener: Listener) -> None:
    assert run_ecs_hook(ecs_event({"attempt": 2}), environ_for(listener)) == {"hookStatus": "SUCCEEDED"}


@pytest.mark.parametrize(
    ("retry_delay", "callback_delay"),
    [("0", 1), ("0.2", 1), ("2", 2), ("2.5", 3), ("60", 60)],
)
def test_ecs_the_callback_delay_is_whole_seconds_from_1_to_60(
    listener: Listener, retry_delay: str, callback_delay: int
) -> None:
    listener.answers = [(500, b"{}")]

    result = run_ecs_hook(ecs_event(), environ_for(listener, RETRY_DELAY_SECONDS=retry_delay))

    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": callback_delay, "hookDetails": {"attempt": 1}}
    assert type(result["callBackDelay"]) is int


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"TEST_LISTENER_URL_HOST": ""}, "TEST_LISTENER_URL_HOST: expected the load balancer DNS name, got nothing"),
        ({"TEST_LISTENER_PORT": "http"}, "TEST_LISTENER_PORT: expected an integer from 1 to 65535, got 'http'"),
        ({"ATTEMPTS": "0"}, "ATTEMPTS: expected an integer from 1 to 20, got '0'"),
        ({"RETRY_DELAY_SECONDS": "61"}, "RETRY_DELAY_SECONDS: expected a number from 0 to 60, got '61'"),
    ],
)
def test_ecs_bad_configuration_fails_with_a_logged_reason_without_calling_the_listener(
    listener: Listener, capsys: pytest.CaptureFixture[str], overrides: dict[str, str], error: str
) -> None:
    result = run_ecs_hook(ecs_event(), environ_for(listener, **overrides))

    assert result == {"hookStatus": "FAILED"}
    assert listener.requests == []
    last = log_lines(capsys)[-1]
    assert last["event"] == "ecs_hook_result"
    assert last["reason"] == f"invalid configuration: {error}"


def test_ecs_a_probe_that_raises_fails_with_a_logged_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_probe(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug, not an answer")

    monkeypatch.setattr(hook, "probe", broken_probe)
    environ = {"PROBER_FUNCTION_NAME": PROBER, "TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": "8080"}

    assert run_ecs_hook(ecs_event(), environ) == {"hookStatus": "FAILED"}
    last = log_lines(capsys)[-1]
    assert last["reason"] == "unexpected error: RuntimeError: a bug, not an answer"
    assert last["service_revision"] == REVISION_ARN


def test_ecs_an_ec2_error_fails(ec2: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_client_error("describe_network_interfaces", "UnauthorizedOperation", "not allowed", 403)
    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": "8080",
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }

    assert run_ecs_hook(ecs_event(), environ, ec2=ec2_client) == {"hookStatus": "FAILED"}
    assert log_lines(capsys)[-1]["reason"].startswith("describe_network_interfaces failed:")


def test_ecs_an_internet_facing_load_balancer_is_called_on_its_private_address_with_its_host_name(
    listener: Listener, ec2: tuple[Any, Stubber]
) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": "eni-0a1b2c3d", "PrivateIpAddress": "127.0.0.1"}]},
        {"Filters": [{"Name": "description", "Values": [ENI_DESCRIPTION]}]},
    )
    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": str(listener.port),
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }

    assert run_ecs_hook(ecs_event(), environ, ec2=ec2_client) == {"hookStatus": "SUCCEEDED"}
    # The only_loopback guard proves the public DNS name was never resolved.
    assert listener.requests == [{"path": "/secret-check", "host": ALB_DNS_NAME}]


def test_ecs_successive_invocations_go_to_successive_load_balancer_addresses(
    monkeypatch: pytest.MonkeyPatch, ec2: tuple[Any, Stubber]
) -> None:
    ec2_client, ec2_stubber = ec2
    ec2_stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"PrivateIpAddress": "10.0.1.10"}, {"PrivateIpAddress": "10.0.2.10"}]},
    )
    calls: list[tuple[str, str | None]] = []

    def recording_probe(url: str, *, host_header: str | None, **_: Any) -> hook.ProbeResult:
        calls.append((url, host_header))
        return hook.ProbeResult(False, "status 502, expected 200", 502)

    monkeypatch.setattr(hook, "probe", recording_probe)
    environ = {
        "PROBER_FUNCTION_NAME": PROBER,
        "TEST_LISTENER_URL_HOST": ALB_DNS_NAME,
        "TEST_LISTENER_PORT": "8080",
        "LOAD_BALANCER_ENI_DESCRIPTION": ENI_DESCRIPTION,
    }

    result = run_ecs_hook(ecs_event({"attempt": 1}), environ, ec2=ec2_client)

    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": 2, "hookDetails": {"attempt": 2}}
    assert calls == [("http://10.0.2.10:8080/secret-check", ALB_DNS_NAME)]


def test_ecs_the_guide_s_flat_payload_is_recognised(listener: Listener) -> None:
    """The developer guide's payload examples put the execution details at the top level."""
    event = {
        "serviceArn": SERVICE_ARN,
        "targetServiceRevisionArn": REVISION_ARN,
        "testTrafficWeights": {},
        "productionTrafficWeights": {},
    }

    assert run_ecs_hook(event, environ_for(listener)) == {"hookStatus": "SUCCEEDED"}


@pytest.mark.parametrize(
    "event",
    [
        {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"},
        {"executionDetails": {"serviceArn": SERVICE_ARN}, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"},
        {"executionDetails": "not an object", "executionId": "x"},
        {"hookDetails": {"attempt": 1}},
    ],
)
def test_ecs_an_event_of_unknown_shape_fails_without_calling_the_listener(
    listener: Listener, capsys: pytest.CaptureFixture[str], event: dict[str, Any]
) -> None:
    assert run_ecs_hook(event, environ_for(listener)) == {"hookStatus": "FAILED"}
    assert listener.requests == []
    assert log_lines(capsys)[-1]["event"] == "invalid_event"


@pytest.mark.parametrize(
    ("hook_details", "reason"),
    [
        ("attempt=1", "hookDetails: expected an object, got str"),
        ({"attempt": "1"}, "hookDetails.attempt: expected a count, got '1'"),
        ({"attempt": -1}, "hookDetails.attempt: expected a count, got -1"),
        ({"attempt": True}, "hookDetails.attempt: expected a count, got True"),
    ],
)
def test_ecs_malformed_hook_details_fail(
    listener: Listener, capsys: pytest.CaptureFixture[str], hook_details: Any, reason: str
) -> None:
    event = ecs_event()
    event["hookDetails"] = hook_details

    assert run_ecs_hook(event, environ_for(listener)) == {"hookStatus": "FAILED"}
    assert listener.requests == []
    assert log_lines(capsys)[-1]["reason"] == reason


@pytest.mark.parametrize("stage", ["PRE_SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
def test_ecs_a_stage_without_all_test_traffic_on_the_new_revision_fails(
    listener: Listener, capsys: pytest.CaptureFixture[str], stage: str
) -> None:
    assert run_ecs_hook(ecs_event(lifecycleStage=stage), environ_for(listener)) == {"hookStatus": "FAILED"}
    assert listener.requests == []
    assert (
        log_lines(capsys)[-1]["reason"] == f"lifecycle stage {stage!r}: this hook only tests at POST_TEST_TRAFFIC_SHIFT"
    )


def test_ecs_the_lambda_entry_point_returns_the_hook_status_and_never_touches_codedeploy(
    listener: Listener, in_process_prober: InProcessProber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hook, "_clients", {"codedeploy": NoCodeDeploy(), "lambda": in_process_prober})

    def no_new_client(service: str, *_: Any, **__: Any) -> Any:
        raise AssertionError(f"the ECS path created a {service} client")

    monkeypatch.setattr(boto3, "client", no_new_client)
    for name, value in environ_for(listener, ATTEMPTS="3", RETRY_DELAY_SECONDS="5").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOAD_BALANCER_ENI_DESCRIPTION", raising=False)
    listener.answers = [(503, b"{}")]

    result = hook.handler(ecs_event(), None)

    assert result == {"hookStatus": "IN_PROGRESS", "callBackDelay": 5, "hookDetails": {"attempt": 1}}
    assert json.loads(json.dumps(result)) == result, "the return value is plain JSON for ECS to read"


def test_a_codedeploy_event_still_reports_through_codedeploy_even_with_ecs_fields(
    listener: Listener, codedeploy: tuple[Any, Stubber]
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")
    event = {**EVENT, "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"}

    result = hook.run(event, environ=environ_for(listener), codedeploy=client, sleep=Sleeps())

    assert result == {"status": "Succeeded", "reason": "status 200 with a JSON body"}


# The split: the invoker (outside the VPC) asks the prober (in the task subnets) to send each request.


def test_each_attempt_is_one_synchronous_request_to_the_prober_with_what_to_send(
    listener: Listener, codedeploy: tuple[Any, Stubber], in_process_prober: InProcessProber
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")
    listener.answers = [(503, b"{}"), (200, b"{}")]

    hook.run(EVENT, environ=environ_for(listener, TIMEOUT_SECONDS="2.5"), codedeploy=client, sleep=Sleeps())

    url = f"http://127.0.0.1:{listener.port}/secret-check"
    request = {"url": url, "host_header": None, "timeout_seconds": 2.5, "expected_status": 200}
    assert in_process_prober.requests == [request, request]
    assert [line["event"] for line in map(json.loads, in_process_prober.logs.getvalue().splitlines())] == [
        "request",
        "request",
    ], "the prober logs each request in its own log"


def test_a_prober_that_cannot_be_invoked_is_a_failed_attempt_and_the_hook_reports_failed(
    codedeploy: tuple[Any, Stubber], clients: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")
    lambda_client = clients["lambda"]
    environ = {"PROBER_FUNCTION_NAME": PROBER, "TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": "8080"}
    with Stubber(lambda_client) as lambda_stubber:
        for _ in range(2):
            lambda_stubber.add_client_error("invoke", "AccessDeniedException", "not allowed", 403)
        result = hook.run(
            EVENT, environ={**environ, "ATTEMPTS": "2"}, codedeploy=client, lambda_=lambda_client, sleep=Sleeps()
        )
        lambda_stubber.assert_no_pending_responses()

    assert result["status"] == "Failed"
    assert result["reason"].startswith("2 attempt(s) failed, last: invoking the prober failed:")
    assert "AccessDeniedException" in result["reason"]


class AnsweringLambda:
    """A Lambda client whose invocations all answer ``response``."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response

    def invoke(self, **_: Any) -> dict[str, Any]:
        return {**self.response, "Payload": io.BytesIO(self.response["Payload"])}


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": b'{"errorMessage": "Task timed out"}'},
            """the prober failed (Unhandled): b'{"errorMessage": "Task timed out"}'""",
        ),
        ({"StatusCode": 200, "Payload": b"null"}, "the prober's answer is malformed (TypeError): b'null'"),
        (
            {"StatusCode": 200, "Payload": b'{"healthy": true}'},
            """the prober's answer is malformed (KeyError): b'{"healthy": true}'""",
        ),
        (
            {"StatusCode": 200, "Payload": b'{"healthy": "yes", "detail": "ok"}'},
            """the prober's answer is malformed: b'{"healthy": "yes", "detail": "ok"}'""",
        ),
    ],
    ids=["function-error", "not-an-object", "no-detail", "healthy-not-a-bool"],
)
def test_ecs_a_prober_that_fails_or_answers_badly_is_an_unhealthy_attempt(
    capsys: pytest.CaptureFixture[str], response: dict[str, Any], detail: str
) -> None:
    environ = {"PROBER_FUNCTION_NAME": PROBER, "TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": "8080"}

    result = run_ecs_hook(ecs_event(), {**environ, "ATTEMPTS": "1"}, lambda_=AnsweringLambda(response))

    assert result == {"hookStatus": "FAILED"}
    assert log_lines(capsys)[-1]["reason"] == f"1 attempt(s) failed, last: {detail}"


@pytest.mark.parametrize(
    ("request_", "detail"),
    [
        ([], "expected an object, got list"),
        ({"url": "https://127.0.0.1/"}, "url: expected an http:// URL with a host, got 'https://127.0.0.1/'"),
        ({"url": "file:///etc/passwd"}, "url: expected an http:// URL with a host, got 'file:///etc/passwd'"),
        ({"url": "http:///secret-check"}, "url: expected an http:// URL with a host, got 'http:///secret-check'"),
        ({"host_header": ""}, "host_header: expected a host name or null, got ''"),
        ({"timeout_seconds": 0}, "timeout_seconds: expected a number from 0.001 to 8.0, got 0"),
        ({"timeout_seconds": 9}, "timeout_seconds: expected a number from 0.001 to 8.0, got 9"),
        ({"timeout_seconds": 60}, "timeout_seconds: expected a number from 0.001 to 8.0, got 60"),
        ({"timeout_seconds": True}, "timeout_seconds: expected a number from 0.001 to 8.0, got True"),
        ({"expected_status": "200"}, "expected_status: expected an integer from 100 to 599, got '200'"),
    ],
)
def test_the_prober_sends_nothing_for_a_malformed_request_and_says_why(
    listener: Listener, capsys: pytest.CaptureFixture[str], request_: Any, detail: str
) -> None:
    valid = {
        "url": f"http://127.0.0.1:{listener.port}/",
        "host_header": None,
        "timeout_seconds": 1,
        "expected_status": 200,
    }
    event = {**valid, **request_} if isinstance(request_, dict) else request_

    answer = prober.handler(event, None)

    assert answer == {"healthy": False, "detail": f"invalid request to the prober: {detail}", "status": None}
    assert listener.requests == []
    assert log_lines(capsys) == [{"event": "invalid_request", "reason": detail}]


def test_the_prober_answers_one_request_with_its_result_and_calls_no_aws_api(
    listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    listener.answers = [(200, b"{}")]
    url = f"http://127.0.0.1:{listener.port}/secret-check"
    event = {"url": url, "host_header": ALB_DNS_NAME, "timeout_seconds": 1, "expected_status": 200}

    answer = prober.handler(event, None)

    assert answer == {"healthy": True, "detail": "status 200 with a JSON body", "status": 200}
    assert listener.requests == [{"path": "/secret-check", "host": ALB_DNS_NAME}]
    assert log_lines(capsys) == [{"event": "request", "url": url, "host_header": ALB_DNS_NAME, **answer}]
    assert "boto3" not in Path(prober.__file__).read_text(), "no AWS API, so no VPC endpoint is needed"


class Clock:
    """The function's time: a Lambda context whose remaining time shrinks only as the fakes below spend it."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.left * 1000)

    def sleep(self, seconds: float) -> None:
        self.left -= seconds


class HangingProber:
    """Every invocation takes as long as the invoker's Lambda client waits, then fails as a timed-out prober would."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.invocations = clock, 0

    def invoke(self, **_: Any) -> dict[str, Any]:
        self.invocations += 1
        self.clock.left -= hook.ATTEMPT_SECONDS
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": io.BytesIO(b'{"errorMessage": "timed out"}'),
        }


class TimedCodeDeploy:
    """Records each report with the time the function had left when it was sent."""

    def __init__(self, clock: Clock) -> None:
        self.clock, self.reports = clock, []  # type: ignore[var-annotated]

    def put_lifecycle_event_hook_execution_status(self, **arguments: Any) -> dict[str, Any]:
        self.reports.append((arguments["status"], self.clock.left))
        return {"lifecycleEventHookExecutionId": arguments["lifecycleEventHookExecutionId"]}


def run_against_the_clock(seconds: float, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Any, Any]:
    """The Lambda entry point with ``seconds`` to run, every attempt as slow as its client allows."""
    clock = Clock(seconds)
    prober_client, codedeploy_client = HangingProber(clock), TimedCodeDeploy(clock)
    monkeypatch.setattr(hook, "_clients", {"lambda": prober_client, "codedeploy": codedeploy_client})
    monkeypatch.setattr(hook.time, "sleep", clock.sleep)
    environ = {"PROBER_FUNCTION_NAME": PROBER, "TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": "8080"}
    for name, value in {**environ, "ATTEMPTS": "12", "RETRY_DELAY_SECONDS": "10"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOAD_BALANCER_ENI_DESCRIPTION", raising=False)
    return hook.handler(EVENT, clock), prober_client, codedeploy_client


def test_with_the_function_s_timeout_every_attempt_runs_and_the_report_still_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from components.ecs_blue_green.lifecycle_hook import FUNCTION_TIMEOUT

    result, prober_client, codedeploy_client = run_against_the_clock(FUNCTION_TIMEOUT.to_seconds(), monkeypatch)

    assert prober_client.invocations == 12
    assert result["reason"].startswith("12 attempt(s) failed, last: the prober failed (Unhandled)")
    [(status, left)] = codedeploy_client.reports
    assert status == "Failed"
    assert left >= hook.REPORT_SECONDS, "the report, however slow, ends before Lambda stops the function"


def test_an_invoker_short_of_time_stops_attempting_and_reports_failed_before_its_time_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 200 s: attempts 1 to 5 take 20 s each with 10 s pauses between them (60 s left); a sixth and its pause
    # (30 s) would leave 30 s, less than the report's 36 s.
    result, prober_client, codedeploy_client = run_against_the_clock(200, monkeypatch)

    assert prober_client.invocations == 5
    assert result["status"] == "Failed"
    assert result["reason"] == (
        "stopped after 5 of 12 attempt(s): 60 s left before the function times out, too little for another "
        'attempt (20 s) and the report (36 s); last: the prober failed (Unhandled): b\'{"errorMessage": "timed out"}\''
    )
    assert codedeploy_client.reports == [("Failed", 60)]
