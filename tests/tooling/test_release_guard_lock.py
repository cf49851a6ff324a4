"""The pipeline lock of make deploy (release_guard.lock): every outcome, with a fake CodePipeline (no AWS).

``FakePipeline`` keeps each stage's inbound transition and latest execution the way
GetPipelineState reports them, records every call, and lets a test make something happen
between two calls (an execution entering the stage, another person taking the transition).
The AWS error case uses a real boto3 client under botocore's Stubber.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from release_guard.lock import main, reason_for, run_command

PIPELINE = "delivery-ref-release"  # Names(config).pipeline of config/sandbox.toml
CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "sandbox.toml")
NOW = datetime(2026, 12, 5, 14, 13, 5, tzinfo=UTC)
REASON = "make deploy by jane-doe at 2026-12-05 14.13.05 UTC"
STAGES = ("Source", "Build", "Deploy-Dev", "Approve-Prod", "Deploy-Staging", "Deploy-Prod")


class FakePipeline:
    """GetPipelineState / DisableStageTransition / EnableStageTransition over an in-memory pipeline."""

    def __init__(self) -> None:
        self.transitions: dict[str, dict[str, Any]] = {stage: {"enabled": True} for stage in STAGES}
        self.latest: dict[str, dict[str, Any]] = {
            stage: {"pipelineExecutionId": "exec-0", "status": "Succeeded"} for stage in STAGES
        }
        self.calls: list[tuple[str, str]] = []
        #: Run before the n-th call (0-based) is answered: what happens meanwhile in the account.
        self.meanwhile: dict[int, Callable[[], None]] = {}

    def _record(self, operation: str, stage: str) -> None:
        self.meanwhile.pop(len(self.calls), lambda: None)()
        self.calls.append((operation, stage))

    def get_pipeline_state(self, *, name: str) -> dict[str, Any]:
        assert name == PIPELINE
        self._record("get", "")
        return {
            "pipelineName": name,
            "stageStates": [
                {
                    "stageName": stage,
                    "inboundTransitionState": dict(self.transitions[stage]),
                    "latestExecution": dict(self.latest[stage]),
                }
                for stage in STAGES
            ],
        }

    def disable_stage_transition(self, *, pipelineName: str, stageName: str, transitionType: str, reason: str) -> None:
        assert (pipelineName, transitionType) == (PIPELINE, "Inbound")
        self._record("disable", stageName)
        self.disabled_by(stageName, "arn:aws:sts::111111111111:assumed-role/Admin/jane", reason)

    def enable_stage_transition(self, *, pipelineName: str, stageName: str, transitionType: str) -> None:
        assert (pipelineName, transitionType) == (PIPELINE, "Inbound")
        self._record("enable", stageName)
        self.transitions[stageName] = {"enabled": True, "lastChangedBy": "jane"}

    def disabled_by(self, stage: str, who: str, reason: str) -> None:
        self.transitions[stage] = {"enabled": False, "lastChangedBy": who, "disabledReason": reason}

    def changes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] != "get"]


def write_assembly(directory: Path, *stack_names: str) -> Path:
    artifacts: dict[str, Any] = {}
    for name in stack_names:
        (directory / f"{name}.template.json").write_text(json.dumps({"Resources": {}}))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://222222222222/eu-west-1",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (directory / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return directory


class Command:
    """The wrapped command (the guard and cdk deploy): records what the locks were while it ran."""

    def __init__(self, pipeline: FakePipeline, outcome: int | type[BaseException] = 0) -> None:
        self.pipeline, self.outcome = pipeline, outcome
        self.ran: list[list[str]] = []
        self.locked_while_running: dict[str, bool] = {}

    def __call__(self, command: Sequence[str]) -> int:
        self.ran.append(list(command))
        self.locked_while_running = {
            stage: not state["enabled"] for stage, state in self.pipeline.transitions.items() if stage != "Source"
        }
        if isinstance(self.outcome, int):
            return self.outcome
        raise self.outcome


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(
        tmp_path, "Tools-PipelineRole", "Tools-Pipeline", "Dev-Network", "Dev-Service", "Prod-Network", "Prod-Service"
    )


def hold(assembly: Path, *stacks: str, client: Any, run: Any) -> int:
    argv = ["hold", "--config", CONFIG, "--assembly", str(assembly), *stacks, "--", "deploy-command", "--all"]
    return main(argv, client=client, run=run, user="jane_doe", now=NOW)


def test_the_lock_is_taken_for_the_deploy_and_released_after_it(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = FakePipeline()
    command = Command(pipeline, 0)
    assert hold(assembly, "Dev-Service", client=pipeline, run=command) == 0
    assert command.ran == [["deploy-command", "--all"]]
    assert command.locked_while_running["Deploy-Dev"], "the deploy runs while releases wait before Deploy-Dev"
    assert not command.locked_while_running["Deploy-Prod"], "only the deployed environment is locked"
    assert pipeline.changes() == [("disable", "Deploy-Dev"), ("enable", "Deploy-Dev")]
    assert pipeline.transitions["Deploy-Dev"]["enabled"]
    assert capsys.readouterr().err.splitlines() == [
        f"{PIPELINE} Deploy-Dev: lock taken ({REASON})",
        f"{PIPELINE} Deploy-Dev: lock released, releases may enter the stage again",
    ]


@pytest.mark.parametrize(
    ("outcome", "status"), [(1, 1), (3, 3), (KeyboardInterrupt, 130)], ids=["failure", "guard-refusal", "ctrl-c"]
)
def test_the_lock_is_released_whatever_the_deploy_ends_with(
    assembly: Path, outcome: int | type[BaseException], status: int
) -> None:
    pipeline = FakePipeline()
    assert hold(assembly, "Dev-Service", client=pipeline, run=Command(pipeline, outcome)) == status
    assert pipeline.changes() == [("disable", "Deploy-Dev"), ("enable", "Deploy-Dev")]
    assert pipeline.transitions["Deploy-Dev"]["enabled"]


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_a_running_stage_is_refused_before_anything_changes(
    assembly: Path, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    pipeline = FakePipeline()
    pipeline.latest["Deploy-Dev"] = {"pipelineExecutionId": "4f1c-exec-7", "status": status}
    command = Command(pipeline)
    assert hold(assembly, "Dev-Network", client=pipeline, run=command) == 3
    assert (command.ran, pipeline.changes()) == ([], [])
    assert capsys.readouterr().err == (
        f"{PIPELINE} Deploy-Dev: pipeline execution 4f1c-exec-7 is {status} in the stage, and a person's deploy "
        "must not interleave with a release; wait until it ends, then run make deploy again\n"
    )


def test_a_bake_still_running_counts_as_a_running_stage(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bake is an on-success stage condition; while it runs the release is not over."""
    pipeline = FakePipeline()
    state = pipeline.get_pipeline_state

    def with_bake(*, name: str) -> dict[str, Any]:
        answer = state(name=name)
        for stage in answer["stageStates"]:
            if stage["stageName"] == "Deploy-Dev":
                stage["onSuccessConditionState"] = {"latestExecution": {"status": "InProgress"}}
        return answer

    pipeline.get_pipeline_state = with_bake  # type: ignore[method-assign]
    assert hold(assembly, "Dev-Service", client=pipeline, run=Command(pipeline)) == 3
    assert pipeline.changes() == []
    assert "pipeline execution exec-0 is InProgress in the stage" in capsys.readouterr().err


