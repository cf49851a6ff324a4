"""The pipeline lock of ``make deploy``: a person's deploy and a release never run in one environment at once.

Usage:
    python -m release_guard.lock hold --config CONFIG --assembly cdk.out (--all | STACK [STACK ...])
        -- COMMAND [ARG ...]

The lock of an environment is the inbound transition of the release pipeline's ``Deploy-<Env>``
stage (the pipeline of ``Names.pipeline``, in the configuration's tools account and region),
taken with the ambient credentials (the person's tools-account credentials, e.g. ``AWS_PROFILE``):

1. ``GetPipelineState``: if the transition is already disabled, the lock is someone else's:
   refuse, naming who disabled it (``lastChangedBy``) and their reason, and never enable it. If
   the stage runs (its latest execution, or one of its stage conditions, e.g. the bake, is
   ``InProgress`` or ``Stopping``), refuse, naming the pipeline execution.
2. ``DisableStageTransition`` (transitionType ``Inbound``) with the reason
   ``make deploy by <user> at <UTC time>``, then ``GetPipelineState`` again: if the reason is not
   ours, someone else took it in between (refuse, leave theirs alone); if an execution entered the
   stage in between, enable the transition again and refuse.
3. Run COMMAND (the guard, then ``cdk deploy``), then enable each transition this command
   disabled, whatever the command's outcome (success, failure, Ctrl-C), and only while it still
   carries our reason.

What AWS documents, and this relies on:

- "Any revisions that were already running in the stages that come after the disabled transition continue
  through the pipeline, but any subsequent revisions do not continue past the disabled
  transition"; "When you re-enable a disabled transition, the latest revision runs through the
  remaining stages of the pipeline unless more than 30 days have passed" (CodePipeline user
  guide, "Working with stage transitions in CodePipeline",
  https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html). So a release that
  reaches ``Deploy-<Env>`` while the lock is held waits before the stage, and runs once it is
  released; an execution already in the stage is not stopped, hence step 1's refusal.
- DisableStageTransition's ``reason`` is 1 to 300 characters of ``[a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]``
  and "is displayed in the pipeline console UI"; ``transitionType`` is ``Inbound`` or
  ``Outbound`` (API reference,
  https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_DisableStageTransition.html).
  No colon, slash or underscore: the reason's user and time are written with ``-`` and ``.``.
- GetPipelineState gives each stage's ``inboundTransitionState`` (``enabled``,
  ``disabledReason``, ``lastChangedBy``, ``lastChangedAt``) and ``latestExecution``
  (``pipelineExecutionId``, ``status``: Cancelled, InProgress, Failed, Stopped, Stopping,
  Succeeded, Skipped) (API reference, API_GetPipelineState.html, API_TransitionState.html,
  API_StageExecution.html).

CodePipeline has no compare-and-set on a transition: two people who disable it within the same
moment can both read their own reason back. Both deploys are then serialised by CloudFormation
(it accepts no update of a stack while another runs), not by this lock. A stack of the tools
account takes no lock: the pipeline's own stages never deploy it in an environment's stage.

Exit status: COMMAND's, or 3 when a lock is refused, or 2 for bad input, an AWS error, or a
lock that could not be released (one line each, naming what to do).
"""

from __future__ import annotations

import argparse
import getpass
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from components.naming import Names
from config import Config, ConfigError, EnvironmentConfig, load_config
from release_guard.live import AwsCallError, call
from release_guard.plan import GuardError
from stacks import names
from stacks.assembly import AssemblyError, AssemblyStack, read_assembly

EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_INTERRUPTED = 2, 3, 130
INBOUND = "Inbound"
#: Stage (and stage condition) statuses of an execution that still runs in the stage.
RUNNING = frozenset({"InProgress", "Stopping"})
#: DisabledReason's pattern and length in the CodePipeline API reference.
_REASON_FORBIDDEN = re.compile(r"[^a-zA-Z0-9!@ ().*?\-]")
_REASON_LENGTH = 300

#: Runs the command; returns its exit status (KeyboardInterrupt when the person presses Ctrl-C).
Runner = Callable[[Sequence[str]], int]


class Refused(Exception):
    """The lock cannot be taken now. The message is one line: the stage, why, what to do."""


