"""make bench's push-to-prod time (tools/pipeline_time.py): the arithmetic, and every committed configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from config import Config, load_config
from config.settings import DEPLOYMENT_CONFIGS, EcsReleaseConfig
from tests.support import ROOT
from tools import bench
from tools import pipeline_time as pt

CONFIG_FILES = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "config").glob("*.toml"))


def small_config() -> Config:
    """Three environments, each released differently, with figures that are easy to add up by hand."""
    base = load_config(ROOT / "config/sandbox.toml")
    dev, staging, prod = base.environments
    return replace(
        base,
        environments=(
            replace(
                dev,
                release_controller="codedeploy",
                deployment_config="LINEAR_10PERCENT_EVERY_1MINUTES",
                termination_wait_minutes=7,
                bake_minutes=0,
            ),
            replace(
                staging,
                release_controller="ecs",
                ecs_release=EcsReleaseConfig(
                    strategy="CANARY",
                    canary_percent=10,
                    canary_bake_minutes=4,
                    linear_step_percent=None,
                    linear_interval_minutes=None,
                    bake_minutes=6,
                ),
                bake_minutes=3,
            ),
            replace(
                prod,
                release_controller="ecs",
                ecs_release=EcsReleaseConfig(
                    strategy="LINEAR",
                    canary_percent=None,
                    canary_bake_minutes=None,
                    linear_step_percent=11,
                    linear_interval_minutes=2,
                    bake_minutes=1,
                ),
                bake_minutes=2,
            ),
        ),
    )


def test_an_application_change_adds_every_stage_as_the_configuration_says() -> None:
    result = pt.push_to_prod(small_config(), application_change=True)
    start, infra = pt.RELEASE_START_MINUTES, pt.INFRASTRUCTURE_MINUTES
    assert result.by_stage() == {
        "Source": pt.SOURCE_MINUTES,
        "Build": pt.IMAGE_BUILD_MINUTES + pt.SYNTH_AND_TESTS_MINUTES + pt.SCAN_MINUTES,
        "UpdatePipeline": pt.SELF_UPDATE_MINUTES,
        # CodeDeploy linear 10 % a minute: 9 minutes from the first shift to the last, then the wait.
        "Deploy-Dev": infra + start + 9 + 7 + 0,
        # ECS canary: 4 minutes on the canary, 6 of ECS's bake, then the pipeline's 3.
        "Deploy-Staging": infra + start + 4 + 6 + 3,
        "Review-Prod": pt.REVIEW_MINUTES,
        "Approve-Prod": 0,
        # ECS linear 11 %: floor(100 / 11) = 9 intervals of 2 minutes, 1 of ECS's bake, 2 of the pipeline's.
        "Deploy-Prod": infra + start + 18 + 1 + 2,
    }
    assert result.total == sum(result.by_stage().values())


def test_an_infrastructure_only_change_runs_codedeploy_anyway_and_no_ecs_deployment() -> None:
    result = pt.push_to_prod(small_config(), application_change=False)
    stages = result.by_stage()
    assert stages["Build"] == pt.IMAGE_REUSE_MINUTES + pt.SYNTH_AND_TESTS_MINUTES + pt.SCAN_MINUTES
    assert stages["Deploy-Dev"] == pt.INFRASTRUCTURE_MINUTES + pt.RELEASE_START_MINUTES + 9 + 7
    assert stages["Deploy-Staging"] == pt.INFRASTRUCTURE_MINUTES + 3
    assert stages["Deploy-Prod"] == pt.INFRASTRUCTURE_MINUTES + 2


@pytest.mark.parametrize(
    ("step_percent", "interval", "minutes"),
    [(10, 1, 9), (10, 3, 27), (20, 3, 12), (11, 2, 18), (33, 1, 3), (50, 5, 5), (3, 1, 33)],
)
def test_a_linear_release_waits_between_shifts_and_not_after_the_last(
    step_percent: int, interval: int, minutes: int
) -> None:
    assert pt.linear_shift_minutes(step_percent, interval) == minutes


def test_every_codedeploy_configuration_the_schema_accepts_has_a_shift_time() -> None:
    assert {name: pt.codedeploy_shift_minutes(name) for name in DEPLOYMENT_CONFIGS} == {
        "CANARY_10PERCENT_5MINUTES": 5,
        "CANARY_10PERCENT_15MINUTES": 15,
        "LINEAR_10PERCENT_EVERY_1MINUTES": 9,
        "LINEAR_10PERCENT_EVERY_3MINUTES": 27,
        "ALL_AT_ONCE": 0,
    }
    with pytest.raises(ValueError, match=r"^HALF_AT_ONCE: not a CodeDeploy ECS deployment configuration"):
        pt.codedeploy_shift_minutes("HALF_AT_ONCE")


@pytest.mark.parametrize("path", CONFIG_FILES)
def test_every_configuration_file_gives_a_positive_total(path: str) -> None:
    config = load_config(ROOT / path)
    application = pt.push_to_prod(config, application_change=True)
    infrastructure = pt.push_to_prod(config, application_change=False)
    assert 0 < infrastructure.total <= application.total
    assert all(step.minutes >= 0 for step in (*application.steps, *infrastructure.steps))


def test_every_committed_configuration_is_reported_the_default_first() -> None:
    assert set(pt.COMMITTED_CONFIGS) == set(CONFIG_FILES) and pt.COMMITTED_CONFIGS[0] == "config/sandbox.toml"
    lines = pt.committed_reports()
    headers = [line for line in lines if line.startswith("push to prod")]
    assert [header.split(", ")[2].split()[0] for header in headers] == list(pt.COMMITTED_CONFIGS)
    assert sum(line.lstrip().startswith("total") for line in lines) == len(CONFIG_FILES)


def test_the_build_estimates_are_the_ones_the_cost_page_bills() -> None:
    """One set of figures for a release's build minutes: docs/cost.md's (tools/docgen/cost.py)."""
    from tools.docgen.cost import Usage

    usage = Usage()
    assert (
        usage.source_minutes,
        usage.build_minutes,
        usage.scan_minutes,
    ) == (pt.SOURCE_MINUTES, pt.IMAGE_BUILD_MINUTES, pt.SCAN_MINUTES)


def test_a_missing_configuration_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert pt.main([str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: cannot read the configuration file: no such file\n"


def test_make_bench_prints_it_first_without_a_synth(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stop(Exception):
        pass

    def no_synth(runs: int) -> None:
        raise Stop

    monkeypatch.setattr(bench, "synth_report", no_synth)
    with pytest.raises(Stop):
        bench.main(["--runs", "1"])
    assert capsys.readouterr().out.splitlines() == pt.committed_reports()
