"""make bench (tools/bench.py): how it reads a suite run's durations into the breakdown it prints."""

from __future__ import annotations

import pytest

from tools import bench

RUN = """\
........                                                                 [100%]
============================= slowest durations ==============================
6.51s setup    tests/architecture/test_access_log_buckets.py::test_versioned[dev]
2.00s call     tests/architecture/test_ecs_native.py::test_every_acknowledgement_under_ecs_still_matches_a_finding
1.25s call     tests/architecture/test_day2_templates.py::test_health_check[ecs-native]
1.00s call     tests/architecture/test_day2_templates.py::test_health_check[sandbox]
0.50s call     tests/architecture/test_resource_counts.py::test_limit[ecs_native]
0.75s call     tests/configuration/test_app_cli.py::test_missing_file_exits_non_zero_with_one_line
0.30s teardown tests/handlers/test_service_app.py::test_sigterm
0.20s call     tests/tooling/test_docs.py::test_mermaid
0.10s call     conftest.py::odd
800 passed in 13.00s
"""


def test_every_duration_line_is_read_and_nothing_else() -> None:
    durations = bench.parse_durations(RUN)
    assert len(durations) == 9
    assert durations[0] == bench.Duration(
        6.51, "setup", "tests/architecture/test_access_log_buckets.py::test_versioned[dev]"
    )
    assert durations[0].file == "tests/architecture/test_access_log_buckets.py"
    assert {d.phase for d in durations} == {"setup", "call", "teardown"}


def test_the_suite_is_broken_down_by_folder_and_anything_else_is_named() -> None:
    totals = bench.by_folder(bench.parse_durations(RUN))
    assert totals == pytest.approx(
        {
            "tests/architecture": 11.26,
            "tests/configuration": 0.75,
            "tests/handlers": 0.30,
            "tests/tooling": 0.20,
            "elsewhere": 0.10,
        }
    )
    assert list(totals)[:4] == list(bench.SUITE_FOLDERS)


def test_the_second_configuration_is_its_own_file_and_its_cases_elsewhere() -> None:
    assert bench.second_configuration(bench.parse_durations(RUN)) == pytest.approx(2.00 + 1.25 + 0.50)


def test_a_run_count_below_one_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--runs", "0"]) == 2
    assert capsys.readouterr().err == "bench: --runs 0: expected at least 1\n"


@pytest.mark.parametrize(("ratio", "said"), [(1.99, "met"), (2.0, "met"), (2.01, "MISSED")])
def test_a_target_is_said_met_or_missed(ratio: float, said: str) -> None:
    assert bench.verdict(ratio, 2.0) == said
