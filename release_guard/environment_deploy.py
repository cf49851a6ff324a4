"""The pipeline's infrastructure deploy: one environment's stacks from the one cloud assembly, with the commit's image.

Usage::

    python -m release_guard.environment_deploy --assembly cdk.out --environment dev --image-tag TAG
    python -m release_guard.environment_deploy --assembly cdk.out --environment tools
    python -m release_guard.environment_deploy --assembly cdk.out --environment prod --image-tag TAG --review review.env
    python -m release_guard.environment_deploy --assembly cdk.out --environment dev --image-tag TAG --method direct

It runs the pinned CDK CLI (``package.json``)::

    cdk deploy --app <assembly> <Env>-DeployRole <Env>-Network <Env>-Service --exclusively \\
        --require-approval never --no-notices --no-version-reporting --parameters <Env>-Service:ImageTag=TAG

The stacks are the environment's stacks of the assembly in its deploy order (:mod:`stacks.assembly`);
``--exclusively`` keeps the CLI from deploying the stacks they depend on in other accounts (the CLI
adds a stack's dependencies unless told so, CDK CLI reference ``cdk deploy --exclusively``). The CLI
reaches the target account through its CDK bootstrap roles, which ``cdk bootstrap --trust <tools
account>`` lets the tools account assume; the CodeBuild project that runs this may assume that one
account's roles and no others (pipelines/environment_deploy_project.py). ``tools`` is the tools
account's own stacks, which the pipeline's ``UpdatePipeline`` stage deploys (no image tag).

``--method change-set`` (the default, and what the pipeline runs) deploys one stack at a time, in
the deploy order, in three steps: ``cdk deploy <stack> --method=prepare-change-set`` creates the
stack's change set without executing it; :mod:`release_guard.change_set` reads it with
DescribeChangeSet (through the account's read-only lookup role) and prints CloudFormation's own
report of each resource change, ``Replacement`` included; then ``cdk deploy <stack>
--method=execute-change-set --change-set-name <ChangeSetId>`` executes exactly that change set, by
the ARN that was read (:func:`execute_command`), unless it replaces or may replace (``Replacement``
``Conditional``, ``Action`` ``Dynamic``) or removes a target group, listener, rule or service,
which a release controller holds by ARN (exit 3, one line, the change set left for review). A
change set with no changes is not executed. ``--method direct`` calls CreateStack or UpdateStack
without a change set, in one ``cdk deploy`` (CDK CLI reference,
https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-deploy.html, and ``cdk deploy --help`` of the
pinned CLI). Only the offline rehearsal uses ``direct`` (docs/rehearsal.md): its emulator's change
sets report no ``Replacement`` and are not reliable enough. A CI run asks for no notices and sends
no telemetry: ``--no-notices`` skips fetching the CLI's notices feed
(https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-notices.html), which nobody reads in a build
log, and ``--no-version-reporting`` opts out of CLI telemetry (an alias of ``--no-telemetry`` since
CLI 2.1022.0, https://docs.aws.amazon.com/cdk/v2/guide/cli-telemetry.html); from an assembly
already synthesized it changes no template.

``--review FILE`` changes nothing: for each stack it reads the deployed template itself, with
GetTemplate (``TemplateStage`` Original, ``{}`` for a stack not created yet) through the account's
CDK lookup role (read only; the one role the review's project may assume), and runs ``cdk diff
<stack> --template <that file>`` and the same with ``--security-only --fail``, which call no AWS
API (:func:`review_commands`); it writes ``REPLACEMENTS``, ``BROADENING`` and ``SUMMARY`` (one
line each, ``KEY=value``) for the approval to show. The CLI does not read the deployed templates
itself because it would read them through the stack's lookup role as the assembly names it, the
project's template reader (stacks/project_stack.py), which trusts only the GitHub diff roles, and
then through the deploy role, which the review may not assume either (:func:`review`).
Broadening is the CLI's own judgement: ``cdk diff --security-only --fail`` exits 1 when a change
widens IAM or security-group permissions, the check CDK Pipelines' ``ConfirmPermissionsBroadening``
runs. Replacements are the resources the diff marks ``replace`` or ``may be replaced``
(cloudformation-diff's formatter). The review computes the diff from the templates, not from a
change set: creating a change set takes the account's deploy role, which may also execute it, and
the review runs before the approval with the lookup role alone; cloudformation-diff then marks
replacements from the CloudFormation resource specification, and the change set that the approved
deploy prepares reports them again, from CloudFormation itself, before anything executes.

Exit status: 0 done; 2 bad input, one line on stderr; 3 a change set refused (above); otherwise the
CDK CLI's own status.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from config import TARGET_ENVIRONMENTS
from release_guard.change_set import ChangeSetError, describe, lines, release_held_refusal
from release_guard.live import AwsCallError, aws_error, session_for
from release_guard.plan import GuardError
from stacks import names
from stacks.assembly import AssemblyError, AssemblyStack, CloudAssembly, read_assembly

EXIT_BAD_INPUT, EXIT_REFUSED = 2, 3
TOOLS = "tools"
#: The ``--method`` values of this command; the first is the default (see the module docstring).
METHODS = ("change-set", "direct")
#: The change set each stack's deploy prepares, reads and executes (one stack at a time).
CHANGE_SET_NAME = "environment-deploy"
#: A CI run: no notices feed, no CLI telemetry (see the module docstring).
CI_FLAGS = ("--no-notices", "--no-version-reporting")
#: The service stack's parameter that says which image the task definition runs (stacks/service_stack.py).
IMAGE_TAG_PARAMETER = "ImageTag"
#: A Docker image tag (https://docs.docker.com/reference/cli/docker/image/tag/).
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: A resource line of ``cdk diff`` that CloudFormation replaces: ``[~] AWS::X::Y Name Id replace``.
_REPLACED = re.compile(r"^\s*\[[~+-]\]\s+AWS::\S+\s+.*\b(replace|may be replaced)\s*$", re.MULTILINE)

#: (command) -> the finished process; subprocess.run in production, a fake in the tests.
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
#: (account, region) -> a CloudFormation client there; the lookup role in production, a Stubber in the tests.
CloudFormationClients = Callable[[str, str], Any]


class DeployInputError(Exception):
    """Bad input: one line naming the option and what is expected."""


@dataclass(frozen=True)
class Plan:
    """What one run deploys: the stacks in order, and the service stack that takes the image tag."""

    environment: str
    stacks: tuple[str, ...]
    service_stack: str | None
    image_tag: str | None
    method: str = METHODS[0]
    #: (account, region) of each stack, in the order of ``stacks``.
    locations: tuple[tuple[str, str], ...] = ()


def environment_stacks(assembly: CloudAssembly, environment: str) -> list[AssemblyStack]:
    """The stacks of ``environment`` (``dev`` or ``tools``) in the assembly's deploy order."""
    title = environment.capitalize()
    chosen = []
    for stack in assembly.deploy_order():
        try:
            owner = names.environment_title(stack.stack_name)
        except ValueError:
            continue
        if owner == title:
            chosen.append(stack)
    return chosen


