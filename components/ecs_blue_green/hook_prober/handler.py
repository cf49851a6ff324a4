"""The prober of the test-traffic hook: one GET to the test listener, from inside the VPC, and its result.

The hook is two functions (components/ecs_blue_green/lifecycle_hook.py). The invoker, outside the
VPC, is what CodeDeploy and Amazon ECS call: it finds the addresses, decides the retries, and
reports. It invokes this function once per attempt, synchronously, with

  ``{"url": "http://<address>:<port><path>", "host_header": "<name>" or null,
     "timeout_seconds": <number>, "expected_status": <int>}``

and this function, in the VPC's task subnets, sends that one request and returns

  ``{"healthy": <bool>, "detail": "<why>", "status": <int or null>}``.

Healthy means the expected status with a JSON body. Redirects are reported, never followed; no proxy
from the environment is used. A malformed request is an unhealthy result whose detail says what is
wrong: this function never raises and calls no AWS API, so it needs no VPC endpoint and its role has no
permission beyond its network interfaces and its log group. Its security group lets it reach the test
listener's port on the load balancer and nothing else.

Runs on Lambda's python3.14 runtime (components/handler_function.py, RUNTIME) with the standard library only:
deployed from this folder alone.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

MAX_BODY_BYTES = 64 * 1024
#: The bounds of a request's timeout, in seconds. The upper one is 2 s under the function's own timeout
#: (lifecycle_hook.py, PROBER_TIMEOUT: 10 s), so the function answers before Lambda stops it; the invoker
#: accepts no longer TIMEOUT_SECONDS (hook/handler.py, MAX_REQUEST_TIMEOUT_SECONDS).
TIMEOUT_BOUNDS = (0.001, 8.0)


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str, separators=(",", ":")), flush=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer from the listener, not a healthy one: report it, do not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment, no redirects: the request goes to the test listener and nowhere else.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def result(healthy: bool, detail: str, status: int | None = None) -> dict[str, Any]:
    return {"healthy": healthy, "detail": detail, "status": status}


def probe(url: str, *, host_header: str | None, timeout: float, expected_status: int) -> dict[str, Any]:
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
        return result(False, f"status {error.code}, expected {expected_status}", error.code)
    except (OSError, http.client.HTTPException) as error:
        # URLError (connection refused, name resolution), TimeoutError and other socket errors.
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        return result(False, f"request failed: {type(reason).__name__}: {reason}")
    if status != expected_status:
        return result(False, f"status {status}, expected {expected_status}", status)
    try:
        json.loads(body)
    except ValueError:
        return result(False, "the body is not JSON", status)
    return result(True, f"status {status} with a JSON body", status)


class BadRequest(ValueError):
    """The invoker's request is malformed."""


def _request(event: Any) -> tuple[str, str | None, float, int]:
    if not isinstance(event, Mapping):
        raise BadRequest(f"expected an object, got {type(event).__name__}")
    url = event.get("url")
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme != "http" or not parts.hostname:
        raise BadRequest(f"url: expected an http:// URL with a host, got {url!r}")
    host_header = event.get("host_header")
    if host_header is not None and (not isinstance(host_header, str) or not host_header.strip()):
        raise BadRequest(f"host_header: expected a host name or null, got {host_header!r}")
    timeout = event.get("timeout_seconds")
    low, high = TIMEOUT_BOUNDS
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not low <= timeout <= high:
        raise BadRequest(f"timeout_seconds: expected a number from {low} to {high}, got {timeout!r}")
    expected = event.get("expected_status")
    if isinstance(expected, bool) or not isinstance(expected, int) or not 100 <= expected <= 599:
        raise BadRequest(f"expected_status: expected an integer from 100 to 599, got {expected!r}")
    return url, host_header, float(timeout), expected  # type: ignore[return-value]


def run(event: Any) -> dict[str, Any]:
    """The one request the event asks for, or an unhealthy result saying why it was not sent. Never raises."""
    try:
        url, host_header, timeout, expected_status = _request(event)
    except BadRequest as error:
        log("invalid_request", reason=str(error))
        return result(False, f"invalid request to the prober: {error}")
    try:
        answer = probe(url, host_header=host_header, timeout=timeout, expected_status=expected_status)
    except Exception as error:  # a bug here must still be an answer the invoker can report
        answer = result(False, f"unexpected error in the prober: {type(error).__name__}: {error}")
    log("request", url=url, host_header=host_header, **answer)
    return answer


def handler(event: Any, context: object) -> dict[str, Any]:
    return run(event)
