#!/usr/bin/env python3
"""Offline deploy rehearsal: deploy the synthesized app into a local moto server, the docs/deploy.md way.

A moto server on a free localhost port stands in for the four accounts of the configuration.
The rehearsal then does what docs/deploy.md tells an operator to do on AWS:

1. creates the CloudFormation execution policy of docs/deploy.md in each account, with that
   account's administrator credentials;
2. bootstraps the tools account, then each target account with ``--trust <tools>`` and
   ``--cloudformation-execution-policies``;
3. deploys the stacks in ``stack_names(config)`` order with the tools account's credentials
   only, so that every target-account stack goes through that account's bootstrap deploy role;
4. checks the wiring through boto3: trust policies, where each stack landed, and through which role.

It proves the wiring, not security: moto does not enforce IAM. A stack that moto cannot deploy
for a reason of its own (a resource type it does not model, an intrinsic it does not resolve)
is skipped with the reason printed; the app's templates are never changed. The server is
stopped at the end, also on failure; every wait has a timeout; all traffic goes to localhost.

Prints one line per step and a summary line; exits 1 with a one-line reason on any failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python scripts/rehearse.py`
    sys.path.insert(0, str(ROOT))

from components.naming import Names  # noqa: E402
from config import Config, load_config  # noqa: E402
from stacks.delivery_app import stack_names  # noqa: E402

# The policy docs/deploy.md creates in every account before bootstrapping (`aws iam create-policy`).
EXECUTION_POLICY_NAME = "delivery-cfn-exec"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
# moto answers every request with dummy credentials in this account; the rehearsal uses it only to
# switch into the four accounts, as an AWS Organizations management account would.
MOTO_DEFAULT_ACCOUNT = "123456789012"
ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"
SERVER_START_TIMEOUT = 30.0
BOOTSTRAP_TIMEOUT = 180.0
DEPLOY_TIMEOUT = 300.0
CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"


class RehearsalError(Exception):
    """A step failed; the message is the one-line reason."""


# -- the plan (no server needed) ----------------------------------------------------------------


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

    def cdk_args(self, assembly: Path) -> list[str]:
        args = ["cdk", "bootstrap", f"aws://{self.account}/{self.region}", "--app", str(assembly)]
        if self.trust is not None:
            args += ["--trust", self.trust]
        return [*args, "--cloudformation-execution-policies", self.execution_policy_arn, *QUIET_CLI]


@dataclass(frozen=True)
class StackStep:
    """One stack of the deployment order; ``skip`` says why moto cannot deploy it, if it cannot."""

    name: str
    account: str
    skip: str | None

    def cdk_args(self, assembly: Path) -> list[str]:
        # --exclusively: the order is the plan's, and a skipped dependency must not be deployed
        # behind the rehearsal's back. --method=direct: moto's change sets are not reliable enough.
        return [
            "cdk",
            "deploy",
            self.name,
            "--app",
            str(assembly),
            "--exclusively",
            "--method=direct",
            "--require-approval=never",
            *QUIET_CLI,
        ]


# No notices, no telemetry, no progress bar: nothing leaves localhost, and the logs stay readable.
QUIET_CLI = ("--ci", "--no-notices", "--no-version-reporting", "--progress=events")


def bootstrap_plan(config: Config) -> list[Bootstrap]:
    """The tools account first, then each target account trusting it (docs/deploy.md, "Bootstrap")."""
    tools = config.accounts.tools
    plan = [Bootstrap(label="tools", account=tools, region=config.region, trust=None)]
    plan += [
        Bootstrap(label=environment.name, account=environment.account, region=config.region, trust=tools)
        for environment in config.environments
    ]
    return plan


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _get_att_targets(template: Mapping[str, Any]) -> set[str]:
    targets: set[str] = set()
    for key, value in _walk(template):
        if key == "Fn::GetAtt":
            targets.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
        elif key == "Fn::Sub":
            text = value[0] if isinstance(value, list) else value
            if isinstance(text, str):
                targets.update(re.findall(r"\$\{([A-Za-z0-9]+)\.[^}]+\}", text))
    return targets


def moto_blocker(template: Mapping[str, Any], modelled: Callable[[str], bool]) -> str | None:
    """Why moto cannot deploy this template, or None. ``modelled(type)``: does moto's CloudFormation know it?"""
    resources: Mapping[str, Any] = template.get("Resources", {})
    stack_outputs = sorted(
        {value["StackName"] for key, value in _walk(template) if key == "Fn::GetStackOutput" and "StackName" in value}
    )
    if stack_outputs:
        return f"moto does not resolve Fn::GetStackOutput (reads outputs of {', '.join(stack_outputs)})"
    custom = sorted(
        resource["Type"]
        for resource in resources.values()
        if resource["Type"].startswith("Custom::") or resource["Type"] == CUSTOM_RESOURCE_TYPE
    )
    if custom:
        return (
            f"moto runs the Lambda function behind {', '.join(custom)} in Docker and waits for its answer; "
            "the rehearsal runs without Docker"
        )
    unmodelled = sorted(
        {
            resources[logical_id]["Type"]
            for logical_id in _get_att_targets(template)
            if logical_id in resources and not modelled(resources[logical_id]["Type"])
        }
    )
    if unmodelled:
        return f"moto does not model {', '.join(unmodelled)}, whose attributes the template reads with Fn::GetAtt"
    return None