def plan_deploy(assembly: CloudAssembly, environment: str, image_tag: str | None, method: str = METHODS[0]) -> Plan:
    """The stacks to deploy and the one ImageTag parameter; DeployInputError for anything that does not fit."""
    if method not in METHODS:
        raise DeployInputError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    if environment not in (*TARGET_ENVIRONMENTS, TOOLS):
        expected = ", ".join((*TARGET_ENVIRONMENTS, TOOLS))
        raise DeployInputError(f"--environment: expected one of {expected}, got {environment!r}")
    stacks = environment_stacks(assembly, environment)
    if not stacks:
        raise DeployInputError(f"{assembly.manifest}: no stack of environment {environment!r}")
    if environment == TOOLS:
        if image_tag is not None:
            raise DeployInputError("--image-tag: expected none for the tools account's stacks, which run no image")
        return Plan(environment, tuple(s.stack_name for s in stacks), None, None, method, _locations(stacks))
    if image_tag is None or not _IMAGE_TAG.fullmatch(image_tag):
        raise DeployInputError(f"--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got {image_tag!r}")
    services = [s for s in stacks if names.kind_of(s.stack_name) is names.StackKind.SERVICE]
    if len(services) != 1:
        raise DeployInputError(
            f"{assembly.manifest}: expected one service stack of {environment!r}, got {len(services)}"
        )
    (service,) = services
    if IMAGE_TAG_PARAMETER not in (service.template.get("Parameters") or {}):
        raise DeployInputError(f"{service.stack_name}: expected a parameter {IMAGE_TAG_PARAMETER} in its template")
    return Plan(
        environment, tuple(s.stack_name for s in stacks), service.stack_name, image_tag, method, _locations(stacks)
    )


