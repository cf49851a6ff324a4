"""Check that ``cdk deploy`` of the given stacks is safe now, and print the parameters that keep it safe.

``make deploy`` runs it under the pipeline lock (``python -m release_guard.lock hold``), so no
release of the same environment starts between this check and the end of ``cdk deploy``.

Usage:
    python -m release_guard --assembly cdk.out (--all | STACK [STACK ...])
        [--image-tag TAG] [--ambient-credentials] [--role-name TEMPLATE]

For each stack, one line on stderr: ``<stack>: deploy: ...`` or the refusal. When every stack
passes, stdout holds the CDK CLI arguments, one argument per line (``--parameters`` then
``<stack>:<Key>=<Value>``), for ``cdk deploy``. Exit status: 0 every stack passes; 3 at least
one is refused (stdout stays empty); 2 bad input (assembly, stack name, option) or an AWS error,
one line each. STACK is an artifact id or a stack name of ``<assembly>/manifest.json``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from release_guard.live import (
    DEFAULT_ROLE_NAME,
    AwsCallError,
    read_deployed,
    read_live_state,
    session_for,
)
from release_guard.plan import Decision, Deploy, GuardError, check_contract, is_service_stack, plan, status_refusal
from stacks.assembly import AssemblyError, AssemblyStack, read_assembly

EXIT_DEPLOY, EXIT_BAD_INPUT, EXIT_REFUSED = 0, 2, 3
#: A Docker image tag (https://docs.docker.com/reference/cli/docker/image/tag/).
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

#: (stack name, account, region, service name) -> a boto3 client for that service.
ClientFactory = Callable[[str, str, str, str], Any]


def guard_stack(stack: AssemblyStack, clients: ClientFactory, requested_image_tag: str | None) -> Decision:
    """The decision for one stack: no AWS call for a stack that is not a service stack."""
    name, synthesized = stack.stack_name, stack.template
    if not is_service_stack(synthesized):
        return plan(name, None, synthesized, None, requested_image_tag)
    check_contract(name, synthesized)
    deployed = read_deployed(clients(name, stack.account, stack.region, "cloudformation"), name)
    if deployed is None:
        return plan(name, None, synthesized, None, requested_image_tag)
    refusal = status_refusal(name, deployed.status)
    if refusal is not None:
        return refusal
    live = read_live_state(clients(name, stack.account, stack.region, "ecs"), deployed)
    return plan(name, deployed.template, synthesized, live, requested_image_tag)


def session_clients(*, role_name: str, ambient: bool) -> ClientFactory:
    """Clients from one session per account and region (the assumed role, or the ambient credentials)."""
    sessions: dict[tuple[str, str], Any] = {}

    def clients(stack: str, account: str, region: str, service: str) -> Any:
        if (account, region) not in sessions:
            sessions[account, region] = session_for(account, region, role_name=role_name, ambient=ambient, stack=stack)
        return sessions[account, region].client(service, region_name=region)

    return clients


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GuardError(f"release_guard: {message} (see python -m release_guard --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m release_guard", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("stacks", nargs="*", metavar="STACK", help="stack to check (artifact id or stack name)")
    parser.add_argument("--all", action="store_true", help="check every stack of the assembly, in deploy order")
    parser.add_argument("--assembly", required=True, type=Path, help="the cloud assembly directory (cdk.out)")
    parser.add_argument("--image-tag", help="refuse unless the live service runs this image tag")
    parser.add_argument(
        "--ambient-credentials", action="store_true", help="use the ambient credentials instead of assuming a role"
    )
    parser.add_argument(
        "--role-name", default=DEFAULT_ROLE_NAME, help="role to assume in each account (default: %(default)s)"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, clients: ClientFactory | None = None) -> int:
    """Run the guard; returns the exit status. ``clients`` replaces the boto3 clients (tests)."""
    try:
        args = _parser().parse_args(argv)
        if args.image_tag is not None and not _IMAGE_TAG.fullmatch(args.image_tag):
            raise GuardError(
                f"--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got {args.image_tag!r}"
            )
        if bool(args.all) == bool(args.stacks):
            raise GuardError("release_guard: name the stacks to check, or --all (see python -m release_guard --help)")
        assembly = read_assembly(args.assembly)
        stacks = assembly.deploy_order() if args.all else [assembly.by_name(name) for name in args.stacks]
    except (GuardError, AssemblyError) as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    factory = clients or session_clients(role_name=args.role_name, ambient=args.ambient_credentials)
    status = EXIT_DEPLOY
    decisions: list[tuple[str, Deploy]] = []
    for stack in stacks:
        try:
            decision = guard_stack(stack, factory, args.image_tag)
        except (GuardError, AwsCallError) as error:
            print(error, file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        except Exception as error:  # a bug, or an answer the guard did not expect: still one line
            detail = " ".join(str(error).split())
            print(f"{stack.stack_name}: release_guard failed: {type(error).__name__}: {detail}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        print(decision.line, file=sys.stderr)
        if isinstance(decision, Deploy):
            decisions.append((stack.stack_name, decision))
        elif status == EXIT_DEPLOY:
            status = EXIT_REFUSED
    if status == EXIT_DEPLOY:
        for name, deploy in decisions:
            for key, value in sorted(deploy.parameters.items()):
                print("--parameters")
                print(f"{name}:{key}={value}")
    return status


if __name__ == "__main__":
    sys.exit(main())
