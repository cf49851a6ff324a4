#!/usr/bin/env python3
"""Offline deploy rehearsal: deploy and destroy the synthesized app in a local moto server, the docs/deploy.md way.

A moto server on a localhost port (tools/rehearsal/server.py: the pinned moto with three narrow,
documented extensions to its CloudFormation) stands in for the four accounts of the configuration.
The rehearsal then does what docs/deploy.md tells an operator to do on AWS:

1. creates the CloudFormation execution policy of docs/deploy.md in each account, and the permissions
   boundary (bootstrap/permissions-boundary.json) in each target account, with that account's
   administrator credentials;
2. bootstraps the tools account, then each target account with ``--trust <tools>``,
   ``--cloudformation-execution-policies`` and ``--custom-permissions-boundary``;
3. deploys every stack as docs/deploy.md's "Deployment order" does, with the tools account's
   credentials only, so that every target-account stack goes through that account's bootstrap
   deploy role: first, one stack at a time, what a person deploys before the pipeline exists (the
   target stacks the tools stacks depend on, with theirs), then each environment with the
   pipeline's own infrastructure-deploy command (``python -m release_guard.environment_deploy``,
   ``--method direct`` its one difference), ``tools`` first, then dev, staging and prod. The
   stacks, their environments and their order come from the assembly (``cdk.out/manifest.json``,
   read by :mod:`stacks.assembly`) and from the command's own selection;
4. checks through boto3 what only a deployment shows: the bootstrap trust and boundary, each stack
   deployed in its own account through the chain of roles, each target role with the boundary, and
   the cross-stack references
   (``Fn::GetStackOutput``) resolved to the other stack's resources. What a template declares is
   the synth tests' to check (tests/architecture), not repeated here;
5. day 2 (tools/rehearsal/day2.py): simulates a release of the last environment's service stack
   as its release controller leaves one, then runs changed configurations through the release
   guard and ``cdk deploy``, one ``day-2 `` line each (their synths run in the background from the
   start, while the stacks deploy);
6. destroys every stack in the reverse order, and checks that exactly the resources the templates
   retain (DeletionPolicy Retain) are left.

It proves the wiring, not security: moto does not enforce IAM, and it accepts some resource types
without modelling them (docs/rehearsal.md). The server runs in its own process group and is
stopped at the end, also on failure, Ctrl-C or SIGTERM; every wait has a timeout; all traffic
goes to localhost. Prints one line per step, a summary table and a last line; exits 1 with a
one-line reason on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

# No CDK import anywhere here: the rehearsal drives the CLI and reads the assembly it wrote.
from bootstrap.permissions_boundary import BOUNDARY_NAME, POLICY_FILE
from components.naming import Names
from config import Config, ConfigError, load_config
from release_guard.environment_deploy import IMAGE_TAG_PARAMETER, TOOLS, DeployInputError, plan_deploy
from stacks import names
from stacks.assembly import AssemblyError, AssemblyStack, CloudAssembly, read_assembly

ROOT = Path(__file__).resolve().parents[2]

# The policy docs/deploy.md creates in every account before bootstrapping (`aws iam create-policy`).
EXECUTION_POLICY_NAME = "delivery-cfn-exec"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SERVER_SCRIPT = Path(__file__).resolve().parent / "server.py"
LEDGER_PATH = "/rehearsal/ledger"  # tools/rehearsal/server.py serves its ledger there
ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0
BOOTSTRAP_TIMEOUT = 180.0
DEPLOY_TIMEOUT = 300.0
SYNTH_TIMEOUT = 300.0
# DeletionPolicy values that keep a resource when its stack is deleted.
RETAIN_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})


class RehearsalError(Exception):
    """A step failed; the message is the one-line reason."""


# -- the plan (no server needed) ----------------------------------------------------------------

# No notices, no telemetry, no progress bar: nothing leaves localhost, and the logs stay readable.
QUIET_CLI = ("--ci", "--no-notices", "--no-version-reporting")


@dataclass(frozen=True)
class Bootstrap:
    """One `cdk bootstrap` run: the account, with that account's own credentials."""

    label: str
    account: str
    region: str
    trust: str | None

    @property
    def execution_policy_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{EXECUTION_POLICY_NAME}"

    @property
    def permissions_boundary_arn(self) -> str | None:
        """The boundary of a target account's execution role; the tools account has none (docs/deploy.md)."""
        return None if self.trust is None else f"arn:aws:iam::{self.account}:policy/{BOUNDARY_NAME}"

    def cdk_args(self, assembly: Path) -> list[str]:
        args = ["cdk", "bootstrap", f"aws://{self.account}/{self.region}", "--app", str(assembly)]
        if self.trust is not None:
            args += ["--trust", self.trust]
        args += ["--cloudformation-execution-policies", self.execution_policy_arn]
        if self.trust is not None:
            args += ["--custom-permissions-boundary", BOUNDARY_NAME]
        return [*args, *QUIET_CLI]


@dataclass(frozen=True)
class StackStep:
    """One stack of the deployment order, in its account."""

    name: str
    account: str

    def deploy_args(self, assembly: Path) -> list[str]:
        # --exclusively: the order is the plan's. --method=direct: moto's change sets are not reliable enough.
        return [
            "cdk",
            "deploy",
            self.name,
            "--app",
            str(assembly),
            "--exclusively",
            "--method=direct",
            "--require-approval=never",
            "--progress=events",
            *QUIET_CLI,
        ]

    def destroy_args(self, assembly: Path) -> list[str]:
        # --exclusively: the reverse order is the plan's; --force: no prompt.
        return ["cdk", "destroy", self.name, "--app", str(assembly), "--exclusively", "--force", *QUIET_CLI]


@dataclass(frozen=True)
class EnvironmentDeploy:
    """One run of the pipeline's infrastructure deploy (release_guard/environment_deploy.py): one environment."""

    environment: str
    stacks: tuple[StackStep, ...]
    #: What the service stack runs: the pipeline passes the build's tag; the rehearsal has no build.
    image_tag: str | None

    def deploy_args(self, assembly: Path) -> list[str]:
        # The command of the UpdatePipeline and Infrastructure actions (pipelines/infrastructure_buildspec.yml)
        # plus --method direct, the one difference: moto's change sets are not reliable enough.
        tag = [] if self.image_tag is None else ["--image-tag", self.image_tag]
        return [
            sys.executable,
            "-m",
            "release_guard.environment_deploy",
            "--assembly",
            str(assembly),
            "--environment",
            self.environment,
            *tag,
            "--method",
            "direct",
        ]


@dataclass(frozen=True)
class DeployPlan:
    """Who deploys what: the first creation by hand (docs/deploy.md), then the pipeline, environment by environment."""

    #: Deployed one at a time (``StackStep.deploy_args``) before the pipeline exists: docs/deploy.md's steps 1 and 2.
    first_creation: tuple[StackStep, ...]
    #: The pipeline's first execution: ``tools`` (UpdatePipeline), then each target environment in order.
    environments: tuple[EnvironmentDeploy, ...]


