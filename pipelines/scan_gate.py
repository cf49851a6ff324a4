#!/usr/bin/env python3
"""The release's scan gate: stop the release if the pushed image has findings that are too severe.

Usage (the ScanGate action runs it, see pipelines/scan_buildspec.yml)::

    python pipelines/scan_gate.py --repository delivery-ref/web --tag release-<digest> --fail-severity CRITICAL

It polls DescribeImageScanFindings until the scan of that image has a result, reads the
finding counts by severity and fails when any severity at or above ``--fail-severity`` has a
finding. Both ECR scan types work: a basic scan ends ``COMPLETE``; an enhanced (Amazon
Inspector) scan, which goes on scanning the image, reports ``ACTIVE`` once it has findings
to read. (``aws ecr wait image-scan-complete`` waits for ``COMPLETE`` only, so it would time
out on every enhanced scan.) It fails closed: a scan that failed, is unsupported, has no
findings available or never finishes also stops the release.

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
#: Scan statuses with findings to read: basic scans end COMPLETE, enhanced scans stay ACTIVE.
RESULT_STATUSES = ("COMPLETE", "ACTIVE")
#: Scan statuses that are still on their way to a result.
PENDING_STATUSES = ("IN_PROGRESS", "PENDING")

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
    if status not in RESULT_STATUSES:
        description = response.get("imageScanStatus", {}).get("description", "no description")
        return GateResult(EXIT_NO_RESULT, f"{image}: scan status {status} ({description}): the release stops")
    counts = severity_counts(response.get("imageScanFindings", {}))
    blocking = blocking_counts(counts, fail_severity)
    summary = ", ".join(f"{severity}={counts[severity]}" for severity in SEVERITIES if counts.get(severity)) or "none"
    if blocking:
        found = ", ".join(f"{count} {severity}" for severity, count in blocking.items())
        return GateResult(
            EXIT_BLOCKED,
            f"{image}: {found} finding(s) at or above {fail_severity}: the release stops (all findings: {summary})",
        )
    return GateResult(EXIT_PASSED, f"{image}: no finding at or above {fail_severity} (all findings: {summary})")


def severity_counts(scan_findings: Mapping[str, Any]) -> Mapping[str, int]:
    """Counts by severity: ECR's own summary, or a count of the enhanced findings without one."""
    counts: Mapping[str, int] = scan_findings.get("findingSeverityCounts") or {}
    if counts:
        return counts
    counted: dict[str, int] = {}
    for finding in scan_findings.get("enhancedFindings", []):
        severity = str(finding.get("severity", "UNDEFINED")).upper()
        counted[severity] = counted.get(severity, 0) + 1
    return counted


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
    from botocore.exceptions import ClientError

    image = f"{repository}:{tag}"
    blocking_severities(fail_severity)  # reject a bad threshold before any call
    request = {"repositoryName": repository, "imageId": {"imageTag": tag}}
    not_found = 0
    response: Mapping[str, Any] = {}
    for attempt in range(max_attempts):
        if attempt:
            sleep(delay_seconds)
        try:
            response = _all_findings(client, request)
        except ClientError as error:
            # Scan on push starts a moment after the push: a scan that does not exist yet is retried.
            if _error_code(error) == "ScanNotFoundException" and not_found < not_found_retries:
                not_found += 1
                continue
            return GateResult(EXIT_NO_RESULT, f"{image}: {_error_code(error)}: the release stops")
        if response.get("imageScanStatus", {}).get("status") not in PENDING_STATUSES:
            break
    return evaluate(response, image=image, fail_severity=fail_severity)


def _all_findings(client: Any, request: Mapping[str, Any]) -> dict[str, Any]:
    """One DescribeImageScanFindings result with the enhanced findings of every page."""
    response = dict(client.describe_image_scan_findings(**request))
    findings = dict(response.get("imageScanFindings", {}))
    token = response.get("nextToken")
    while token and not findings.get("findingSeverityCounts"):
        page = client.describe_image_scan_findings(**request, nextToken=token)
        findings["enhancedFindings"] = [
            *findings.get("enhancedFindings", []),
            *page.get("imageScanFindings", {}).get("enhancedFindings", []),
        ]
        token = page.get("nextToken")
    response["imageScanFindings"] = findings
    return response


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(description="Stop the release if the image scan has blocking findings.")
    parser.add_argument("--repository", required=True, help="ECR repository name, e.g. delivery-ref/web")
    parser.add_argument("--tag", required=True, help="the image tag the build pushed, e.g. release-<digest>")
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
