"""The sample service, run for real on an ephemeral 127.0.0.1 port."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service_app.app.server import AppServer, build_server, port_from_environ

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_VALUE = "s3cr3t-Value-that-must-never-leave-the-process-7f3a9c"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningServer:
    server: AppServer
    log: io.StringIO

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def request(self, path: str, method: str = "GET") -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path, headers={"Authorization": "Bearer header-token-9d2e"})
            answer = connection.getresponse()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            connection.close()

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]


def start(environ: Mapping[str, str]) -> Iterator[RunningServer]:
    log = io.StringIO()
    server = build_server("127.0.0.1", 0, environ=environ, log_stream=log)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)
    thread.start()
    try:
        yield RunningServer(server, log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def with_secret() -> Iterator[RunningServer]:
    yield from start({"APP_SECRET": SECRET_VALUE, "APP_VERSION": "0123abcd"})


@pytest.fixture
def without_secret() -> Iterator[RunningServer]:
    yield from start({})


def test_healthz_answers_ok_for_the_load_balancer(with_secret: RunningServer) -> None:
    response = with_secret.request("/healthz")
    assert response.status == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


def test_secret_check_is_200_when_the_secret_reached_the_task(with_secret: RunningServer) -> None:
    response = with_secret.request("/secret-check")
    assert (response.status, response.json()) == (200, {"secret_present": True})


@pytest.mark.parametrize("environ", [{}, {"APP_SECRET": ""}, {"APP_SECRET": "   "}], ids=["absent", "empty", "blank"])
def test_secret_check_is_503_when_the_secret_is_missing(environ: dict[str, str]) -> None:
    for running in start(environ):
        response = running.request("/secret-check")
        assert (response.status, response.json()) == (503, {"secret_present": False})


def test_root_names_the_service_and_the_image_version(with_secret: RunningServer) -> None:
    response = with_secret.request("/")
    assert (response.status, response.json()) == (200, {"service": "sample-service", "version": "0123abcd"})


def test_version_defaults_to_unknown(without_secret: RunningServer) -> None:
    assert without_secret.request("/").json() == {"service": "sample-service", "version": "unknown"}


@pytest.mark.parametrize("path", ["/nope", "/healthz/extra", "/secret-check/", "/index.html"])
def test_unknown_paths_are_404(with_secret: RunningServer, path: str) -> None:
    response = with_secret.request(path)
    assert (response.status, response.json()) == (404, {"error": "not found"})


def test_other_methods_are_refused(with_secret: RunningServer) -> None:
    assert with_secret.request("/healthz", method="POST").status == 501


def test_query_string_is_ignored_for_routing(with_secret: RunningServer) -> None:
    assert with_secret.request("/healthz?probe=1").json() == {"status": "ok"}


def test_one_log_line_per_request_without_query_string_or_headers(with_secret: RunningServer) -> None:
    with_secret.request("/healthz?token=query-token-51bc")
    with_secret.request("/missing?x=1")
    with_secret.request("/", method="DELETE")

    assert with_secret.log_lines() == [
        {"event": "request", "method": "GET", "path": "/healthz", "status": 200},
        {"event": "request", "method": "GET", "path": "/missing", "status": 404},
        {"event": "request", "method": "DELETE", "path": "/", "status": 501},
    ]
    assert "query-token-51bc" not in with_secret.log.getvalue()
    assert "header-token-9d2e" not in with_secret.log.getvalue()


def test_the_secret_value_appears_in_no_response_and_no_log(
    with_secret: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    for path in ["/", "/healthz", "/secret-check", "/nope", "/secret-check?show=1"]:
        response = with_secret.request(path)
        seen.append(response.body.decode())
        seen.extend(f"{name}: {value}" for name, value in response.headers.items())
    captured = capsys.readouterr()
    seen.extend([with_secret.log.getvalue(), captured.out, captured.err])

    assert with_secret.request("/secret-check").status == 200, "the secret was set for this server"
    assert all(SECRET_VALUE not in text for text in seen)


@pytest.mark.parametrize(
    ("raw", "port"),
    [(None, 8080), ("", 8080), ("9000", 9000), ("0", 0), (" 8081 ", 8081)],
)
def test_port_comes_from_the_environment(raw: str | None, port: int) -> None:
    assert port_from_environ({} if raw is None else {"PORT": raw}) == port


@pytest.mark.parametrize("raw", ["http", "-1", "65536", "80.5"])
def test_a_bad_port_stops_the_server_with_one_line(raw: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        port_from_environ({"PORT": raw})
    assert str(stopped.value) == f"PORT: expected an integer from 0 to 65535, got {raw!r}"


def test_sigterm_stops_the_process_gracefully_and_nothing_leaks() -> None:
    """The module as ECS runs it: a real process, stopped with SIGTERM, exits 0 and logs no secret."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PORT": "0",
        "APP_SECRET": SECRET_VALUE,
        "APP_VERSION": "0123abcd",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service_app.app.server"],
        cwd=REPO_ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        assert started["event"] == "started"
        assert started["secret_present"] is True

        connection = http.client.HTTPConnection("127.0.0.1", started["port"], timeout=5)
        connection.request("GET", "/secret-check")
        assert connection.getresponse().status == 200
        connection.close()

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events == ["request", "stopping", "stopped"]
    assert SECRET_VALUE not in out + err + json.dumps(started)