def bootstrap_plan(config: Config) -> list[Bootstrap]:
    """The tools account first, then each target account trusting it (docs/deploy.md, "Bootstrap")."""
    tools = config.accounts.tools
    plan = [Bootstrap(label="tools", account=tools, region=config.region, trust=None)]
    plan += [
        Bootstrap(label=environment.name, account=environment.account, region=config.region, trust=tools)
        for environment in config.environments
    ]
    return plan


def retained(stack: AssemblyStack) -> set[str]:
    """Logical ids of the stack's resources that its template keeps on stack deletion."""
    resources = stack.template.get("Resources", {})
    return {logical for logical, resource in resources.items() if resource.get("DeletionPolicy") in RETAIN_POLICIES}


def deploy_plan(config: Config, assembly: CloudAssembly) -> list[StackStep]:
    """Every stack of the assembly in its deploy order, each in its account.

    Fails if the assembly was synthesized from another configuration: a stack that is not the
    app's, one synthesized for another account than the configuration gives its environment, or
    a stack of the configuration's environments that the assembly lacks.
    """
    expected = {"Tools": config.accounts.tools} | {e.title: e.account for e in config.environments}
    rerun = "run `make synth` with the same CONFIG"
    steps = []
    for stack in assembly.deploy_order():
        try:
            title = names.environment_title(stack.stack_name)
        except ValueError as error:
            raise RehearsalError(f"{assembly.manifest}: {error}") from None
        if expected.get(title) != stack.account:
            raise RehearsalError(
                f"{assembly.manifest}: {stack.stack_name} is synthesized for account {stack.account}, "
                f"{config.source} gives {expected.get(title, 'no such environment')}: {rerun}"
            )
        steps.append(StackStep(stack.stack_name, stack.account))
    wanted = [names.GITHUB_OIDC, names.PIPELINE_ROLE, names.PIPELINE] + [
        name(environment)
        for environment in config.environments
        for name in (names.deploy_role, names.network, names.service)
    ]
    missing = [name for name in wanted if name not in {step.name for step in steps}]
    if missing:
        raise RehearsalError(f"{assembly.manifest}: no {', '.join(missing)}, which {config.source} implies: {rerun}")
    return steps


def pipeline_plan(config: Config, assembly: CloudAssembly, steps: Sequence[StackStep]) -> DeployPlan:
    """docs/deploy.md's deployment order: the first creation, then the pipeline's deploy of each environment.

    The pipeline deploys ``tools`` first (its UpdatePipeline stage; GitHub's deploy.yml creates the
    same stacks once), then each target environment in the configuration's order, each with
    ``release_guard.environment_deploy``, whose own selection (``plan_deploy``) says which stacks an
    environment holds. The tools stacks depend on stacks of the target accounts (``Tools-Pipeline``
    on each deploy role: CodePipeline checks at creation that it can assume them), which a person
    deploys before the pipeline exists, with the tools stacks they need (docs/deploy.md, steps 1
    and 2): those are the first creation, here every stack outside the tools environment that a
    tools stack depends on, with what it depends on. The pipeline then deploys them again, unchanged.

    Fails unless the environments together deploy every one of ``steps`` (the assembly's stacks), and
    every stack comes after the stacks it depends on.
    """
    by_name = {step.name: step for step in steps}
    environments = []
    for name in (TOOLS, *(environment.name for environment in config.environments)):
        image_tag = None
        if name != TOOLS:
            # The pipeline passes the build's tag; without a build, the stack's own default (the configuration's
            # service.initial_image_tag), which a stack created outside the pipeline runs (docs/deploy.md).
            service = assembly.by_name(names.service(config.environment(name)))
            image_tag = (service.template.get("Parameters") or {}).get(IMAGE_TAG_PARAMETER, {}).get("Default")
        try:
            planned = plan_deploy(assembly, name, image_tag, "direct")
        except DeployInputError as error:
            raise RehearsalError(f"{assembly.manifest}: environment_deploy --environment {name}: {error}") from None
        unknown = [stack for stack in planned.stacks if stack not in by_name]
        if unknown:
            raise RehearsalError(
                f"{assembly.manifest}: environment_deploy would deploy {', '.join(unknown)}, not in the plan"
            )
        environments.append(EnvironmentDeploy(name, tuple(by_name[stack] for stack in planned.stacks), image_tag))
    deployed = {step.name for environment in environments for step in environment.stacks}
    left = [step.name for step in steps if step.name not in deployed]
    if left:
        raise RehearsalError(f"{assembly.manifest}: no environment deploy of the pipeline deploys {', '.join(left)}")

    tools = {step.name for step in environments[0].stacks}
    needed: set[str] = set()

    def need(artifact_id: str) -> None:
        stack = assembly.stacks[artifact_id]
        if stack.stack_name not in needed:
            needed.add(stack.stack_name)
            for dependency in stack.dependencies:
                need(dependency)

    for name in tools:
        for dependency in assembly.by_name(name).dependencies:
            if assembly.stacks[dependency].stack_name not in tools:
                need(dependency)
    plan = DeployPlan(tuple(step for step in steps if step.name in needed), tuple(environments))

    done: set[str] = set()
    for step in [*plan.first_creation, *(step for environment in plan.environments for step in environment.stacks)]:
        missing = [assembly.stacks[d].stack_name for d in assembly.by_name(step.name).dependencies]
        missing = [name for name in missing if name not in done]
        if missing:
            raise RehearsalError(
                f"{assembly.manifest}: {step.name} would deploy before {', '.join(missing)}, which it depends on"
            )
        done.add(step.name)
    return plan


def execution_policy_document(deploy_doc: str) -> str:
    """The execution policy JSON of docs/deploy.md (the `cfn-exec.json` here-document), compacted."""
    match = re.search(r"cat > cfn-exec\.json <<'EOF'\n(.*?)\nEOF\n", deploy_doc, re.DOTALL)
    if match is None:
        raise RehearsalError(f"{DEPLOY_DOC}: no `cat > cfn-exec.json <<'EOF'` block")
    return json.dumps(json.loads(match.group(1)), separators=(",", ":"))


def boundary_policy_document() -> str:
    """The committed boundary policy that docs/deploy.md creates from ``file://``, compacted."""
    try:
        return json.dumps(json.loads(POLICY_FILE.read_text()), separators=(",", ":"))
    except (OSError, ValueError) as error:
        raise RehearsalError(f"{POLICY_FILE}: not a policy document: {error}") from None


def trusted_accounts(policy: Mapping[str, Any]) -> set[str]:
    """Account ids (or role ARNs) named as AWS principals allowed to call sts:AssumeRole."""
    trusted: set[str] = set()
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in (
            [actions] if isinstance(actions, str) else actions
        ):
            continue
        principals = statement.get("Principal", {}).get("AWS", [])
        for principal in [principals] if isinstance(principals, str) else principals:
            account_root = re.fullmatch(r"arn:aws:iam::(\d{12}):root", principal)
            trusted.add(account_root.group(1) if account_root else principal)
    return trusted


def same_resource(found: str, physical_id: str) -> bool:
    """Whether a listed identifier (name, id or ARN) is the resource whose physical id is given (name, id or ARN)."""
    if found == physical_id:
        return True
    return any(a.endswith(separator + b) for a, b in ((found, physical_id), (physical_id, found)) for separator in "/:")