def environments_of(stacks: Sequence[AssemblyStack], config: Config) -> list[EnvironmentConfig]:
    """The environments the stacks belong to, in the configuration's order; the tools account's stacks need none."""
    titles: set[str] = set()
    for stack in stacks:
        try:
            title = names.environment_title(stack.stack_name)
        except ValueError as error:
            raise GuardError(f"release_guard.lock: {error}") from None
        if title != "Tools":
            titles.add(title)
    known = {environment.title for environment in config.environments}
    unknown = sorted(titles - known)
    if unknown:
        raise GuardError(
            f"release_guard.lock: stack environment {unknown[0]!r} is not in the configuration "
            f"(expected one of {', '.join(sorted(known))}); synthesize with the same CONFIG"
        )
    return [environment for environment in config.environments if environment.title in titles]


def reason_for(user: str, now: datetime) -> str:
    """``make deploy by <user> at <UTC time>``, in the characters DisableStageTransition accepts."""
    text = f"make deploy by {user or 'unknown'} at {now.astimezone(UTC):%Y-%m-%d %H.%M.%S} UTC"
    return _REASON_FORBIDDEN.sub("-", text)[:_REASON_LENGTH]


@dataclass(frozen=True)
class StageState:
    """What GetPipelineState says about one stage: its inbound transition and what runs in it."""

    enabled: bool
    disabled_reason: str
    changed_by: str
    running_execution: str | None
    running_status: str


def read_stage(client: Any, pipeline: str, stage: str) -> StageState:
    """The state of ``stage`` of ``pipeline``; GuardError when the pipeline has no such stage."""
    answer = call(pipeline, client, "get_pipeline_state", name=pipeline)
    found = next((item for item in answer.get("stageStates") or [] if item.get("stageName") == stage), None)
    if found is None:
        raise GuardError(
            f"{pipeline}: no stage {stage}; deploy the tools account's stacks (the pipeline) first, or check CONFIG"
        )
    transition: Mapping[str, Any] = found.get("inboundTransitionState") or {}
    latest: Mapping[str, Any] = found.get("latestExecution") or {}
    # A stage condition (the bake is an on-success condition) runs for the stage's latest execution.
    statuses = [latest.get("status")] + [
        ((found.get(key) or {}).get("latestExecution") or {}).get("status")
        for key in ("beforeEntryConditionState", "onSuccessConditionState", "onFailureConditionState")
    ]
    running = next((str(status) for status in statuses if status in RUNNING), "")
    return StageState(
        enabled=bool(transition.get("enabled", True)),
        disabled_reason=str(transition.get("disabledReason", "")),
        changed_by=str(transition.get("lastChangedBy", "someone")),
        running_execution=str(latest.get("pipelineExecutionId", "unknown")) if running else None,
        running_status=running,
    )


def _running_refusal(pipeline: str, stage: str, state: StageState) -> Refused:
    return Refused(
        f"{pipeline} {stage}: pipeline execution {state.running_execution} is {state.running_status} in the stage, "
        "and a person's deploy must not interleave with a release; wait until it ends, then run make deploy again"
    )


def _someone_elses(pipeline: str, stage: str, state: StageState) -> Refused:
    return Refused(
        f"{pipeline} {stage}: the inbound transition is disabled by {state.changed_by} "
        f"({state.disabled_reason or 'no reason given'}); wait until they enable it again, then run make deploy "
        "again (this command never enables someone else's lock)"
    )


def check_free(client: Any, pipeline: str, stage: str) -> None:
    """Step 1: :class:`Refused` when someone else holds the transition or an execution runs in the stage."""
    state = read_stage(client, pipeline, stage)
    if not state.enabled:
        raise _someone_elses(pipeline, stage, state)
    if state.running_execution is not None:
        raise _running_refusal(pipeline, stage, state)


def disable(client: Any, pipeline: str, stage: str, reason: str) -> None:
    """Step 2: DisableStageTransition, inbound, with our reason."""
    call(
        pipeline,
        client,
        "disable_stage_transition",
        pipelineName=pipeline,
        stageName=stage,
        transitionType=INBOUND,
        reason=reason,
    )


def check_held(client: Any, pipeline: str, stage: str, reason: str) -> None:
    """Step 2, read back: :class:`Refused` unless the transition carries our reason and the stage is idle."""
    state = read_stage(client, pipeline, stage)
    if state.enabled or state.disabled_reason != reason:
        raise _someone_elses(pipeline, stage, state)
    if state.running_execution is not None:
        raise _running_refusal(pipeline, stage, state)