@dataclass(frozen=True)
class Assembly:
    """The synthesized cloud assembly: each stack's account and template, from its manifest."""

    path: Path
    accounts: dict[str, str]
    templates: dict[str, dict[str, Any]]
    deploy_roles: dict[str, str]
    execution_roles: dict[str, str]

    @classmethod
    def read(cls, path: Path) -> Assembly:
        manifest_file = path / "manifest.json"
        if not manifest_file.is_file():
            raise RehearsalError(f"{manifest_file} not found: run `make synth` first")
        manifest = json.loads(manifest_file.read_text())
        accounts, templates, deploy_roles, execution_roles = {}, {}, {}, {}
        for name, artifact in manifest["artifacts"].items():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            accounts[name] = artifact["environment"].removeprefix("aws://").split("/")[0]
            properties = artifact["properties"]
            templates[name] = json.loads((path / properties["templateFile"]).read_text())
            deploy_roles[name] = properties["assumeRoleArn"].replace("${AWS::Partition}", "aws")
            execution_roles[name] = properties["cloudFormationExecutionRoleArn"].replace("${AWS::Partition}", "aws")
        return cls(path, accounts, templates, deploy_roles, execution_roles)


def deploy_plan(config: Config, assembly: Assembly, modelled: Callable[[str], bool]) -> list[StackStep]:
    """Every stack in ``stack_names`` order, with moto's reason to skip it, if any.

    Fails if the assembly was synthesized from another configuration (other stacks or accounts).
    """
    order = stack_names(config)
    if sorted(order) != sorted(assembly.templates):
        raise RehearsalError(
            f"{assembly.path} holds {sorted(assembly.templates)}, the configuration gives {sorted(order)}: "
            "run `make synth` with the same CONFIG"
        )
    expected = {"Tools": config.accounts.tools} | {e.title: e.account for e in config.environments}
    for name in order:
        if assembly.accounts[name] != expected[name.split("-")[0]]:
            raise RehearsalError(f"{name} is synthesized for account {assembly.accounts[name]}, not {expected}")
    return [
        StackStep(name, assembly.accounts[name], moto_blocker(assembly.templates[name], modelled)) for name in order
    ]


def execution_policy_document(deploy_doc: str) -> str:
    """The execution policy JSON of docs/deploy.md (the `cfn-exec.json` here-document), compacted."""
    match = re.search(r"cat > cfn-exec\.json <<'EOF'\n(.*?)\nEOF\n", deploy_doc, re.DOTALL)
    if match is None:
        raise RehearsalError(f"{DEPLOY_DOC}: no `cat > cfn-exec.json <<'EOF'` block")
    return json.dumps(json.loads(match.group(1)), separators=(",", ":"))


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


# -- the run (moto server) ----------------------------------------------------------------------