# -- the summary --------------------------------------------------------------------------------


@dataclass
class StackRecord:
    """What happened to one stack: what it created, how long it took, whether its destroy was clean."""

    name: str
    account: str
    modelled: int = 0
    placeholders: int = 0
    custom: int = 0
    deploy_seconds: float | None = None
    destroy_seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    destroyed: bool = False

    @property
    def created(self) -> int:
        return self.modelled + self.placeholders + self.custom

    @property
    def clean(self) -> str:
        if not self.destroyed:
            return "-"
        return "no" if self.problems else "yes"


SUMMARY_HEADER = ("stack", "account", "resources", "modelled", "placeholder", "custom", "deploy", "destroy", "clean")


def summary_table(records: Sequence[StackRecord]) -> str:
    """The table printed at the end: one row per stack, then the totals."""

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    rows = [
        (
            r.name,
            r.account,
            str(r.created),
            str(r.modelled),
            str(r.placeholders),
            str(r.custom),
            seconds(r.deploy_seconds),
            seconds(r.destroy_seconds),
            r.clean,
        )
        for r in records
    ]
    deployed = [r.deploy_seconds for r in records if r.deploy_seconds is not None]
    destroyed = [r.destroy_seconds for r in records if r.destroy_seconds is not None]
    rows.append(
        (
            "total",
            "",
            str(sum(r.created for r in records)),
            str(sum(r.modelled for r in records)),
            str(sum(r.placeholders for r in records)),
            str(sum(r.custom for r in records)),
            seconds(sum(deployed)) if deployed else "-",
            seconds(sum(destroyed)) if destroyed else "-",
            f"{sum(r.clean == 'yes' for r in records)}/{len(records)}",
        )
    )
    widths = [max(len(row[i]) for row in [SUMMARY_HEADER, *rows]) for i in range(len(SUMMARY_HEADER))]

    def line(row: Sequence[str]) -> str:
        # Names left, figures right.
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(SUMMARY_HEADER), rule, *(line(row) for row in rows[:-1]), rule, line(rows[-1])])


# -- the server ---------------------------------------------------------------------------------


def say(step: str, subject: str, outcome: str) -> None:
    print(f"{step:<10} {subject:<44} {outcome}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise RehearsalError(
                f"port {port} on 127.0.0.1 is in use: "
                "choose another (REHEARSE_PORT=...) or leave it unset for a free one"
            ) from None


def last_line(log_file: Path) -> str:
    lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with ``start_new_session=True`` and everything in its group, by its id."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_TIMEOUT)
    else:  # the leader exited; make sure nothing it started lingers in its group
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def rehearsal_server(log_file: Path, port: int | None = None, command: Sequence[str] | None = None) -> Iterator[str]:
    """The rehearsal's moto server on ``port`` (a free one if None), stopped on exit; yields its endpoint URL.

    ``command`` replaces the server command (its port appended), for tests of the failure paths.
    """
    if port is None:
        port = free_port()
    else:
        check_port_free(port)
    # MOTO_ACCOUNT_ID would pin every request to one account, assumed roles included.
    env = {key: value for key, value in os.environ.items() if key != "MOTO_ACCOUNT_ID"}
    args = [*(command or [sys.executable, str(SERVER_SCRIPT), "-p"]), str(port)]
    with log_file.open("wb") as log:
        # Its own process group: stopped by its id, with anything it starts, whatever happens here.
        server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    endpoint = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                raise RehearsalError(
                    f"the rehearsal server exited with code {server.returncode}: {last_line(log_file)} "
                    f"(log: {log_file})"
                )
            try:
                with urllib.request.urlopen(f"{endpoint}{LEDGER_PATH}", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RehearsalError(
                        f"the rehearsal server is not answering after {SERVER_START_TIMEOUT:.0f} s (log: {log_file})"
                    ) from None
                time.sleep(0.2)
        yield endpoint
    finally:
        stop_process_group(server)


@dataclass(frozen=True)
class Credentials:
    account: str
    access_key_id: str
    secret_access_key: str
    session_token: str


class Moto:
    """boto3 against the moto endpoint, with each account's credentials."""

    def __init__(self, endpoint: str, region: str) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.endpoint = endpoint
        self.region = region
        self._boto3 = boto3
        self._boto_config = BotoConfig(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2})
        self._credentials: dict[str, Credentials] = {}

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        keys = (
            ("testing", "testing", None)
            if credentials is None
            else (credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
        )
        return self._boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=keys[0],
            aws_secret_access_key=keys[1],
            aws_session_token=keys[2],
            config=self._boto_config,
        )

    def admin(self, account: str) -> Credentials:
        """Administrator credentials of ``account`` (what docs/deploy.md calls its profile)."""
        if account not in self._credentials:
            answer = self.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ACCOUNT_ACCESS_ROLE}", RoleSessionName="rehearsal"
            )["Credentials"]
            credentials = Credentials(account, answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])
            caller = self.client("sts", credentials).get_caller_identity()["Account"]
            if caller != account:
                raise RehearsalError(
                    f"moto gave credentials of account {caller} for {account}: is MOTO_ACCOUNT_ID set?"
                )
            self._credentials[account] = credentials
        return self._credentials[account]

    def in_account(self, service: str, account: str) -> Any:
        return self.client(service, self.admin(account))

    def ledger(self) -> list[dict[str, Any]]:
        """The placeholders and custom resources the server accepted (tools/rehearsal/server.py)."""
        with urllib.request.urlopen(f"{self.endpoint}{LEDGER_PATH}", timeout=10) as answer:
            entries: list[dict[str, Any]] = json.loads(answer.read())
        return entries

    def cli_env(self, credentials: Credentials, run_dir: Path) -> dict[str, str]:
        """The environment of a CDK CLI run: this account's keys, moto's endpoint, nothing from ~/.aws."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
        return env | {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_SESSION_TOKEN": credentials.session_token,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": str(run_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(run_dir / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_VERSION_CHECK": "true",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "NO_PROXY": "localhost,127.0.0.1",
            "no_proxy": "localhost,127.0.0.1",
        }


def run_cli(args: Sequence[str], env: Mapping[str, str], log_file: Path, timeout: float) -> float:
    """Run a CDK CLI command, its output to ``log_file``; raise with the CLI's own error line."""
    start = time.perf_counter()
    with log_file.open("w") as log:
        try:
            result = subprocess.run(
                list(args), cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise RehearsalError(
                f"`{' '.join(args[:3])}` still running after {timeout:.0f} s (log: {log_file})"
            ) from None
    if result.returncode != 0:
        raise RehearsalError(cli_failure(args, log_file))
    return time.perf_counter() - start


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STACK_DONE = re.compile(r"✅\s+(\S+)( \(no changes\))?")
_DEPLOYMENT_TIME = re.compile(r"✨\s+Deployment time: ([0-9.]+)s")


@dataclass(frozen=True)
class StackDeployed:
    """One stack of a `cdk deploy` run, as the CLI reports it."""

    seconds: float
    changed: bool


def deployed_stacks(log_text: str) -> dict[str, StackDeployed]:
    """Each stack a `cdk deploy` run finished, with the CLI's own deployment time and whether anything changed.

    For each stack the pinned CLI prints ``✅  <stack>``, or ``✅  <stack> (no changes)``, then
    ``✨  Deployment time: <seconds>s``, measured from the start of that stack's deployment
    (aws-cdk's ``lib/cli/cdk-toolkit.js``). One run deploys an environment's stacks, so this is the
    only per-stack time there is.
    """
    found: dict[str, StackDeployed] = {}
    finished: tuple[str, bool] | None = None
    for raw in log_text.splitlines():
        line = _ANSI.sub("", raw).strip()
        done = _STACK_DONE.fullmatch(line)
        if done is not None:
            finished = (done.group(1), done.group(2) is None)
            continue
        timed = _DEPLOYMENT_TIME.fullmatch(line)
        if timed is not None and finished is not None:
            found[finished[0]] = StackDeployed(float(timed.group(1)), finished[1])
            finished = None
    return found


def cli_failure(args: Sequence[str], log_file: Path) -> str:
    """The one line for a failed CLI run: the CLI's own error line, and its log."""
    lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("❌", "‣")) or "Error" in line]
    reason = (errors or lines or ["no output"])[-1]
    return f"`{' '.join(args[:3])}` failed: {reason} (log: {log_file})"


