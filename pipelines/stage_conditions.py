"""The conditions of a deploy stage (CodePipeline V2): window before entry, bake on success, rollback on failure.

Sources, checked 2026-12 (docs/deploy.md explains the design):

- Stage conditions and their results: https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html
  and https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts-how-it-works-conditions.html
  (entry: FAIL or SKIP; on failure: ROLLBACK; on success: ROLLBACK or FAIL; a condition fails when one
  of its rules fails, and its result engages only then; at most five rules per condition,
  https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_Condition.html).
- DeploymentWindow rule (Cron, TimeZone):
  https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-DeploymentWindow.html
- LambdaInvoke rule (FunctionName, UserParameters):
  https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-LambdaInvoke.html
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_codepipeline as codepipeline

WINDOW_RULE = "DeploymentWindow"
BAKE_RULE = "HealthAlarmsBake"


@dataclass(frozen=True)
class Window:
    cron: str
    time_zone: str


@dataclass(frozen=True)
class StageSafety:
    """What guards one deploy stage. Plain values: the same whichever release controller deploys."""

    rollback_on_failure: bool
    #: The bake function's name (pipelines/health_bake.py), or None for no bake.
    bake_function_name: str | None = None
    window: Window | None = None


def before_entry(safety: StageSafety) -> codepipeline.Conditions | None:
    """Outside the window the DeploymentWindow rule holds the execution until the window opens (docs/deploy.md)."""
    if safety.window is None:
        return None
    rule = codepipeline.Rule(
        name=WINDOW_RULE,
        provider="DeploymentWindow",
        version="1",
        configuration={"Cron": safety.window.cron, "TimeZone": safety.window.time_zone},
    )
    return codepipeline.Conditions(conditions=[codepipeline.Condition(result=codepipeline.Result.FAIL, rules=[rule])])


def on_success(safety: StageSafety) -> codepipeline.Conditions | None:
    """The bake: the rule fails when a health alarm fires, and the stage rolls back instead of succeeding."""
    if safety.bake_function_name is None:
        return None
    rule = codepipeline.Rule(
        name=BAKE_RULE,
        provider="LambdaInvoke",
        version="1",
        configuration={"FunctionName": safety.bake_function_name},
    )
    return codepipeline.Conditions(
        conditions=[codepipeline.Condition(result=codepipeline.Result.ROLLBACK, rules=[rule])]
    )


def on_failure(safety: StageSafety) -> codepipeline.FailureConditions | None:
    """A failed stage goes back to its last successful execution by itself, without waiting for a person."""
    if not safety.rollback_on_failure:
        return None
    return codepipeline.FailureConditions(result=codepipeline.Result.ROLLBACK)
