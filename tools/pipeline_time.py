"""The pipeline's shortest time from a push to prod, read from the configuration alone (no synth).

``make bench`` prints it, and ``python -m tools.pipeline_time [CONFIG ...]`` on its own, once for
an application change and once for an infrastructure-only change, stage by stage, in minutes.
The approval wait before prod and prod's deployment window are not counted: both depend on
people and the clock, not on the configuration.

The stages are those of the one pipeline (docs/deploy.md): Source -> Build (image,
synth and tests, scan gate) -> UpdatePipeline (self-mutation) -> per environment dev, staging,
[Review-Prod, Approve-Prod], prod: ``Deploy-<Env>`` = the ``Infrastructure`` action (a CloudFormation
update of ``<Env>-Network`` and ``<Env>-Service``), the release, then the stage's bake.

What is computed, and from where:

* the release. CodeDeploy: the traffic shift of the deployment configuration, whose name says it
  (CodeDeploy user guide, deployment-configurations.html, "Predefined deployment configurations
  for an Amazon ECS compute platform": ``ECSCanary10percent5Minutes`` shifts 10 percent, the
  remaining 90 percent five minutes later; ``ECSLinear10PercentEvery1Minutes`` shifts 10 percent
  every minute until all traffic is shifted, that is 10 shifts and 9 intervals), then the
  termination wait: the original task set is kept for ``termination_wait_minutes`` and only then
  deleted (CodeDeploy API reference, BlueInstanceTerminationOption), and until then the deployment
  is not complete (ContinueDeployment with ``TERMINATION_WAIT``: "the traffic is shifted, but the
  original target is not terminated"), so the pipeline's CodeDeploy action waits for it too.
  ECS-native: the strategy's shift plus the ``ecs_release`` bake, which the CloudFormation update
  waits for (ECS developer guide, deployment-type-blue-green, canary-deployment and
  deployment-type-linear: the deployment bake time runs after all production traffic has shifted,
  before the old revision is terminated; CloudFormation template reference, AWS::ECS::Service
  CanaryConfiguration and LinearConfiguration, counts a deployment's time as ``BakeTimeInMinutes +
  CanaryBakeTimeInMinutes`` and ``BakeTimeInMinutes + StepBakeTimeInMinutes x steps``, with
  ``100 / StepPercent - 1`` steps when it divides evenly, no step bake after the last shift);
* the pipeline's bake after each deploy stage: the environment's ``bake_minutes`` (the
  ``onSuccess`` condition's LambdaInvoke rule, pipelines/health_bake.py);
* everything else is an estimate, a named constant below that says where its figure comes from.

An infrastructure-only change: the build tags the image with a digest of the image's inputs
(pipelines/app_digest.py, on main since 0fbf821), so such a commit reuses the released image.
Under ECS-native the task definition then does not change and no ECS deployment starts. Under
CodeDeploy the pipeline's CodeDeploy action runs on every execution all the same, and CodeDeploy creates a
replacement task set for every deployment (CodeDeploy user guide, deployment-steps-ecs, the
``Install`` lifecycle event), so the same image goes through a full blue/green deployment: shift
and termination wait included.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from config import DEFAULT_CONFIG_PATH, Config, load_config
from config.reader import ConfigError
from config.settings import EcsReleaseConfig, EnvironmentConfig

ROOT = Path(__file__).resolve().parent.parent
#: The committed configurations ``make bench`` reports on: every config/*.toml, the default first (no list
#: to keep in step with a team's own files).
COMMITTED_CONFIGS = (
    DEFAULT_CONFIG_PATH,
    *sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "config").glob("*.toml")
        if path.relative_to(ROOT).as_posix() != DEFAULT_CONFIG_PATH
    ),
)

# -- estimates (minutes) -------------------------------------------------------------------------
# None of these is measured by the project; each is an estimate, and where it comes from is said.
# The first three are the figures docs/cost.md bills by (tools/docgen/cost.py, ``Usage``), which
# tests/tooling/test_pipeline_time.py keeps equal.

#: The GitHub source action: CodeConnections hands over the commit's zip.
SOURCE_MINUTES = 1
#: The image build of an application change: unit tests, docker build, push (docs/cost.md's build minutes).
IMAGE_BUILD_MINUTES = 10
#: The scan gate: waits for ECR's scan of the image and reads its findings (docs/cost.md's scan minutes).
SCAN_MINUTES = 2
#: The build of an infrastructure-only change: the unit tests, the base-image pull and the
#: digest of the image's inputs, which finds its tag in ECR, so nothing is built or pushed.
#: An estimate: CodeBuild provisioning (about a minute) plus the tests and the pull.
IMAGE_REUSE_MINUTES = 3
#: One synth of the cloud assembly and the test suite on it, in the build. A synth and the suite
#: take about 50 seconds on the 2-core build machine (docs/speed.md); the rest is CodeBuild
#: provisioning and installing the pinned Python and Node dependencies. An estimate.
SYNTH_AND_TESTS_MINUTES = 3
#: UpdatePipeline: a CodeBuild ``cdk deploy`` of the tools account's stacks from the assembly,
#: which finds nothing to change (a change restarts the pipeline: not the minimum). An estimate.
SELF_UPDATE_MINUTES = 3
#: The ``Infrastructure`` action without a release in it: CodeBuild provisioning and a CloudFormation
#: update of ``<Env>-Network`` (nothing to change) and ``<Env>-Service`` (the LiveTraffic custom
#: resource runs on every deploy, and the listeners are written back). An estimate.
INFRASTRUCTURE_MINUTES = 4
#: Before any production traffic moves: the new tasks start on Fargate and pass the container and
#: the target group health checks (2 x 15 s, components/ecs_blue_green/load_balancer.py), and
#: the test-traffic hook probes them through the test listener. An estimate, the same under both
#: controllers. (config/settings.py's ECS_RELEASE_OVERHEAD_MINUTES, 15, is the ceiling the pipeline
#: must wait for, with margin; this is the expected figure.)
RELEASE_START_MINUTES = 3
#: Review-Prod: the template diff of prod's stacks for the approver (cdk diff, twice). An estimate.
REVIEW_MINUTES = 2

_CANARY = re.compile(r"CANARY_(\d+)PERCENT_(\d+)MINUTES")
_LINEAR = re.compile(r"LINEAR_(\d+)PERCENT_EVERY_(\d+)MINUTES")


def linear_shift_minutes(step_percent: float, interval_minutes: int) -> int:
    """Minutes from the first production shift to the last one of a linear release.

    The first step shifts at once and no wait follows the last: ``100 / step - 1`` intervals
    when the step divides 100, ``floor(100 / step)`` otherwise (CloudFormation template
    reference, AWS::ECS::Service LinearConfiguration; CodeDeploy's linear configurations shift the
    same way: 10 percent every minute is 10 shifts, 9 minutes apart from first to last).
    """
    steps = 100 / step_percent
    intervals = int(steps) - 1 if steps == int(steps) else math.floor(steps)
    return intervals * interval_minutes


def codedeploy_shift_minutes(deployment_config: str) -> int:
    """Minutes CodeDeploy's predefined ECS configuration takes from the first shift to the last."""
    if deployment_config == "ALL_AT_ONCE":
        return 0
    if match := _CANARY.fullmatch(deployment_config):
        return int(match.group(2))
    if match := _LINEAR.fullmatch(deployment_config):
        return linear_shift_minutes(int(match.group(1)), int(match.group(2)))
    raise ValueError(f"{deployment_config}: not a CodeDeploy ECS deployment configuration this module can read")