# -- what exists in an account ------------------------------------------------------------------


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items += page[key]
    return items


def _ecs_clusters(ecs: Any) -> list[str]:
    """Active clusters: a deleted cluster stays listed, INACTIVE, for a while (on AWS and in moto)."""
    arns = ecs.list_clusters()["clusterArns"]
    clusters = ecs.describe_clusters(clusters=arns)["clusters"] if arns else []
    return [cluster["clusterArn"] for cluster in clusters if cluster["status"] == "ACTIVE"]


def _ecs_services(ecs: Any) -> list[str]:
    return [arn for cluster in _ecs_clusters(ecs) for arn in ecs.list_services(cluster=cluster)["serviceArns"]]


def _listeners(elb: Any) -> list[str]:
    return [
        listener["ListenerArn"]
        for lb in elb.describe_load_balancers()["LoadBalancers"]
        for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    ]


# CloudFormation type -> (service, lister of the identifiers of what exists, as names, ids or ARNs).
# The types whose resources can be listed; the others (routes, associations, inline policies) go with these.
INVENTORY: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "AWS::EC2::VPC": ("ec2", lambda c: [v["VpcId"] for v in c.describe_vpcs()["Vpcs"]]),
    "AWS::EC2::Subnet": ("ec2", lambda c: [s["SubnetId"] for s in c.describe_subnets()["Subnets"]]),
    "AWS::EC2::RouteTable": ("ec2", lambda c: [r["RouteTableId"] for r in c.describe_route_tables()["RouteTables"]]),
    "AWS::EC2::InternetGateway": (
        "ec2",
        lambda c: [g["InternetGatewayId"] for g in c.describe_internet_gateways()["InternetGateways"]],
    ),
    "AWS::EC2::NatGateway": (
        "ec2",
        lambda c: [g["NatGatewayId"] for g in c.describe_nat_gateways()["NatGateways"] if g["State"] != "deleted"],
    ),
    "AWS::EC2::SecurityGroup": (
        "ec2",
        lambda c: [g["GroupId"] for g in c.describe_security_groups()["SecurityGroups"]],
    ),
    "AWS::EC2::VPCEndpoint": (
        "ec2",
        lambda c: [e["VpcEndpointId"] for e in c.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"],
    ),
    "AWS::EC2::FlowLog": ("ec2", lambda c: [f["FlowLogId"] for f in c.describe_flow_logs()["FlowLogs"]]),
    "AWS::IAM::Role": ("iam", lambda c: [r["RoleName"] for r in _pages(c, "list_roles", "Roles")]),
    "AWS::IAM::ManagedPolicy": (
        "iam",
        lambda c: [p["Arn"] for p in _pages(c, "list_policies", "Policies", Scope="Local")],
    ),
    "AWS::IAM::OIDCProvider": (
        "iam",
        lambda c: [p["Arn"] for p in c.list_open_id_connect_providers()["OpenIDConnectProviderList"]],
    ),
    # Listed, not described: moto answers DescribeKey on a key created by CloudFormation with HTTP 500
    # (docs/rehearsal.md); and it removes a deleted key at once instead of scheduling its deletion.
    "AWS::KMS::Key": ("kms", lambda c: [k["KeyId"] for k in c.list_keys()["Keys"]]),
    "AWS::KMS::Alias": (
        "kms",
        lambda c: [a["AliasName"] for a in c.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")],
    ),
    "AWS::Lambda::Function": ("lambda", lambda c: [f["FunctionName"] for f in c.list_functions()["Functions"]]),
    "AWS::Logs::LogGroup": ("logs", lambda c: [g["logGroupName"] for g in c.describe_log_groups()["logGroups"]]),
    "AWS::ECS::Cluster": ("ecs", _ecs_clusters),
    "AWS::ECS::Service": ("ecs", _ecs_services),
    "AWS::ECS::TaskDefinition": ("ecs", lambda c: c.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "elbv2",
        lambda c: [lb["LoadBalancerArn"] for lb in c.describe_load_balancers()["LoadBalancers"]],
    ),
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "elbv2",
        lambda c: [tg["TargetGroupArn"] for tg in c.describe_target_groups()["TargetGroups"]],
    ),
    "AWS::ElasticLoadBalancingV2::Listener": ("elbv2", _listeners),
    "AWS::Events::Rule": ("events", lambda c: [r["Name"] for r in c.list_rules()["Rules"]]),
    "AWS::S3::Bucket": ("s3", lambda c: [b["Name"] for b in c.list_buckets()["Buckets"]]),
    "AWS::SNS::Topic": ("sns", lambda c: [t["TopicArn"] for t in c.list_topics()["Topics"]]),
    "AWS::ECR::Repository": (
        "ecr",
        lambda c: [r["repositoryName"] for r in c.describe_repositories()["repositories"]],
    ),
    "AWS::SSM::Parameter": ("ssm", lambda c: [p["Name"] for p in _pages(c, "describe_parameters", "Parameters")]),
    "AWS::SecretsManager::Secret": ("secretsmanager", lambda c: [s["ARN"] for s in c.list_secrets()["SecretList"]]),
    "AWS::CloudFormation::Stack": (
        "cloudformation",
        lambda c: [s["StackName"] for s in c.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"],
    ),
}


Inventory = dict[str, set[str]]


def inventory(moto: Moto, account: str) -> Inventory:
    """Everything of the INVENTORY types that exists in ``account``."""
    clients: dict[str, Any] = {}
    found: Inventory = {}
    for resource_type, (service, lister) in INVENTORY.items():
        if service not in clients:
            clients[service] = moto.in_account(service, account)
        found[resource_type] = set(lister(clients[service]))
    return found


def leftovers(before: Inventory, after: Inventory) -> list[tuple[str, str]]:
    """What exists after that did not exist before, as (type, identifier)."""
    return sorted((t, i) for t, ids in after.items() for i in ids - before.get(t, set()))


# -- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    physical_id: str
    kind: str  # "modelled", "placeholder" or "custom"
    retained: bool


@dataclass
class Run:
    """The state of one rehearsal, shared by its phases."""

    config: Config
    assembly: CloudAssembly
    run_dir: Path
    moto: Moto
    steps: list[StackStep]
    records: dict[str, StackRecord]
    plan: DeployPlan = DeployPlan((), ())
    resources: dict[str, list[Resource]] = field(default_factory=dict)
    baseline: dict[str, Inventory] = field(default_factory=dict)
    checks_passed: int = 0


def record_resources(run: Run, step: StackStep) -> list[Resource]:
    """The stack's resources as moto lists them, each marked modelled, placeholder or custom."""
    summaries = _pages(
        run.moto.in_account("cloudformation", step.account),
        "list_stack_resources",
        "StackResourceSummaries",
        StackName=step.name,
    )
    accepted = {
        entry["logical_id"]: entry["kind"]
        for entry in run.moto.ledger()
        if entry["stack_name"] == step.name and entry["account"] == step.account and not entry["deleted"]
    }
    stack = run.assembly.by_name(step.name)
    kept = retained(stack)
    template = stack.template["Resources"]
    resources = []
    for summary in summaries:
        logical = summary["LogicalResourceId"]
        if logical not in template:  # moto lists a resource whose condition is false as an empty entry
            continue
        resources.append(
            Resource(
                logical_id=logical,
                type=template[logical]["Type"],
                physical_id=summary["PhysicalResourceId"],
                kind=accepted.get(logical, "modelled"),
                retained=logical in kept,
            )
        )
    return resources


def rehearse(
    config: Config,
    assembly: CloudAssembly,
    run_dir: Path,
    records: dict[str, StackRecord],
    port: int | None,
) -> str:
    """Bootstrap, deploy, check, destroy, check again. Returns the closing remark: checks, retained resources."""
    steps = deploy_plan(config, assembly)
    plan = pipeline_plan(config, assembly, steps)
    records.update({step.name: StackRecord(step.name, step.account) for step in steps})
    policy = execution_policy_document(DEPLOY_DOC.read_text())
    boundary = boundary_policy_document()

    with rehearsal_server(run_dir / "server.log", port) as endpoint, background() as commands:
        say("server", endpoint, f"moto with the rehearsal's extensions (log: {run_dir / 'server.log'})")
        run = Run(config, assembly, run_dir, Moto(endpoint, config.region), steps, records, plan)
        # The day-2 synths run while the stacks deploy.
        prepared = start_day2(run, commands)
        bootstrap(run, policy, boundary)
        deploy(run)
        for subject, check in wiring_checks(run):
            problem = check()
            if problem is not None:
                raise RehearsalError(f"{subject}: {problem}")
            say("check", subject, "ok")
            run.checks_passed += 1
        day2_lines = finish_day2(run, prepared)
        destroy(run)
        scenarios = f"{len(day2_lines) - 1} day-2 scenarios as expected"
        return f"{run.checks_passed} checks passed; {scenarios}; {check_nothing_left(run)}"


def bootstrap(run: Run, policy: str, boundary: str) -> None:
    for step in bootstrap_plan(run.config):
        admin = run.moto.admin(step.account)
        iam = run.moto.client("iam", admin)
        iam.create_policy(PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=policy)
        if step.permissions_boundary_arn is not None:
            iam.create_policy(PolicyName=BOUNDARY_NAME, PolicyDocument=boundary)
        log = run.run_dir / f"bootstrap-{step.label}.log"
        seconds = run_cli(
            step.cdk_args(run.assembly.directory), run.moto.cli_env(admin, run.run_dir), log, BOOTSTRAP_TIMEOUT
        )
        trust = f", trusts {step.trust}, boundary {BOUNDARY_NAME}" if step.trust else ""
        say("bootstrap", f"{step.label} {step.account}", f"ok{trust} ({seconds:.1f} s)")
        # What a destroy must bring each account back to.
        run.baseline[step.account] = inventory(run.moto, step.account)


def deploy(run: Run) -> None:
    """The first creation by hand, then the pipeline's deploy of each environment (``pipeline_plan``)."""
    # Only the tools account's credentials from here on, as docs/deploy.md deploys: the CLI reaches each
    # target account through that account's bootstrap deploy role, which trusts the tools account.
    tools_env = run.moto.cli_env(run.moto.admin(run.config.accounts.tools), run.run_dir)
    for step in run.plan.first_creation:
        log = run.run_dir / f"deploy-{step.name}.log"
        run_cli(step.deploy_args(run.assembly.directory), tools_env, log, DEPLOY_TIMEOUT)
        record_deploy(run, step, log, "by hand (docs/deploy.md)")
    for environment in run.plan.environments:
        log = run.run_dir / f"deploy-{environment.environment}.log"
        timeout = DEPLOY_TIMEOUT * len(environment.stacks)
        seconds = run_cli(environment.deploy_args(run.assembly.directory), tools_env, log, timeout)
        tag = "" if environment.image_tag is None else f" --image-tag {environment.image_tag}"
        account = environment.stacks[0].account
        say(
            "deploy",
            f"{environment.environment} {account}",
            f"ok: environment_deploy{tag} --method direct, {len(environment.stacks)} stacks ({seconds:.1f} s)",
        )
        for step in environment.stacks:
            record_deploy(run, step, log, "by the pipeline")


def record_deploy(run: Run, step: StackStep, log: Path, by: str) -> None:
    """Read back what one stack's deploy left, record it, and say it in one line."""
    deployed = deployed_stacks(log.read_text(errors="replace")).get(step.name)
    if deployed is None:
        raise RehearsalError(f"{step.name}: the CDK CLI did not report deploying it (log: {log})")
    resources = record_resources(run, step)
    run.resources[step.name] = resources
    record = run.records[step.name]
    record.modelled = sum(r.kind == "modelled" for r in resources)
    record.placeholders = sum(r.kind == "placeholder" for r in resources)
    record.custom = sum(r.kind == "custom" for r in resources)
    if record.deploy_seconds is None:  # the table counts each stack as first deployed
        record.deploy_seconds = deployed.seconds
    accepted = (
        f", {record.placeholders} placeholders, {record.custom} custom" if record.created > record.modelled else ""
    )
    outcome = f"ok: {record.modelled} modelled{accepted}" if deployed.changed else "ok: no changes"
    say("deploy", f"{step.name} {step.account}", f"{outcome}, {by} ({deployed.seconds:.1f} s)")


def lookup_clients(moto: Moto, tools: Credentials) -> Callable[[str, str, str, str], Any]:
    """The guard's clients: the CDK lookup role of each target account, assumed from the tools account, as on AWS."""
    from release_guard.live import DEFAULT_ROLE_NAME, SESSION_NAME

    sessions: dict[str, Credentials] = {}

    def clients(stack: str, account: str, region: str, service: str) -> Any:
        if account not in sessions:
            role = f"arn:aws:iam::{account}:role/{DEFAULT_ROLE_NAME.format(account=account, region=region)}"
            answer = moto.client("sts", tools).assume_role(RoleArn=role, RoleSessionName=SESSION_NAME)["Credentials"]
            sessions[account] = Credentials(
                account, answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]
            )
        return moto.client(service, sessions[account])

    return clients