def _locations(stacks: Sequence[AssemblyStack]) -> tuple[tuple[str, str], ...]:
    return tuple((s.account, s.region) for s in stacks)


def _parameters(plan: Plan, stacks: Sequence[str] | None = None) -> list[str]:
    if plan.service_stack is None or plan.service_stack not in (plan.stacks if stacks is None else stacks):
        return []
    return ["--parameters", f"{plan.service_stack}:{IMAGE_TAG_PARAMETER}={plan.image_tag}"]


def deploy_command(assembly_dir: Path, plan: Plan) -> list[str]:
    """``--method direct``: one ``cdk deploy`` of the plan's stacks from the synthesized assembly (no second synth)."""
    return [
        "cdk",
        "deploy",
        "--app",
        str(assembly_dir),
        *plan.stacks,
        "--exclusively",
        "--require-approval",
        "never",
        f"--method={plan.method}",
        *CI_FLAGS,
        *_parameters(plan),
    ]


def prepare_command(assembly_dir: Path, plan: Plan, stack: str) -> list[str]:
    """``--method change-set``, for one stack: prepare its change set under :data:`CHANGE_SET_NAME` (no execution)."""
    named = ["--change-set-name", CHANGE_SET_NAME, *CI_FLAGS]
    return [*_one_stack(assembly_dir, stack), "--method=prepare-change-set", *named, *_parameters(plan, (stack,))]


def execute_command(assembly_dir: Path, stack: str, change_set_id: str) -> list[str]:
    """Execute the change set that was read, by its ARN (``ChangeSetId``), not whatever now has its name.

    The pinned CLI passes ``--change-set-name`` through unchanged (node_modules/aws-cdk/lib/cli/cli.js,
    ``execute-change-set``: ``changeSetName: args.changeSetName``) as the ``ChangeSetName`` of
    DescribeChangeSet (node_modules/aws-cdk/lib/index.js, ``executeExistingChangeSet`` ->
    ``ChangeSetDescriber.describeForExecution``, ``changeSetNameOrArn``), then executes the
    ``ChangeSetId`` that answered (``checkAndExecuteChangeSet``: ``ChangeSetName: changeSet.ChangeSetId``);
    DescribeChangeSet and ExecuteChangeSet take "the name or Amazon Resource Name (ARN) of the change set"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
    """
    return [
        *_one_stack(assembly_dir, stack),
        "--method=execute-change-set",
        "--change-set-name",
        change_set_id,
        *CI_FLAGS,
    ]


def _one_stack(assembly_dir: Path, stack: str) -> list[str]:
    return ["cdk", "deploy", "--app", str(assembly_dir), stack, "--exclusively", "--require-approval", "never"]