def ecs_shift_minutes(release: EcsReleaseConfig) -> int:
    """Minutes an ECS-native strategy takes from the first production shift to the last."""
    if release.strategy == "CANARY":
        return release.canary_bake_minutes or 0
    if release.strategy == "LINEAR":
        assert release.linear_step_percent and release.linear_interval_minutes is not None
        return linear_shift_minutes(release.linear_step_percent, release.linear_interval_minutes)
    return 0


@dataclass(frozen=True)
class Step:
    stage: str  # the pipeline stage: "Build", "Deploy-Prod"
    what: str  # what runs in it, and whether it is an estimate
    minutes: int


@dataclass(frozen=True)
class PushToProd:
    """The minimum minutes from a push to prod, step by step, for one kind of change."""

    source: str  # the configuration file
    application_change: bool
    steps: tuple[Step, ...]

    @property
    def total(self) -> int:
        return sum(step.minutes for step in self.steps)

    def by_stage(self) -> dict[str, int]:
        stages: dict[str, int] = {}
        for step in self.steps:
            stages[step.stage] = stages.get(step.stage, 0) + step.minutes
        return stages


def _release(environment: EnvironmentConfig, application_change: bool) -> Step:
    stage = f"Deploy-{environment.title}"
    if environment.ecs_release is not None:
        release = environment.ecs_release
        if not application_change:
            return Step(stage, "ECS release: none, the task definition is unchanged", 0)
        shift = ecs_shift_minutes(release)
        return Step(
            stage,
            f"ECS release in that update: start {RELEASE_START_MINUTES} (est.) "
            f"+ {release.strategy} shift {shift} + ECS bake {release.bake_minutes}",
            RELEASE_START_MINUTES + shift + release.bake_minutes,
        )
    shift = codedeploy_shift_minutes(environment.deployment_config)
    wait = environment.termination_wait_minutes
    return Step(
        stage,
        f"CodeDeploy {environment.deployment_config}{'' if application_change else ', same image'}: "
        f"start {RELEASE_START_MINUTES} (est.) + shift {shift} + termination wait {wait}",
        RELEASE_START_MINUTES + shift + wait,
    )