class Background:
    """CLI commands run one after another beside the rehearsal, each in its own process group.

    ``stop`` ends the one running (by its process group id) and drops the others: on success,
    failure, Ctrl-C and SIGTERM, as for the server.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rehearse-background")
        self._lock = threading.Lock()
        self._running: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def submit(self, args: Sequence[str], env: Mapping[str, str], log_file: Path, timeout: float) -> Future[float]:
        return self._pool.submit(self._run, list(args), dict(env), log_file, timeout)

    def _run(self, args: list[str], env: dict[str, str], log_file: Path, timeout: float) -> float:
        start = time.perf_counter()
        with log_file.open("wb") as log:
            with self._lock:
                if self._stopped:
                    raise RehearsalError(f"`{' '.join(args[:3])}` not started: the rehearsal stopped")
                process = subprocess.Popen(
                    args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
                self._running = process
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process_group(process)
                raise RehearsalError(
                    f"`{' '.join(args[:3])}` still running after {timeout:.0f} s (log: {log_file})"
                ) from None
            finally:
                with self._lock:
                    self._running = None
        if code != 0:
            raise RehearsalError(cli_failure(args, log_file))
        return time.perf_counter() - start

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            running = self._running
        if running is not None:
            stop_process_group(running)
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def background() -> Iterator[Background]:
    commands = Background()
    try:
        yield commands
    finally:
        commands.stop()


@dataclass
class Day2:
    """The day-2 phase prepared before the first deployment: its context and its scenarios, synths started."""

    context: Any  # rehearsal_day2.Day2Context
    steps: list[Any]  # rehearsal_day2.Step
    step: StackStep
    start: float


def start_day2(run: Run, commands: Background) -> Day2:
    """Import the prod certificate, write each scenario's configuration and start its synth in the background."""
    from release_guard.__main__ import main as guard_main
    from tools.rehearsal import day2 as rehearsal_day2

    start = time.perf_counter()
    environment = run.config.environments[-1]
    step = StackStep(names.service(environment), environment.account)
    tools = run.moto.admin(run.config.accounts.tools)
    tools_env = run.moto.cli_env(tools, run.run_dir)

    def deploy(assembly: Path, parameters: Mapping[str, str], log: Path) -> float:
        given = [
            token
            for key, value in sorted(parameters.items())
            for token in ("--parameters", f"{step.name}:{key}={value}")
        ]
        try:
            return run_cli([*step.deploy_args(assembly), *given], tools_env, log, DEPLOY_TIMEOUT)
        except RehearsalError as error:  # some scenarios expect a failed deploy
            raise rehearsal_day2.DeployFailed(str(error)) from None

    def hook(name: str) -> str:
        where = {"account": step.account, "region": run.config.region, "stack": step.name}
        return rehearsal_day2.server_hook(run.moto.endpoint, {"hook": name, **where})

    def synth(config_file: Path, out: Path, log: Path) -> Callable[[], float]:
        args = ["cdk", "synth", "--quiet", "-c", f"config={config_file}", "-o", str(out), *QUIET_CLI]
        future = commands.submit(args, tools_env, log, SYNTH_TIMEOUT)
        return lambda: future.result(timeout=SYNTH_TIMEOUT * 5)

    ctx = rehearsal_day2.Day2Context(
        config=run.config,
        config_text=Path(run.config.source).read_text(),
        environment=environment,
        stack=step.name,
        account=step.account,
        assembly=run.assembly.directory,
        template=run.assembly.by_name(step.name).template,
        run_dir=run.run_dir,
        client=run.moto.in_account,
        guard_clients=lookup_clients(run.moto, tools),
        guard_main=guard_main,
        synth=synth,
        deploy=deploy,
        say=lambda line: print(line, flush=True),
        hook=hook,
    )
    domain = f"{run.config.service.name}.{environment.name}.example.com"
    acm = run.moto.in_account("acm", step.account)
    certificates = [rehearsal_day2.import_certificate(acm, domain) for _ in ("added", "rotated")]
    try:
        steps = rehearsal_day2.start_variants(ctx, certificates)
    except rehearsal_day2.Day2Error as error:
        raise RehearsalError(str(error)) from None
    say(
        "day-2",
        f"{step.name} {step.account}",
        f"{len({id(s[1]) for s in steps if s[1] is not None})} synths started in the background",
    )
    return Day2(ctx, steps, step, start)


