#!/usr/bin/env python3
"""The release's scan gate: stop the release if the pushed image has findings that are too severe.

Usage (the ScanGate action runs it, see pipelines/scan_buildspec.yml)::

    python pipelines/scan_gate.py --repository delivery-ref/web --tag release-<sha> --fail-severity CRITICAL

It waits for the ECR basic scan of that image to complete (the boto3 ``image_scan_complete``
waiter, the same as ``aws ecr wait image-scan-complete``), reads the finding counts by
severity and fails when any severity at or above ``--fail-severity`` has a finding.
It fails closed: a scan that failed, is unsupported or never completes also stops the release.

Exit codes: 0 the image may be released, 1 findings block it, 2 no usable scan result.
Standard library and boto3 only, so that the gate runs without the CDK toolchain.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: ECR severities, most severe first. INFORMATIONAL and UNDEFINED never block a release.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
#: The severities a configuration may choose as the threshold (config.pipeline.scan_fail_severity).
THRESHOLDS = SEVERITIES[:4]

EXIT_PASSED = 0
EXIT_BLOCKED = 1
EXIT_NO_RESULT = 2


@dataclass(frozen=True)
class GateResult:
    exit_code: int
    message: str


def blocking_severities(fail_severity: str) -> tuple[str, ...]:
    """The severities that stop a release when the threshold is ``fail_severity`` (it and worse)."""
    if fail_severity not in THRESHOLDS:
        raise ValueError(f"fail severity must be one of {', '.join(THRESHOLDS)}, got {fail_severity!r}")
    return SEVERITIES[: SEVERITIES.index(fail_severity) + 1]


def blocking_counts(counts: Mapping[str, int], fail_severity: str) -> dict[str, int]:
    """The non-zero finding counts of the blocking severities, most severe first."""
    return {severity: counts[severity] for severity in blocking_severities(fail_severity) if counts.get(severity, 0)}


def evaluate(response: Mapping[str, Any], *, image: str, fail_severity: str) -> GateResult:
    """Decide from one DescribeImageScanFindings response."""
    status = response.get("imageScanStatus", {}).get("status", "UNKNOWN")
    if status != "COMPLETE":
        description = response.get("imageScanStatus", {}).get("description", "no description")
        return GateResult(EXIT_NO_RESULT, f"{image}: scan status {status} ({description}): the release stops")
    counts: Mapping[str, int] = response.get("imageScanFindings", {}).get("findingSeverityCounts", {})
    blocking = blocking_counts(counts, fail_severity)
    summary = ", ".join(f"{severity}={counts[severity]}" for severity in SEVERITIES if counts.get(severity)) or "none"
    if blocking:
        found = ", ".join(f"{count} {severity}" for severity, count in blocking.items())
        return GateResult(
            EXIT_BLOCKED,
            f"{image}: {found} finding(s) at or above {fail_severity}: the release stops (all findings: {summary})",
        )
    return GateResult(EXIT_PASSED, f"{image}: no finding at or above {fail_severity} (all findings: {summary})")


def _error_code(error: Exception) -> str:
    response = getattr(error, "last_response", None) or getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def run_gate(
    client: Any,
    *,
    repository: str,
    tag: str,
    fail_severity: str,
    delay_seconds: int = 5,
    max_attempts: int = 120,
    not_found_retries: int = 6,
    sleep: Callable[[float], None] = time.sleep,
) -> GateResult:
    """Wait for the scan of ``repository:tag`` and evaluate it. ``client`` is a boto3 ECR client."""
    from botocore.exceptions import ClientError, WaiterError

    image = f"{repository}:{tag}"
    blocking_severities(fail_severity)  # reject a bad threshold before any call
    request = {"repositoryName": repository, "imageId": {"imageTag": tag}}
    waiter = client.get_waiter("image_scan_complete")
    for attempt in range(not_found_retries + 1):
        try:
            waiter.wait(**request, WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts})
            break
        except WaiterError as error:
            # Scan on push starts a moment after the push: a scan that does not exist yet is retried.
            if _error_code(error) == "ScanNotFoundException" and attempt < not_found_retries:
                sleep(delay_seconds)
                continue
            if _error_code(error) in ("ScanNotFoundException", "ImageNotFoundException"):
                return GateResult(EXIT_NO_RESULT, f"{image}: {_error_code(error)}: the release stops")
            # A FAILED scan or a timeout: read the status below and report it.
            break
    try:
        response = client.describe_image_scan_findings(**request)
    except ClientError as error:
        return GateResult(EXIT_NO_RESULT, f"{image}: {_error_code(error)}: the release stops")
    return evaluate(response, image=image, fail_severity=fail_severity)


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(description="Stop the release if the image scan has blocking findings.")
    parser.add_argument("--repository", required=True, help="ECR repository name, e.g. delivery-ref/web")
    parser.add_argument("--tag", required=True, help="the image tag the build pushed, e.g. release-<sha>")
    parser.add_argument("--fail-severity", required=True, choices=THRESHOLDS, help="block at this severity or worse")
    parser.add_argument("--delay-seconds", type=int, default=5, help="seconds between polls (default: %(default)s)")
    parser.add_argument("--max-attempts", type=int, default=120, help="polls before giving up (default: %(default)s)")
    args = parser.parse_args(argv)
    if client is None:
        import boto3

        client = boto3.client("ecr")
    result = run_gate(
        client,
        repository=args.repository,
        tag=args.tag,
        fail_severity=args.fail_severity,
        delay_seconds=args.delay_seconds,
        max_attempts=args.max_attempts,
    )
    print(result.message, file=sys.stdout if result.exit_code == EXIT_PASSED else sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