def push_to_prod(config: Config, *, application_change: bool) -> PushToProd:
    """The pipeline's minimum time from a push to prod for ``config``, without the approval wait."""
    build = IMAGE_BUILD_MINUTES if application_change else IMAGE_REUSE_MINUTES
    steps = [
        Step("Source", "GitHub source action (est.)", SOURCE_MINUTES),
        Step(
            "Build",
            "unit tests, image build and push (est.)" if application_change else "unit tests, image reused (est.)",
            build,
        ),
        Step("Build", "synth of the assembly and its tests (est.)", SYNTH_AND_TESTS_MINUTES),
        Step("Build", "scan gate (est.)", SCAN_MINUTES),
        Step("UpdatePipeline", "self-mutation, nothing to change (est.)", SELF_UPDATE_MINUTES),
    ]
    for environment in config.environments:
        stage = f"Deploy-{environment.title}"
        if environment.is_production:
            steps.append(Step("Review-Prod", "prod's template diff for the approver (est.)", REVIEW_MINUTES))
            steps.append(Step("Approve-Prod", "the approval wait: not counted", 0))
        steps.append(Step(stage, "Infrastructure: CloudFormation update (est.)", INFRASTRUCTURE_MINUTES))
        steps.append(_release(environment, application_change))
        steps.append(Step(stage, "the stage's bake (bake_minutes)", environment.bake_minutes))
    return PushToProd(source=config.source, application_change=application_change, steps=tuple(steps))


def report(config: Config) -> list[str]:
    """Both kinds of change side by side: each stage with its minutes, and the steps inside it."""
    application = push_to_prod(config, application_change=True)
    infrastructure = push_to_prod(config, application_change=False)
    stage_app, stage_infra = application.by_stage(), infrastructure.by_stage()
    width = max(len(step.what) for step in application.steps) + 6

    def row(label: str, app: int, infra: int) -> str:
        return f"  {label:<{width}}{app:>5}{infra:>7}"

    lines = [
        f"push to prod, minimum minutes, {config.source} (not counted: the approval wait, prod's deployment window):",
        f"  {'stage / step (est. = an estimate, tools/pipeline_time.py)':<{width}}{'app':>5}{'infra':>7}",
    ]
    current = ""
    for app_step, infra_step in zip(application.steps, infrastructure.steps, strict=True):
        if app_step.stage != current:
            current = app_step.stage
            lines.append(row(current, stage_app[current], stage_infra[current]))
        lines.append(row(f"  {app_step.what}", app_step.minutes, infra_step.minutes))
        if infra_step.what != app_step.what:
            lines.append(f"      infrastructure-only: {infra_step.what}")
    lines.append(row("total", application.total, infrastructure.total))
    return lines


def committed_reports(paths: tuple[str, ...] = COMMITTED_CONFIGS) -> list[str]:
    """The report of each configuration, for ``make bench``."""
    lines: list[str] = []
    for path in paths:
        lines += report(replace(load_config(ROOT / path), source=path))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pipeline_time", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(COMMITTED_CONFIGS), help="configuration files")
    args = parser.parse_args(argv)
    try:
        reports = [report(load_config(path)) for path in args.configs]
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print("\n".join(line for lines in reports for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