def finish_day2(run: Run, prepared: Day2) -> list[str]:
    """The day-2 phase (tools/rehearsal/day2.py) on the last environment's service stack; returns its lines."""
    from tools.rehearsal import day2 as rehearsal_day2

    start = time.perf_counter()
    ctx, step = prepared.context, prepared.step
    try:
        lines: list[str] = rehearsal_day2.run_day2(ctx, prepared.steps)
    except rehearsal_day2.Day2Error as error:
        raise RehearsalError(str(error)) from None
    finally:
        rehearsal_day2.clean_up(ctx)
    # What the destroy checks against: the stack's resources as the day-2 deploys left them.
    run.resources[step.name] = record_resources(run, step)
    say(
        "day-2",
        f"{step.name} {step.account}",
        f"{len(lines) - 1} scenarios as expected ({time.perf_counter() - start:.0f} s after the checks)",
    )
    return lines


def destroy(run: Run) -> None:
    tools_env = run.moto.cli_env(run.moto.admin(run.config.accounts.tools), run.run_dir)
    for step in reversed(run.steps):
        record = run.records[step.name]
        log = run.run_dir / f"destroy-{step.name}.log"
        record.destroy_seconds = run_cli(step.destroy_args(run.assembly.directory), tools_env, log, DEPLOY_TIMEOUT)
        record.destroyed = True
        record.problems = destroy_problems(run, step)
        outcome = "clean" if not record.problems else "NOT CLEAN: " + "; ".join(record.problems)
        say("destroy", f"{step.name} {step.account}", f"{outcome} ({record.destroy_seconds:.1f} s)")


def destroy_problems(run: Run, step: StackStep) -> list[str]:
    """What the destroy of one stack left that it should not have, or removed that the template retains."""
    problems = []
    existing = inventory(run.moto, step.account)
    if step.name in existing["AWS::CloudFormation::Stack"]:
        problems.append("the stack still exists")
    for resource in run.resources[step.name]:
        if resource.kind != "modelled" or resource.type not in INVENTORY:
            continue
        exists = any(same_resource(found, resource.physical_id) for found in existing[resource.type])
        if exists and not resource.retained:
            problems.append(f"{resource.type} {resource.logical_id} ({resource.physical_id}) left behind")
        elif resource.retained and not exists:
            problems.append(f"{resource.type} {resource.logical_id} has DeletionPolicy Retain but was deleted")
    for entry in run.moto.ledger():
        if entry["stack_name"] != step.name or entry["account"] != step.account:
            continue
        kept = entry["logical_id"] in retained(run.assembly.by_name(step.name))
        if entry["deleted"] == kept:
            problems.append(f"{entry['kind']} {entry['logical_id']} {'deleted' if kept else 'not deleted'}")
    return problems