def release(client: Any, pipeline: str, stage: str, reason: str) -> str:
    """Enable the inbound transition of ``stage`` again while it carries ``reason``; one line saying what happened."""
    state = read_stage(client, pipeline, stage)
    if state.enabled:
        return f"{pipeline} {stage}: the inbound transition is already enabled (by {state.changed_by})"
    if state.disabled_reason != reason:
        return (
            f"{pipeline} {stage}: left disabled, it is not this command's lock: {state.changed_by} "
            f"({state.disabled_reason or 'no reason given'})"
        )
    call(pipeline, client, "enable_stage_transition", pipelineName=pipeline, stageName=stage, transitionType=INBOUND)
    return f"{pipeline} {stage}: lock released, releases may enter the stage again"


def run_command(command: Sequence[str]) -> int:
    """Run ``command`` in the foreground; on Ctrl-C wait for it to stop (the terminal signals it too).

    A second Ctrl-C stops waiting. ``cdk deploy`` stopped this way does not stop a CloudFormation
    update already started; the stack's status says so, and the next ``make deploy`` refuses
    while it is ``*_IN_PROGRESS`` (:func:`release_guard.plan.status_refusal`).
    """
    process = subprocess.Popen(list(command))
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            process.wait()
        finally:
            raise KeyboardInterrupt from None


def hold(client: Any, pipeline: str, stages: Sequence[str], reason: str, command: Sequence[str], run: Runner) -> int:
    """Take every stage's lock in order, run ``command``, release what was taken; the exit status."""
    taken: list[str] = []
    status = EXIT_BAD_INPUT
    try:
        for stage in stages:
            check_free(client, pipeline, stage)
            disable(client, pipeline, stage, reason)
            taken.append(stage)  # release() enables it only while it carries our reason
            check_held(client, pipeline, stage, reason)
            print(f"{pipeline} {stage}: lock taken ({reason})", file=sys.stderr)
        status = run(command)
    except Refused as refusal:
        print(refusal, file=sys.stderr)
        status = EXIT_REFUSED
    except (AwsCallError, GuardError) as error:
        print(error, file=sys.stderr)
        status = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{pipeline}: interrupted; releasing the locks this command took", file=sys.stderr)
        status = EXIT_INTERRUPTED
    finally:
        for stage in reversed(taken):
            try:
                print(release(client, pipeline, stage, reason), file=sys.stderr)
            except (AwsCallError, GuardError) as error:
                print(
                    f"{error} (the lock of {stage} is still held: aws codepipeline enable-stage-transition "
                    f"--pipeline-name {pipeline} --stage-name {stage} --transition-type {INBOUND})",
                    file=sys.stderr,
                )
                status = status or EXIT_BAD_INPUT
    return status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GuardError(f"release_guard.lock: {message} (see python -m release_guard.lock --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m release_guard.lock", description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="action", required=True)
    hold_parser = commands.add_parser("hold", help="take the locks of the stacks' environments, run COMMAND, release")
    hold_parser.add_argument("stacks", nargs="*", metavar="STACK", help="stack to deploy (artifact id or stack name)")
    hold_parser.add_argument("--all", action="store_true", help="every stack of the assembly")
    hold_parser.add_argument("--assembly", required=True, type=Path, help="the cloud assembly directory (cdk.out)")
    hold_parser.add_argument("--config", required=True, help="the configuration the assembly was synthesized from")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client: Any = None,
    run: Runner = run_command,
    user: str | None = None,
    now: datetime | None = None,
) -> int:
    """Run the lock; returns the exit status. ``client`` and ``run`` replace boto3 and the command (tests)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "--" not in arguments:
        print("release_guard.lock: expected -- COMMAND [ARG ...] after the options", file=sys.stderr)
        return EXIT_BAD_INPUT
    split = arguments.index("--")
    options, command = arguments[:split], arguments[split + 1 :]
    try:
        if not command:
            raise GuardError("release_guard.lock: expected a COMMAND after --")
        args = _parser().parse_args(options)
        if bool(args.all) == bool(args.stacks):
            raise GuardError("release_guard.lock: name the stacks to deploy, or --all")
        config = load_config(args.config)
        assembly = read_assembly(args.assembly)
        stacks = list(assembly) if args.all else [assembly.by_name(name) for name in args.stacks]
        environments = environments_of(stacks, config)
    except (GuardError, AssemblyError, ConfigError) as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    if not environments:
        print("release_guard.lock: only tools-account stacks, no lock needed", file=sys.stderr)
        try:
            return run(command)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    if client is None:
        import boto3

        client = boto3.Session(region_name=config.region).client("codepipeline")
    reason = reason_for(user if user is not None else _login(), now or datetime.now(UTC))
    stages = [Names.deploy_stage(environment) for environment in environments]
    return hold(client, Names(config).pipeline, stages, reason, command, run)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no USER/LOGNAME and no passwd entry (a bare container)
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