def test_someone_elses_lock_is_refused_named_and_left_alone(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = FakePipeline()
    pipeline.disabled_by("Deploy-Dev", "arn:aws:sts::111111111111:assumed-role/Admin/omar", "incident 42 (omar)")
    command = Command(pipeline)
    assert hold(assembly, "Dev-Service", client=pipeline, run=command) == 3
    assert (command.ran, pipeline.changes()) == ([], [])
    assert pipeline.transitions["Deploy-Dev"]["disabledReason"] == "incident 42 (omar)"
    assert capsys.readouterr().err == (
        f"{PIPELINE} Deploy-Dev: the inbound transition is disabled by "
        "arn:aws:sts::111111111111:assumed-role/Admin/omar (incident 42 (omar)); wait until they enable it again, "
        "then run make deploy again (this command never enables someone else's lock)\n"
    )


def test_an_execution_that_enters_between_the_read_and_the_disable_is_refused_and_the_lock_given_back(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = FakePipeline()
    pipeline.meanwhile[1] = lambda: pipeline.latest.update(
        {"Deploy-Dev": {"pipelineExecutionId": "e-9", "status": "InProgress"}}
    )
    command = Command(pipeline)
    assert hold(assembly, "Dev-Service", client=pipeline, run=command) == 3
    assert command.ran == []
    assert pipeline.changes() == [("disable", "Deploy-Dev"), ("enable", "Deploy-Dev")]
    assert capsys.readouterr().err.splitlines()[0].startswith(f"{PIPELINE} Deploy-Dev: pipeline execution e-9 is")


def test_a_lock_taken_by_someone_else_in_the_same_moment_is_theirs(assembly: Path) -> None:
    """No compare-and-set: the reason read back decides, and theirs is never enabled."""
    pipeline = FakePipeline()
    pipeline.meanwhile[2] = lambda: pipeline.disabled_by("Deploy-Dev", "omar", "make deploy by omar at 2026-12-05")
    command = Command(pipeline)
    assert hold(assembly, "Dev-Service", client=pipeline, run=command) == 3
    assert command.ran == []
    assert pipeline.changes() == [("disable", "Deploy-Dev")]
    assert pipeline.transitions["Deploy-Dev"]["disabledReason"] == "make deploy by omar at 2026-12-05"


def test_a_lock_someone_else_replaced_during_the_deploy_is_left_to_them(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = FakePipeline()

    def deploy(command: Sequence[str]) -> int:
        pipeline.disabled_by("Deploy-Dev", "omar", "incident 42")
        return 0

    assert hold(assembly, "Dev-Service", client=pipeline, run=deploy) == 0
    assert pipeline.changes() == [("disable", "Deploy-Dev")]
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{PIPELINE} Deploy-Dev: left disabled, it is not this command's lock: omar (incident 42)"
    )


def test_every_environment_is_locked_in_deploy_order_and_the_tools_stacks_need_none(assembly: Path) -> None:
    pipeline = FakePipeline()
    command = Command(pipeline)
    assert hold(assembly, "--all", client=pipeline, run=command) == 0
    assert pipeline.changes() == [
        ("disable", "Deploy-Dev"),
        ("disable", "Deploy-Prod"),
        ("enable", "Deploy-Prod"),
        ("enable", "Deploy-Dev"),
    ]
    assert {stage for stage, locked in command.locked_while_running.items() if locked} == {"Deploy-Dev", "Deploy-Prod"}


def test_a_refusal_in_a_later_environment_gives_back_the_earlier_locks(assembly: Path) -> None:
    pipeline = FakePipeline()
    pipeline.latest["Deploy-Prod"] = {"pipelineExecutionId": "e-5", "status": "InProgress"}
    command = Command(pipeline)
    assert hold(assembly, "Prod-Service", "Dev-Service", client=pipeline, run=command) == 3
    assert command.ran == []
    assert pipeline.changes() == [("disable", "Deploy-Dev"), ("enable", "Deploy-Dev")]


def test_tools_account_stacks_take_no_lock_and_make_no_aws_call(assembly: Path) -> None:
    command = Command(FakePipeline())
    assert hold(assembly, "Tools-Pipeline", client=object(), run=command) == 0
    assert command.ran == [["deploy-command", "--all"]]


def test_an_aws_error_is_one_line_and_exit_2(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    client = session.client("codepipeline")
    command = Command(FakePipeline())
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_pipeline_state",
            "AccessDeniedException",
            "User: jane is not authorized to perform:\ncodepipeline:GetPipelineState",
            400,
            {"name": PIPELINE},
        )
        assert hold(assembly, "Dev-Service", client=client, run=command) == 2
        stubber.assert_no_pending_responses()
    assert command.ran == []
    assert capsys.readouterr().err == (
        f"{PIPELINE}: codepipeline GetPipelineState: AccessDeniedException: User: jane is not authorized to perform: "
        "codepipeline:GetPipelineState; the identity (or the role it assumed) needs read access to this account\n"
    )


def test_a_failed_release_names_the_command_that_gives_the_lock_back(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    client = session.client("codepipeline")
    idle = {
        "pipelineName": PIPELINE,
        "stageStates": [{"stageName": "Deploy-Dev", "inboundTransitionState": {"enabled": True}}],
    }
    held = {
        "pipelineName": PIPELINE,
        "stageStates": [
            {"stageName": "Deploy-Dev", "inboundTransitionState": {"enabled": False, "disabledReason": REASON}}
        ],
    }
    with Stubber(client) as stubber:
        stubber.add_response("get_pipeline_state", idle)
        stubber.add_response("disable_stage_transition", {})
        stubber.add_response("get_pipeline_state", held)
        stubber.add_client_error("get_pipeline_state", "ThrottlingException", "Rate exceeded", 400)
        assert hold(assembly, "Dev-Service", client=client, run=lambda command: 0) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{PIPELINE}: codepipeline GetPipelineState: ThrottlingException: Rate exceeded; run the guard again in a "
        "minute (the lock of Deploy-Dev is still held: aws codepipeline enable-stage-transition --pipeline-name "
        f"{PIPELINE} --stage-name Deploy-Dev --transition-type Inbound)"
    )


def test_the_reason_fits_what_disable_stage_transition_accepts() -> None:
    """The API reference's DisabledReason: 1-300 characters of [a-zA-Z0-9!@ ()(.*?-]; no colon, slash, underscore."""
    shape = botocore.session.get_session().get_service_model("codepipeline").shape_for("DisabledReason")
    assert (shape.metadata["min"], shape.metadata["max"]) == (1, 300)
    assert reason_for("jane_doe", NOW) == REASON
    for user in ("jane_doe", "CORP\\jane", "jane/admin:x", "x" * 400, ""):
        reason = reason_for(user, NOW)
        assert re.fullmatch(shape.metadata["pattern"], reason) and 1 <= len(reason) <= 300, reason


BAD_INPUT = [
    ("no command", ["hold", "--config", CONFIG, "--assembly", "{d}", "Dev-Service"], "expected -- COMMAND"),
    ("empty command", ["hold", "--config", CONFIG, "--assembly", "{d}", "Dev-Service", "--"], "expected a COMMAND"),
    (
        "no stack",
        ["hold", "--config", CONFIG, "--assembly", "{d}", "--", "true"],
        "name the stacks to deploy, or --all",
    ),
    ("unknown stack", ["hold", "--config", CONFIG, "--assembly", "{d}", "Qa-Service", "--", "true"], "unknown stack"),
    ("missing config", ["hold", "--config", "{d}/none.toml", "--assembly", "{d}", "--all", "--", "true"], "none.toml"),
]


@pytest.mark.parametrize(("argv", "expected"), [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2_before_any_aws_call(
    assembly: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    command = Command(FakePipeline())
    assert main([part.format(d=assembly) for part in argv], client=object(), run=command) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    assert command.ran == []


def test_run_command_returns_the_commands_exit_status() -> None:
    assert run_command([sys.executable, "-c", "raise SystemExit(4)"]) == 4
