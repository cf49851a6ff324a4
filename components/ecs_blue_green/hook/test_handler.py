"""The AfterAllowTestTraffic hook against a local stand-in for the test listener, with stubbed AWS clients.

No AWS account and no network: the listener is an http.server on 127.0.0.1, the CodeDeploy and EC2
clients are botocore clients under a Stubber, and a guard fails any test that resolves another host.
"""

from __future__ import annotations

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

DEPLOYMENT_ID = "d-ABCDEF123"
EXECUTION_ID = "hook-execution-0f8e4d2c"
EVENT = {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": EXECUTION_ID}
ALB_DNS_NAME = "internet-facing-alb-1234567890.eu-west-1.elb.amazonaws.com"
ENI_DESCRIPTION = "ELB app/internet-facing-alb/50dc6c495c0c9188"


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


def aws_client(service: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE", aws_secret_access_key="example", region_name="eu-west-1"
    )
    return session.client(service)


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """Created once per module (creating a client is the slow part); each test stubs them afresh."""
    return {service: aws_client(service) for service in ("codedeploy", "ec2")}


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
    return {"TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": str(listener.port), **overrides}


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

    environ = {"TEST_LISTENER_URL_HOST": "127.0.0.1", "TEST_LISTENER_PORT": str(closed_port), "ATTEMPTS": "2"}
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

    environ = {"TEST_LISTENER_URL_HOST": ALB_DNS_NAME, "TEST_LISTENER_PORT": "8080"}
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
        ({"TIMEOUT_SECONDS": "-1"}, "TIMEOUT_SECONDS: expected a number from 0.001 to 900, got '-1'"),
        ({"TIMEOUT_SECONDS": "nan"}, "TIMEOUT_SECONDS: expected a number from 0.001 to 900, got 'nan'"),
        ({"ATTEMPTS": "0"}, "ATTEMPTS: expected an integer from 1 to 20, got '0'"),
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
    listener: Listener, codedeploy: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Succeeded")
    monkeypatch.setattr(hook, "_clients", {"codedeploy": client})
    for name, value in environ_for(listener, ATTEMPTS="1").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LOAD_BALANCER_ENI_DESCRIPTION", raising=False)

    assert hook.handler(EVENT, None)["status"] == "Succeeded"


def test_without_an_eni_description_the_dns_name_is_called_directly(
    codedeploy: tuple[Any, Stubber], only_loopback: list[str]
) -> None:
    client, stubber = codedeploy
    expect_report(stubber, "Failed")

    environ = {"TEST_LISTENER_URL_HOST": ALB_DNS_NAME, "TEST_LISTENER_PORT": "8080", "ATTEMPTS": "1"}
    result = hook.run(EVENT, environ=environ, codedeploy=client)

    assert result["status"] == "Failed"
    assert only_loopback == [ALB_DNS_NAME], "the guard stopped the lookup of the load balancer name"
    only_loopback.clear()


def test_the_handler_file_stands_alone_as_the_lambda_package() -> None:
    """Lambda runs handler.handler from this folder alone: standard library and boto3 only, no AWS call at import."""
    folder = Path(hook.__file__).parent
    environ = {"PATH": os.environ.get("PATH", ""), "AWS_CONFIG_FILE": "/nonexistent", "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import handler, sys; assert callable(handler.handler); assert 'components' not in sys.modules"
    completed = subprocess.run([sys.executable, "-c", code], cwd=folder, env=environ, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