def deploy_with_change_sets(assembly_dir: Path, plan: Plan, run: Runner, clients: CloudFormationClients) -> int:
    """Each stack in order: prepare its change set, print CloudFormation's report, refuse or execute it."""
    for stack, (account, region) in zip(plan.stacks, plan.locations, strict=True):
        prepare = prepare_command(assembly_dir, plan, stack)
        print(" ".join(prepare), file=sys.stderr)
        prepared = run(prepare).returncode
        if prepared != 0:
            return prepared
        try:
            change_set = describe(clients(account, region), stack, CHANGE_SET_NAME)
        except (ChangeSetError, GuardError, AwsCallError) as error:
            print(error, file=sys.stderr)
            return EXIT_BAD_INPUT
        print("\n".join(lines(change_set)), file=sys.stderr)
        if change_set.empty:
            continue
        refusal = release_held_refusal(change_set)
        if refusal is not None:
            print(refusal, file=sys.stderr)
            return EXIT_REFUSED
        execute = execute_command(assembly_dir, stack, change_set.change_set_id)
        print(" ".join(execute), file=sys.stderr)
        executed = run(execute).returncode
        if executed != 0:
            return executed
    return 0


def review_commands(assembly_dir: Path, stack: str, deployed: Path) -> tuple[list[str], list[str]]:
    """One stack's full diff (replacements) against the template in ``deployed``, and the security-only diff
    that fails on widened permissions.

    ``--template`` makes the pinned CLI compare the assembly's stack with that file and call no AWS
    API (node_modules/aws-cdk/lib/cli/cdk-toolkit.js, ``diff()``, the ``options.templatePath`` branch:
    one stack, ``--exclusively`` so that its dependencies are not selected too, ``--security-only``
    honoured, and ``--fail`` exits 1 only when the security diff widens permissions). That branch
    reads no ``--parameters``, so none are passed: the diff is of templates, as before.
    """
    diff = [
        "cdk",
        "diff",
        "--app",
        str(assembly_dir),
        stack,
        "--exclusively",
        "--no-color",
        "--template",
        str(deployed),
        *CI_FLAGS,
    ]
    return diff, [*diff, "--security-only", "--fail"]


def deployed_template(client: Any, stack: str) -> str:
    """The deployed template of ``stack`` (GetTemplate, ``TemplateStage`` Original, as the CDK CLI reads it), as text.

    A stack that does not exist yet answers a ValidationError "Stack with id <name> does not exist"
    (the CLI's own test in ``CloudFormationStack.lookup``, node_modules/aws-cdk/lib/index.js;
    https://github.com/aws-samples/aws2tf/issues/40): its deployed template is the empty one, ``{}``,
    which is what the CLI diffs a new stack against (``CloudFormationStack.template()``).
    boto3 answers a JSON body already parsed (botocore's GetTemplate handler); it is written back as JSON.
    """
    try:
        body = client.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError" and "does not exist" in str(details.get("Message", "")):
            return "{}"
        raise aws_error(stack, client, "get_template", error) from None
    except BotoCoreError as error:
        raise aws_error(stack, client, "get_template", error) from None
    return json.dumps(body) if isinstance(body, Mapping) else str(body)


def review(assembly_dir: Path, plan: Plan, capture: Runner, clients: CloudFormationClients) -> dict[str, str] | int:
    """Each stack's diff against its deployed template, read through the lookup role; the approval's variables.

    The review's project may assume the account's CDK lookup role and nothing else. ``cdk diff``
    reading the deployed template itself would go through the stack's lookup role as the assembly
    names it, the project's template reader (stacks/project_stack.py), which trusts only the GitHub
    diff roles, then fall back to the deploy role (``accessStackForLookupBestEffort``), which the
    review may not assume either: so the review reads each template here and hands it to the CLI.
    Returns the variables, or the exit status of what failed.
    """
    outputs: list[str] = []
    broadening = False
    with tempfile.TemporaryDirectory(prefix="environment-review-") as work:
        for stack, (account, region) in zip(plan.stacks, plan.locations, strict=True):
            try:
                body = deployed_template(clients(account, region), stack)
            except (AwsCallError, GuardError) as error:
                print(error, file=sys.stderr)
                return EXIT_BAD_INPUT
            deployed = Path(work) / f"{stack}.deployed.template.json"
            deployed.write_text(body)
            diff, security = review_commands(assembly_dir, stack, deployed)
            shown = capture(diff)
            print(shown.stdout + shown.stderr, file=sys.stderr)
            if shown.returncode != 0:
                return shown.returncode
            checked = capture(security)
            print(checked.stdout + checked.stderr, file=sys.stderr)
            if checked.returncode not in (0, 1):
                return checked.returncode
            outputs.append(shown.stdout + shown.stderr)
            broadening = broadening or checked.returncode == 1
    return summarise("".join(outputs), broadening, plan)