def say(step: str, subject: str, outcome: str) -> None:
    print(f"{step:<10} {subject:<40} {outcome}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server(log_file: Path) -> Iterator[str]:
    """A moto server on a free localhost port, stopped on exit; yields its endpoint URL."""
    port = free_port()
    # MOTO_ACCOUNT_ID would pin every request to one account, assumed roles included.
    env = {key: value for key, value in os.environ.items() if key != "MOTO_ACCOUNT_ID"}
    with log_file.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                raise RehearsalError(f"moto server exited with code {server.returncode} (log: {log_file})")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RehearsalError(f"moto server not answering after {SERVER_START_TIMEOUT:.0f} s") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


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
        lines = [line.strip() for line in log_file.read_text().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith(("❌", "‣")) or "Error" in line]
        reason = (errors or lines or ["no output"])[-1]
        raise RehearsalError(f"`{' '.join(args[:3])}` failed: {reason} (log: {log_file})")
    return time.perf_counter() - start


@dataclass
class Tally:
    bootstrapped: int = 0
    deployed: int = 0
    skipped: int = 0
    checks_passed: int = 0
    checks_skipped: int = 0


def rehearse(config: Config, assembly: Assembly, run_dir: Path, tally: Tally) -> None:
    from moto.cloudformation.parsing import resource_class_from_type

    # moto logs a warning for each type it does not model; the plan below says it once per stack.
    logging.getLogger("moto").setLevel(logging.ERROR)

    def modelled(resource_type: str) -> bool:
        return resource_class_from_type(resource_type) is not None

    steps = deploy_plan(config, assembly, modelled)
    policy = execution_policy_document(DEPLOY_DOC.read_text())
    names = Names(config)
    tools = config.accounts.tools

    with moto_server(run_dir / "moto.log") as endpoint:
        say("server", endpoint, f"moto (log: {run_dir / 'moto.log'})")
        moto = Moto(endpoint, config.region)

        for bootstrap in bootstrap_plan(config):
            admin = moto.admin(bootstrap.account)
            moto.client("iam", admin).create_policy(PolicyName=EXECUTION_POLICY_NAME, PolicyDocument=policy)
            log = run_dir / f"bootstrap-{bootstrap.label}.log"
            seconds = run_cli(bootstrap.cdk_args(assembly.path), moto.cli_env(admin, run_dir), log, BOOTSTRAP_TIMEOUT)
            trust = f", trusts {bootstrap.trust}" if bootstrap.trust else ""
            say("bootstrap", f"{bootstrap.label} {bootstrap.account}", f"ok{trust} ({seconds:.1f} s)")
            tally.bootstrapped += 1

        # Only the tools account's credentials from here on, as docs/deploy.md deploys.
        tools_env = moto.cli_env(moto.admin(tools), run_dir)
        for step in steps:
            if step.skip is not None:
                say("skip", f"{step.name} {step.account}", step.skip)
                tally.skipped += 1
                continue
            seconds = run_cli(
                step.cdk_args(assembly.path), tools_env, run_dir / f"deploy-{step.name}.log", DEPLOY_TIMEOUT
            )
            say("deploy", f"{step.name} {step.account}", f"ok ({seconds:.1f} s)")
            tally.deployed += 1

        deployed = {step.name for step in steps if step.skip is None}
        for subject, needs, check in wiring_checks(config, assembly, names, moto):
            missing = [name for name in needs if name not in deployed]
            if missing:
                say("skip", subject, f"needs {missing[0]}, skipped above")
                tally.checks_skipped += 1
                continue
            problem = check()
            if problem is not None:
                raise RehearsalError(f"{subject}: {problem}")
            say("check", subject, "ok")
            tally.checks_passed += 1


Check = tuple[str, list[str], Callable[[], str | None]]


def wiring_checks(config: Config, assembly: Assembly, names: Names, moto: Moto) -> list[Check]:
    """What the deployment must have wired, each with the stacks it needs."""
    tools = config.accounts.tools
    checks: list[Check] = []

    def bootstrap_trusts_tools(account: str) -> str | None:
        role = assembly.deploy_roles[next(n for n, a in assembly.accounts.items() if a == account)].split("/")[-1]
        document = moto.client("iam", moto.admin(account)).get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        return None if tools in trusted_accounts(document) else f"{role} does not trust {tools}"

    def bootstrap_execution_policy(account: str) -> str | None:
        stack = moto.client("cloudformation", moto.admin(account)).describe_stacks(StackName="CDKToolkit")["Stacks"][0]
        given = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        policy = f"arn:aws:iam::{account}:policy/{EXECUTION_POLICY_NAME}"
        # A CommaDelimitedList parameter; moto echoes it as the text of a Python list.
        found = [item.strip(" '\"") for item in given.get("CloudFormationExecutionPolicies", "").strip("[]").split(",")]
        return None if found == [policy] else f"CloudFormationExecutionPolicies is {found}, not [{policy}]"

    def stack_in_its_account(name: str) -> str | None:
        account = assembly.accounts[name]
        cloudformation = moto.client("cloudformation", moto.admin(account))
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            return f"{name} is {stack['StackStatus']}"
        if stack.get("RoleARN") != assembly.execution_roles[name]:
            return f"{name} ran as {stack.get('RoleARN')}, not {assembly.execution_roles[name]}"
        if account != tools:
            deploy_role = assembly.deploy_roles[name].split("/")[-1]
            role = moto.client("iam", moto.admin(account)).get_role(RoleName=deploy_role)["Role"]
            if not role.get("RoleLastUsed", {}).get("LastUsedDate"):
                return f"{deploy_role} was never assumed"
            tools_stacks = moto.client("cloudformation", moto.admin(tools)).list_stacks()["StackSummaries"]
            if any(summary["StackName"] == name for summary in tools_stacks):
                return f"{name} also exists in the tools account {tools}"
        return None

    def deploy_role_trusts_pipeline(account: str) -> str | None:
        role = moto.client("iam", moto.admin(account)).get_role(RoleName=names.deploy_role)["Role"]
        pipeline = names.role_arn(tools, names.pipeline_role)
        trusted = trusted_accounts(role["AssumeRolePolicyDocument"])
        return None if trusted == {pipeline} else f"{names.deploy_role} trusts {sorted(trusted)}, not only {pipeline}"

    def role_exists(account: str, role_name: str) -> Callable[[], str | None]:
        def check() -> str | None:
            roles = moto.client("iam", moto.admin(account)).list_roles()["Roles"]
            return None if any(r["RoleName"] == role_name for r in roles) else f"no role {role_name} in {account}"

        return check

    def ecr_repository() -> str | None:
        ecr = moto.client("ecr", moto.admin(tools))
        repositories = ecr.describe_repositories(repositoryNames=[names.ecr_repository])["repositories"]
        return None if repositories[0]["imageTagMutability"] == "IMMUTABLE" else "the repository's tags are mutable"

    def artifact_bucket() -> str | None:
        buckets = moto.client("s3", moto.admin(tools)).list_buckets()["Buckets"]
        return None if any(b["Name"] == names.artifact_bucket for b in buckets) else "no artifact bucket"

    def vpc(name: str, account: str, cidr: str) -> Callable[[], str | None]:
        def check() -> str | None:
            vpcs = moto.client("ec2", moto.admin(account)).describe_vpcs(
                Filters=[{"Name": "tag:aws:cloudformation:stack-name", "Values": [name]}]
            )["Vpcs"]
            found = sorted(v["CidrBlock"] for v in vpcs)
            return None if found == [cidr] else f"VPCs of {name} in {account}: {found}, expected [{cidr}]"

        return check

    for bootstrap in bootstrap_plan(config):
        account = bootstrap.account
        checks.append((f"CDKToolkit {account} execution policy", [], partial(bootstrap_execution_policy, account)))
        if bootstrap.trust is not None:
            checks.append((f"CDKToolkit {account} trusts tools", [], partial(bootstrap_trusts_tools, account)))
    for name in stack_names(config):
        checks.append((f"{name} in {assembly.accounts[name]}", [name], partial(stack_in_its_account, name)))
    for role in config.oidc.roles:
        checks.append((f"role {role.name} in {tools}", ["Tools-GithubOidc"], role_exists(tools, role.name)))
    checks.append(
        (f"role {names.pipeline_role} in {tools}", ["Tools-PipelineRole"], role_exists(tools, names.pipeline_role))
    )
    checks.append((f"ECR {names.ecr_repository} in {tools}", ["Tools-Pipeline"], ecr_repository))
    checks.append((f"bucket {names.artifact_bucket}", ["Tools-Pipeline"], artifact_bucket))
    for environment in config.environments:
        account = environment.account
        deploy_role_stack, network_stack = f"{environment.title}-DeployRole", f"{environment.title}-Network"
        checks.append(
            (f"{names.deploy_role} {account} trust", [deploy_role_stack], partial(deploy_role_trusts_pipeline, account))
        )
        checks.append(
            (
                f"VPC {environment.vpc_cidr} in {account}",
                [network_stack],
                vpc(network_stack, account, environment.vpc_cidr),
            )
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/sandbox.toml", help="configuration file (default: %(default)s)")
    parser.add_argument("--assembly", default="cdk.out", help="synthesized cloud assembly (default: %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("cdk") is None:
        print("rehearse: FAILED: the CDK CLI is not on PATH (run through `make rehearse`)", file=sys.stderr)
        return 1

    start = time.perf_counter()
    tally = Tally()
    run_dir = Path(tempfile.mkdtemp(prefix="rehearse-"))
    try:
        config = load_config(args.config)
        rehearse(config, Assembly.read((ROOT / args.assembly).resolve()), run_dir, tally)
    except Exception as error:  # one line, whatever failed: the logs in run_dir have the rest
        reason = str(error) if isinstance(error, RehearsalError) else f"{type(error).__name__}: {error}"
        print(f"rehearse: FAILED after {time.perf_counter() - start:.0f} s: {reason}", file=sys.stderr)
        print(f"rehearse: logs kept in {run_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(run_dir, ignore_errors=True)
    print(
        f"rehearse: ok: {tally.bootstrapped} accounts bootstrapped, {tally.deployed} stacks deployed, "
        f"{tally.skipped} skipped (moto), {tally.checks_passed} checks passed, {tally.checks_skipped} skipped, "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