def check_nothing_left(run: Run) -> str:
    """Each account as it was after bootstrapping, apart from exactly the retained resources. Returns a remark."""
    failures = [f"{record.name}: {'; '.join(record.problems)}" for record in run.records.values() if record.problems]
    retained_left = 0
    retained_placeholders = 0
    for account in sorted(run.baseline):
        expected = [
            r
            for name, resources in run.resources.items()
            if run.assembly.by_name(name).account == account
            for r in resources
            if r.retained
        ]
        retained_placeholders += sum(r.kind != "modelled" for r in expected)
        left = leftovers(run.baseline[account], inventory(run.moto, account))
        unexpected = [
            (t, i)
            for t, i in left
            if not any(r.type == t and r.kind == "modelled" and same_resource(i, r.physical_id) for r in expected)
        ]
        missing = [
            r
            for r in expected
            if r.kind == "modelled"
            and r.type in INVENTORY
            and not any(t == r.type and same_resource(i, r.physical_id) for t, i in left)
        ]
        for t, i in unexpected:
            failures.append(f"{account}: {t} {i} left behind")
        for r in missing:
            failures.append(f"{account}: retained {r.type} {r.logical_id} is gone")
        retained_left += len(left) - len(unexpected)
        say("left", account, f"{len(left) - len(unexpected)} retained resources, {len(unexpected)} unexpected")
    if failures:
        raise RehearsalError(f"the destroy was not clean: {failures[0]} ({len(failures)} problems in all)")
    return (
        f"{retained_left} resources remain, exactly those the templates retain (DeletionPolicy Retain); "
        f"{retained_placeholders} more retained ones were placeholders, never created"
    )


Check = tuple[str, Callable[[], str | None]]


def wiring_checks(run: Run) -> list[Check]:
    """What only the deployment shows: bootstrap trust and boundary, the chain of roles, the cross-stack references."""
    config, assembly, moto = run.config, run.assembly, run.moto
    naming = Names(config)
    tools = config.accounts.tools
    checks: list[Check] = []

    def bootstrap_trusts_tools(account: str) -> str | None:
        stack = next((stack for stack in assembly if stack.account == account), None)
        if stack is None:
            return f"the assembly has no stack in {account}, so no bootstrap deploy role to look at"
        role = stack.deploy_role_arn.split("/")[-1]
        document = moto.in_account("iam", account).get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        return None if tools in trusted_accounts(document) else f"{role} does not trust {tools}"

    def bootstrap_execution_policy(account: str) -> str | None:
        stack = moto.in_account("cloudformation", account).describe_stacks(StackName="CDKToolkit")["Stacks"][0]
        given = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        policy = f"arn:aws:iam::{account}:policy/{EXECUTION_POLICY_NAME}"
        # A CommaDelimitedList parameter; moto echoes it as the text of a Python list.
        found = [item.strip(" '\"") for item in given.get("CloudFormationExecutionPolicies", "").strip("[]").split(",")]
        return None if found == [policy] else f"CloudFormationExecutionPolicies is {found}, not [{policy}]"

    def bootstrap_boundary(step: Bootstrap) -> str | None:
        """A target account's execution role carries the boundary, which exists; the tools account's has none."""
        stack = next((stack for stack in assembly if stack.account == step.account), None)
        if stack is None:
            return f"the assembly has no stack in {step.account}, so no bootstrap execution role to look at"
        iam = moto.in_account("iam", step.account)
        role = stack.execution_role_arn.split("/")[-1]
        found = iam.get_role(RoleName=role)["Role"].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if found != step.permissions_boundary_arn:
            return f"{role} has the boundary {found}, not {step.permissions_boundary_arn}"
        local = {policy["Arn"] for policy in _pages(iam, "list_policies", "Policies", Scope="Local")}
        return None if found is None or found in local else f"{role} names the boundary {found}, which does not exist"

    def roles_carry_the_boundary(synthesized: AssemblyStack) -> str | None:
        """Every role the stack created in a target account names the boundary (stacks/project_stack.py)."""
        expected = f"arn:aws:iam::{synthesized.account}:policy/{BOUNDARY_NAME}"
        iam = moto.in_account("iam", synthesized.account)
        for resource in run.resources.get(synthesized.stack_name, []):
            if resource.type != "AWS::IAM::Role":
                continue
            role = iam.get_role(RoleName=resource.physical_id)["Role"]
            found = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            if found != expected:
                return f"{resource.logical_id} ({resource.physical_id}) has the boundary {found}, not {expected}"
        return None

    def stack_in_its_account(synthesized: AssemblyStack) -> str | None:
        """Deployed in its own account, by that account's execution role, through its deploy role."""
        name, account = synthesized.stack_name, synthesized.account
        stack = moto.in_account("cloudformation", account).describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            return f"{name} is {stack['StackStatus']}"
        # moto answers in the aws partition, as the bootstrap roles of a commercial region are named.
        execution_role = synthesized.execution_role_arn.replace("${AWS::Partition}", "aws")
        if stack.get("RoleARN") != execution_role:
            return f"{name} ran as {stack.get('RoleARN')}, not {execution_role}"
        if bool(stack.get("EnableTerminationProtection")) != synthesized.termination_protection:
            return f"{name} termination protection is {stack.get('EnableTerminationProtection')}, not as synthesized"
        if account != tools:
            deploy_role = synthesized.deploy_role_arn.split("/")[-1]
            role = moto.in_account("iam", account).get_role(RoleName=deploy_role)["Role"]
            if not role.get("RoleLastUsed", {}).get("LastUsedDate"):
                return f"{deploy_role} was never assumed"
            tools_stacks = moto.in_account("cloudformation", tools).list_stacks()["StackSummaries"]
            if any(summary["StackName"] == name for summary in tools_stacks):
                return f"{name} also exists in the tools account {tools}"
        return None

    def deploy_role_trusts_pipeline(account: str) -> str | None:
        """The pipeline's role in the tools account, as deployed, is what the deploy role trusts."""
        role = moto.in_account("iam", account).get_role(RoleName=naming.deploy_role)["Role"]
        pipeline = moto.in_account("iam", tools).get_role(RoleName=naming.pipeline_role)["Role"]["Arn"]
        trusted = trusted_accounts(role["AssumeRolePolicyDocument"])
        return None if trusted == {pipeline} else f"{naming.deploy_role} trusts {sorted(trusted)}, not only {pipeline}"

    def cross_stack_references(synthesized: AssemblyStack) -> str | None:
        """Each ``Fn::GetStackOutput`` resolved to the output the named stack published, on the resource."""
        problems = [
            problem
            for logical, resource_type, prop, reference in stack_output_references(synthesized.template)
            if (problem := check_reference(run, synthesized, logical, resource_type, prop, reference)) is not None
        ]
        return problems[0] if problems else None

    for step in bootstrap_plan(config):
        account = step.account
        checks.append((f"CDKToolkit {account} execution policy", partial(bootstrap_execution_policy, account)))
        checks.append((f"CDKToolkit {account} execution role boundary", partial(bootstrap_boundary, step)))
        if step.trust is not None:
            checks.append((f"CDKToolkit {account} trusts tools", partial(bootstrap_trusts_tools, account)))
    for synthesized in assembly.deploy_order():
        name, account = synthesized.stack_name, synthesized.account
        checks.append((f"{name} in {account}", partial(stack_in_its_account, synthesized)))
        roles = sum(resource.type == "AWS::IAM::Role" for resource in run.resources.get(name, []))
        if account != tools and roles:
            checks.append((f"{name} {roles} roles with the boundary", partial(roles_carry_the_boundary, synthesized)))
        count = len(stack_output_references(synthesized.template))
        if count:
            checks.append((f"{name} {count} stack outputs read", partial(cross_stack_references, synthesized)))
    # Only where CodeDeploy releases: ECS releases need no deploy role (pipelines/deploy_role.py).
    for environment in config.environments:
        if environment.release_controller != "codedeploy":
            continue
        account = environment.account
        checks.append((f"{naming.deploy_role} {account} trust", partial(deploy_role_trusts_pipeline, account)))
    return checks