def summarise(diff_output: str, broadening: bool, plan: Plan) -> dict[str, str]:
    """The approval's variables: one line each (CodePipeline variables are single strings)."""
    replaced = [" ".join(line.split()) for line in _replaced_lines(diff_output)]
    summary = (
        f"{plan.environment}: {len(replaced)} resource(s) replaced"
        + (f" ({'; '.join(replaced[:5])}{'; ...' if len(replaced) > 5 else ''})" if replaced else "")
        + (", IAM or security-group permissions widened" if broadening else ", no permission widened")
        + f", image {plan.image_tag}"
    )
    return {"REPLACEMENTS": str(len(replaced)), "BROADENING": "yes" if broadening else "no", "SUMMARY": summary}


def _replaced_lines(diff_output: str) -> list[str]:
    return [match.group(0).strip() for match in _REPLACED.finditer(diff_output)]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise DeployInputError(f"environment_deploy: {message} (see python -m release_guard.environment_deploy --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m release_guard.environment_deploy", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--assembly", required=True, type=Path, help="the cloud assembly directory (cdk.out)")
    parser.add_argument("--environment", required=True, help=f"one of {', '.join((*TARGET_ENVIRONMENTS, TOOLS))}")
    parser.add_argument("--image-tag", help="the image the service stack runs (ImageTag); none for tools")
    parser.add_argument(
        "--method",
        help=f"cdk deploy --method: one of {', '.join(METHODS)} (default {METHODS[0]}; direct only for the rehearsal)",
    )
    parser.add_argument("--review", type=Path, metavar="FILE", help="change nothing: write the review variables here")
    return parser


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), check=False, text=True, capture_output=False)


def _capture(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), check=False, text=True, capture_output=True)


def _lookup_clients(account: str, region: str) -> Any:
    """CloudFormation through the account's CDK lookup role (read only), which the deploy project may assume.

    A new session for each stack, on purpose: one stack's update can outlast an assumed role's
    session (an ECS release inside the Service stack's update), so no session is kept for the next.
    """
    return session_for(account, region, stack="environment_deploy").client("cloudformation", region_name=region)


def main(
    argv: Sequence[str] | None = None,
    *,
    run: Runner = _run,
    capture: Runner = _capture,
    clients: CloudFormationClients = _lookup_clients,
) -> int:
    """Deploy (or review) one environment; returns the exit status. ``run``/``capture``/``clients`` replace the CLI
    and CloudFormation in tests."""
    try:
        args = _parser().parse_args(argv)
        if args.review is not None and args.method is not None:
            raise DeployInputError("--method: expected none with --review, which deploys nothing")
        method = METHODS[0] if args.method is None else args.method
        plan = plan_deploy(read_assembly(args.assembly), args.environment, args.image_tag, method)
    except (DeployInputError, AssemblyError) as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.review is None and plan.method == "change-set":
        return deploy_with_change_sets(args.assembly, plan, run, clients)
    if args.review is None:
        command = deploy_command(args.assembly, plan)
        print(" ".join(command), file=sys.stderr)
        return run(command).returncode
    variables = review(args.assembly, plan, capture, clients)
    if isinstance(variables, int):
        return variables
    args.review.write_text("".join(f"{key}={value}\n" for key, value in variables.items()))
    print(variables["SUMMARY"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
