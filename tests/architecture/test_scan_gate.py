"""The scan gate script (pipelines/scan_gate.py): which findings stop a release, and that it fails closed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pipelines import scan_gate
from pipelines.scan_gate import EXIT_BLOCKED, EXIT_NO_RESULT, EXIT_PASSED, blocking_severities, run_gate

REPOSITORY = "delivery-ref/web"
TAG = "release-0123456789abcdef0123456789abcdef01234567"
REQUEST = {"repositoryName": REPOSITORY, "imageId": {"imageTag": TAG}}


def findings(status: str = "COMPLETE", **counts: int) -> dict[str, Any]:
    return {
        "registryId": "111111111111",
        "repositoryName": REPOSITORY,
        "imageId": {"imageTag": TAG},
        "imageScanStatus": {"status": status, "description": f"scan {status.lower()}"},
        "imageScanFindings": {"findingSeverityCounts": counts},
    }


@pytest.fixture
def ecr() -> Any:
    return boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def gate(ecr: Any, responses: list[dict[str, Any]], fail_severity: str = "CRITICAL", **kwargs: Any) -> Any:
    """Run the gate against stubbed DescribeImageScanFindings responses, one per poll."""
    with Stubber(ecr) as stubber:
        for response in responses:
            if "error" in response:
                stubber.add_client_error(
                    "describe_image_scan_findings", service_error_code=response["error"], expected_params=REQUEST
                )
            else:
                stubber.add_response("describe_image_scan_findings", response, REQUEST)
        result = run_gate(
            ecr,
            repository=REPOSITORY,
            tag=TAG,
            fail_severity=fail_severity,
            delay_seconds=0,
            sleep=lambda _: None,
            **kwargs,
        )
        stubber.assert_no_pending_responses()
    return result


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("CRITICAL", ("CRITICAL",)),
        ("HIGH", ("CRITICAL", "HIGH")),
        ("MEDIUM", ("CRITICAL", "HIGH", "MEDIUM")),
        ("LOW", ("CRITICAL", "HIGH", "MEDIUM", "LOW")),
    ],
)
def test_threshold_blocks_itself_and_every_worse_severity(threshold: str, expected: tuple[str, ...]) -> None:
    assert blocking_severities(threshold) == expected


def test_thresholds_match_the_configuration_choices() -> None:
    from config.settings import SCAN_SEVERITIES

    assert scan_gate.THRESHOLDS == SCAN_SEVERITIES


def test_an_unknown_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="fail severity must be one of"):
        blocking_severities("SEVERE")


def test_critical_finding_stops_the_release_after_waiting_for_the_scan(ecr: Any) -> None:
    result = gate(ecr, [findings("IN_PROGRESS"), findings(CRITICAL=1, LOW=4)])
    assert result.exit_code == EXIT_BLOCKED
    assert "1 CRITICAL finding(s) at or above CRITICAL" in result.message
    assert "CRITICAL=1, LOW=4" in result.message


def test_findings_below_the_threshold_let_the_release_through(ecr: Any) -> None:
    result = gate(ecr, [findings(HIGH=2, MEDIUM=5)])
    assert result.exit_code == EXIT_PASSED
    assert "no finding at or above CRITICAL" in result.message


def test_a_lower_threshold_blocks_high_findings(ecr: Any) -> None:
    result = gate(ecr, [findings(HIGH=2)], fail_severity="HIGH")
    assert result.exit_code == EXIT_BLOCKED
    assert "2 HIGH" in result.message


def test_informational_findings_never_block(ecr: Any) -> None:
    result = gate(ecr, [findings(INFORMATIONAL=9, UNDEFINED=3)], "LOW")
    assert result.exit_code == EXIT_PASSED


def test_a_failed_scan_stops_the_release(ecr: Any) -> None:
    result = gate(ecr, [findings("FAILED")])
    assert result.exit_code == EXIT_NO_RESULT
    assert "scan status FAILED" in result.message


def test_an_unsupported_image_stops_the_release(ecr: Any) -> None:
    result = gate(ecr, [findings("UNSUPPORTED_IMAGE")], max_attempts=3)
    assert result.exit_code == EXIT_NO_RESULT


def test_a_scan_that_never_completes_stops_the_release(ecr: Any) -> None:
    result = gate(ecr, [findings("IN_PROGRESS"), findings("IN_PROGRESS")], max_attempts=2)
    assert result.exit_code == EXIT_NO_RESULT
    assert "scan status IN_PROGRESS" in result.message


def test_a_scan_not_started_yet_is_waited_for(ecr: Any) -> None:
    result = gate(ecr, [{"error": "ScanNotFoundException"}, findings()])
    assert result.exit_code == EXIT_PASSED


def test_a_missing_image_stops_the_release(ecr: Any) -> None:
    result = gate(ecr, [{"error": "ImageNotFoundException"}])
    assert result.exit_code == EXIT_NO_RESULT
    assert "ImageNotFoundException" in result.message


def test_main_prints_one_line_and_returns_the_exit_code(ecr: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with Stubber(ecr) as stubber:
        stubber.add_response("describe_image_scan_findings", findings(CRITICAL=3), REQUEST)
        code = scan_gate.main(
            ["--repository", REPOSITORY, "--tag", TAG, "--fail-severity", "CRITICAL", "--delay-seconds", "0"],
            client=ecr,
        )
    assert code == EXIT_BLOCKED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 CRITICAL" in err


def enhanced(status: str, findings_page: list[str], next_token: str | None = None) -> dict[str, Any]:
    """An enhanced (Amazon Inspector) scan response without a severity summary."""
    response: dict[str, Any] = {
        "registryId": "111111111111",
        "repositoryName": REPOSITORY,
        "imageId": {"imageTag": TAG},
        "imageScanStatus": {"status": status, "description": "continuous scan"},
        "imageScanFindings": {"enhancedFindings": [{"severity": severity} for severity in findings_page]},
    }
    if next_token:
        response["nextToken"] = next_token
    return response


def test_an_enhanced_scan_is_read_when_active_instead_of_timing_out(ecr: Any) -> None:
    """Enhanced scanning never reports COMPLETE; the ECR waiter would wait it out and block every release."""
    result = gate(ecr, [findings("PENDING"), findings("ACTIVE", HIGH=1)])
    assert result.exit_code == EXIT_PASSED
    result = gate(ecr, [findings("ACTIVE", CRITICAL=2)])
    assert result.exit_code == EXIT_BLOCKED


def test_enhanced_findings_are_counted_across_pages_when_no_summary_is_given(ecr: Any) -> None:
    with Stubber(ecr) as stubber:
        stubber.add_response("describe_image_scan_findings", enhanced("ACTIVE", ["HIGH", "LOW"], "page-2"), REQUEST)
        stubber.add_response(
            "describe_image_scan_findings", enhanced("ACTIVE", ["CRITICAL"]), {**REQUEST, "nextToken": "page-2"}
        )
        result = run_gate(ecr, repository=REPOSITORY, tag=TAG, fail_severity="CRITICAL", sleep=lambda _: None)
        stubber.assert_no_pending_responses()
    assert result.exit_code == EXIT_BLOCKED
    assert "1 CRITICAL" in result.message and "HIGH=1, LOW=1" in result.message


def test_findings_that_are_unavailable_stop_the_release(ecr: Any) -> None:
    result = gate(ecr, [findings("FINDINGS_UNAVAILABLE")])
    assert result.exit_code == EXIT_NO_RESULT
    assert "scan status FINDINGS_UNAVAILABLE" in result.message