#: (logical id, resource type, top-level property, the Fn::GetStackOutput arguments) of a template.
StackOutputReference = tuple[str, str, str, Mapping[str, Any]]


def stack_output_references(template: Mapping[str, Any]) -> list[StackOutputReference]:
    """Every ``Fn::GetStackOutput`` in the template's resource properties."""
    found: list[StackOutputReference] = []

    def walk(value: Any, logical: str, resource_type: str, prop: str) -> None:
        if isinstance(value, dict):
            if "Fn::GetStackOutput" in value:
                found.append((logical, resource_type, prop, value["Fn::GetStackOutput"]))
                return
            for item in value.values():
                walk(item, logical, resource_type, prop)
        elif isinstance(value, list):
            for item in value:
                walk(item, logical, resource_type, prop)

    for logical, resource in template.get("Resources", {}).items():
        for prop, value in (resource.get("Properties") or {}).items():
            walk(value, logical, resource["Type"], prop)
    return found


#: Where a deployed resource shows the value a reference gave it: type -> (service, property -> reader).
#: The types and properties this app's service stacks fill from their network stack, except the ECS
#: service's NetworkConfiguration: moto keeps none for a service (docs/rehearsal.md), so its subnets
#: are checked only as outputs that exist.
DEPLOYED_VALUES: dict[str, tuple[str, dict[str, Callable[[Any, str], list[str]]]]] = {
    "AWS::ElasticLoadBalancingV2::TargetGroup": (
        "elbv2",
        {"VpcId": lambda c, arn: [c.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["VpcId"]]},
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (
        "elbv2",
        {
            "Subnets": lambda c, arn: [
                zone["SubnetId"]
                for zone in c.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["AvailabilityZones"]
            ]
        },
    ),
    "AWS::EC2::SecurityGroup": (
        "ec2",
        {"VpcId": lambda c, group: [c.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["VpcId"]]},
    ),
    "AWS::Lambda::Function": ("lambda", {"VpcConfig": lambda c, name: _function_network(c, name)}),
}


def _function_network(lambda_: Any, name: str) -> list[str]:
    """The subnets and security groups a Lambda function's network interfaces are in."""
    vpc = lambda_.get_function(FunctionName=name)["Configuration"].get("VpcConfig", {})
    return [*vpc.get("SubnetIds", []), *vpc.get("SecurityGroupIds", [])]


def check_reference(
    run: Run, synthesized: AssemblyStack, logical: str, resource_type: str, prop: str, reference: Mapping[str, Any]
) -> str | None:
    """The output the reference names exists in its stack, and the deployed resource carries its value."""
    other = str(reference.get("StackName"))
    output_name = str(reference.get("OutputName"))
    cloudformation = run.moto.in_account("cloudformation", synthesized.account)
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in cloudformation.describe_stacks(StackName=other)["Stacks"][0].get("Outputs", [])
    }
    if output_name not in outputs:
        return f"{logical}.{prop} reads {other}.{output_name}, which {other} does not publish"
    if resource_type not in DEPLOYED_VALUES or prop not in DEPLOYED_VALUES[resource_type][1]:
        return None  # the deploy resolved it (CloudFormation fails a stack otherwise); moto has no reader here
    resource = next(r for r in run.resources[synthesized.stack_name] if r.logical_id == logical)
    if resource.kind != "modelled":
        return None  # a placeholder (docs/rehearsal.md): nothing was created to carry the value
    service, readers = DEPLOYED_VALUES[resource_type]
    deployed = readers[prop](run.moto.in_account(service, synthesized.account), resource.physical_id)
    if outputs[output_name] not in deployed:
        return f"{logical}.{prop} is {deployed}, not {other}.{output_name} = {outputs[output_name]}"
    return None


class Terminated(Exception):
    """SIGTERM: unwind like Ctrl-C, so that the server is stopped."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", default="config/sandbox.toml", help="configuration file (default: %(default)s)")
    parser.add_argument("--assembly", default="cdk.out", help="synthesized cloud assembly (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=None, help="localhost port for the moto server (default: a free one)"
    )
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        print(f"rehearse: FAILED: --port {args.port}: expected a port number between 1 and 65535", file=sys.stderr)
        return 1
    if shutil.which("cdk") is None:
        print("rehearse: FAILED: the CDK CLI is not on PATH (run through `make rehearse`)", file=sys.stderr)
        return 1

    signal.signal(signal.SIGTERM, _on_sigterm)
    start = time.perf_counter()
    records: dict[str, StackRecord] = {}
    run_dir = Path(tempfile.mkdtemp(prefix="rehearse-"))

    def fail(reason: str, code: int) -> int:
        """One line on stderr; the logs are kept if there are any, and named unless the reason names one."""
        if any(run_dir.iterdir()):
            if str(run_dir) not in reason:
                reason += f" (logs: {run_dir})"
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
        print(f"rehearse: FAILED after {time.perf_counter() - start:.0f} s: {reason}", file=sys.stderr)
        return code

    try:
        config = load_config(args.config)
        remark = rehearse(config, read_assembly((ROOT / args.assembly).resolve()), run_dir, records, args.port)
    except KeyboardInterrupt:
        return fail("interrupted; the server is stopped", 130)
    except Terminated:
        return fail("terminated; the server is stopped", 143)
    except Exception as error:  # one line, whatever failed: the logs in run_dir have the rest
        if any(r.deploy_seconds is not None for r in records.values()):
            print(summary_table(list(records.values())), flush=True)
        known = (RehearsalError, ConfigError, AssemblyError)
        reason = str(error) if isinstance(error, known) else f"{type(error).__name__}: {error}"
        return fail(next((line.strip() for line in reason.splitlines() if line.strip()), type(error).__name__), 1)
    shutil.rmtree(run_dir, ignore_errors=True)
    print(summary_table(list(records.values())))
    print(
        f"rehearse: ok: {len(records)} stacks deployed and destroyed; {remark}; in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
