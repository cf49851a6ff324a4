"""The sample service that the pipeline builds and the ECS Fargate service runs.

Standard library only, so the image needs no pip install and runs on a read-only root filesystem.

Environment:
  PORT          TCP port to listen on (default 8080; 0 picks a free port, used by the tests).
  APP_VERSION   the commit SHA the image was built from (default "unknown").
  APP_SECRET    injected by ECS ``secrets`` from Secrets Manager. The server reduces it to a
                boolean at startup: only its presence is reported, the value is never returned
                or logged.
  SERVICE_NAME  the name returned by ``GET /`` (default "sample-service").

Endpoints: ``GET /healthz`` (load balancer and container health), ``GET /secret-check`` (200 when
the secret reached the task, 503 otherwise; the CodeDeploy test-traffic hook calls it), ``GET /``
(service name and version). Everything else is 404. One JSON line per request goes to stdout,
with the path but never the query string or headers. SIGTERM (how ECS stops a task) and SIGINT
stop accepting connections, let requests in flight finish and exit with status 0.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlsplit

DEFAULT_PORT = 8080
DEFAULT_SERVICE_NAME = "sample-service"
SECRET_ENV_VAR = "APP_SECRET"
# A slow or silent client may hold a handler thread for at most this long, which bounds how long
# a graceful shutdown waits (ECS sends SIGKILL after the container's stopTimeout, 30 s by default).
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class AppSettings:
    """What the server needs from its environment. Holds no secret value, only whether one is set."""

    service_name: str
    version: str
    secret_present: bool

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AppSettings:
        return cls(
            service_name=environ.get("SERVICE_NAME") or DEFAULT_SERVICE_NAME,
            version=environ.get("APP_VERSION") or "unknown",
            secret_present=bool(environ.get(SECRET_ENV_VAR, "").strip()),
        )


def port_from_environ(environ: Mapping[str, str]) -> int:
    """The PORT variable as an int, or exit with one line that says what is wrong."""
    raw = environ.get("PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or int(raw) > 65535:
        raise SystemExit(f"PORT: expected an integer from 0 to 65535, got {raw!r}")
    return int(raw)


class JsonLog:
    """One JSON object per line on a stream (stdout in the container, read by the awslogs driver)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        # Re-entrant: the SIGTERM handler logs from the main thread, which may be mid-write.
        self._lock = threading.RLock()

    def write(self, **fields: Any) -> None:
        line = json.dumps(fields, separators=(",", ":"))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class AppServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the settings and the log its handlers use."""

    daemon_threads = True
    # server_close() waits for the handler threads: requests in flight finish before exit.
    block_on_close = True

    def __init__(self, address: tuple[str, int], *, settings: AppSettings, log: JsonLog) -> None:
        self.settings = settings
        self.log = log
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    server: AppServer
    # HTTP/1.0: one request per connection, so no idle keep-alive connection delays a shutdown.
    protocol_version = "HTTP/1.0"
    server_version = "sample-service"
    sys_version = ""
    timeout = REQUEST_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        settings = self.server.settings
        if path == "/healthz":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/secret-check":
            status = HTTPStatus.OK if settings.secret_present else HTTPStatus.SERVICE_UNAVAILABLE
            self._send_json(status, {"secret_present": settings.secret_present})
        elif path == "/":
            self._send_json(HTTPStatus.OK, {"service": settings.service_name, "version": settings.version})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _send_json(self, status: HTTPStatus, body: Mapping[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Called once per response (also for the errors BaseHTTPRequestHandler sends itself).
        # Only the method, the path without its query string and the status: no headers, no body.
        raw_path = getattr(self, "path", "") or ""
        status = code.value if isinstance(code, HTTPStatus) else code
        self.server.log.write(event="request", method=self.command, path=urlsplit(raw_path).path, status=status)

    def log_message(self, format: str, *args: Any) -> None:
        # The base class would print the raw request line (query string included) to stderr.
        # Every response is already logged by log_request, so nothing else is written.
        return


def build_server(
    host: str,
    port: int,
    *,
    environ: Mapping[str, str],
    log_stream: TextIO,
) -> AppServer:
    """A bound server, not yet serving. Port 0 picks a free port (see ``server.server_address``)."""
    return AppServer((host, port), settings=AppSettings.from_environ(environ), log=JsonLog(log_stream))


def serve(server: AppServer) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        server.log.write(event="stopping", signal=signal.Signals(signum).name)
        # shutdown() blocks until serve_forever() returns, and serve_forever() runs in this
        # (the main) thread, so it must be called from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    settings = server.settings
    server.log.write(
        event="started",
        host=host,
        port=port,
        service=settings.service_name,
        version=settings.version,
        secret_present=settings.secret_present,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.log.write(event="stopped")


def main() -> None:
    port = port_from_environ(os.environ)
    # 0.0.0.0: in awsvpc mode the load balancer reaches the task on its ENI address.
    serve(build_server("0.0.0.0", port, environ=os.environ, log_stream=sys.stdout))


if __name__ == "__main__":
    main()
