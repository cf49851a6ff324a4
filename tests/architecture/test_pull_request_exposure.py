"""No identity reachable from a pull request reads more than the project's templates.

A ``pull_request`` workflow runs the workflow file of the pull request's branch, so whoever can
push a branch decides what a job holding the pull-request token does. The rule, over every
synthesized template:

1. the roles whose trust policy admits a GitHub token with a ``pull_request`` subject;
2. what each of them may assume (``sts:AssumeRole`` allowed by its policies *and* its
   permissions boundary), followed to the end: every such role must be a role of this app
   whose trust policy names the role that assumes it, so nothing outside the app (a CDK
   bootstrap role, the lookup role's ReadOnlyAccess) is reachable;
3. every role reached that way may only read the templates and stack metadata of the
   project's stacks in its own account, and the CDK bootstrap version the CLI checks first.

And ``cdk diff --method=template`` still works for every stack: the cloud assembly names the
template reader of the stack's account as its lookup role, and that reader reads the stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from config import Config
from tests.support import SynthesizedApp

GITHUB_SUB = "token.actions.githubusercontent.com:sub"
#: The repository part of a subject: the default form or the customized template of ids.
REPOSITORY_PART = re.compile(r"^(repo:[^:]+|repository_owner_id:\d+:repository_id:\d+)")
#: Everything a role reached from a pull request may do, besides nothing.
TEMPLATE_READS = {"cloudformation:DescribeStacks", "cloudformation:GetTemplate"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass
class RoleInApp:
    stack: str
    account: str
    logical_id: str
    properties: dict[str, Any]
    #: Identity-policy statements: the role's own, and any AWS::IAM::Policy/ManagedPolicy attached to it.
    statements: list[dict[str, Any]] = field(default_factory=list)
    boundary: list[dict[str, Any]] | None = None
    attached_managed: list[Any] = field(default_factory=list)

    @property
    def arn(self) -> str:
        """Its ARN; a role without a name can only be named by reference, so its logical id stands in."""
        name = self.properties.get("RoleName", f"<{self.stack}/{self.logical_id}>")
        return f"arn:aws:iam::{self.account}:role/{name}"


def roles_of(synthesized: SynthesizedApp) -> dict[str, RoleInApp]:
    """Every IAM role of the app by ARN, with every policy that grants it something."""
    roles: dict[str, RoleInApp] = {}
    for name in synthesized.stack_names:
        resources = synthesized.raw_template(name)["Resources"]
        account = synthesized.stack(name).account
        local: dict[str, RoleInApp] = {}
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                role = RoleInApp(name, account, logical_id, resource["Properties"])
                for policy in role.properties.get("Policies", []):
                    role.statements += _as_list(policy["PolicyDocument"]["Statement"])
                role.attached_managed += _as_list(role.properties.get("ManagedPolicyArns", []))
                local[logical_id] = role
        for resource in resources.values():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                for target in resource["Properties"].get("Roles", []):
                    if isinstance(target, dict) and target.get("Ref") in local:
                        local[target["Ref"]].statements += _as_list(
                            resource["Properties"]["PolicyDocument"]["Statement"]
                        )
        for role in local.values():
            boundary = role.properties.get("PermissionsBoundary")
            if isinstance(boundary, dict) and "Ref" in boundary:
                document = resources[boundary["Ref"]]["Properties"]["PolicyDocument"]
                role.boundary = _as_list(document["Statement"])
            roles[role.arn] = role
    return roles


def admits_pull_requests(role: RoleInApp) -> bool:
    """Whether a GitHub token with a pull_request subject passes one of the role's trust statements."""
    for statement in _as_list(role.properties["AssumeRolePolicyDocument"]["Statement"]):
        principal = statement.get("Principal", {})
        if statement.get("Effect") != "Allow" or not (isinstance(principal, dict) and "Federated" in principal):
            continue
        subjects = {
            (operator, str(value))
            for operator, conditions in statement.get("Condition", {}).items()
            for key, values in conditions.items()
            if key == GITHUB_SUB
            for value in _as_list(values)
        }
        if not subjects:
            return True  # no subject condition at all: every workflow of every repository
        for operator, subject in subjects:
            repository = REPOSITORY_PART.match(subject)
            pull_request = f"{repository.group(1) if repository else ''}:pull_request"
            if (operator == "StringEquals" and subject.endswith(":pull_request")) or (
                operator == "StringLike" and fnmatchcase(pull_request, subject)
            ):
                return True
    return False


def allowed_resources(statements: list[dict[str, Any]], action: str) -> list[str]:
    return [
        str(resource)
        for statement in statements
        if statement.get("Effect") == "Allow"
        and any(fnmatchcase(action, str(a)) for a in _as_list(statement.get("Action", [])))
        for resource in _as_list(statement.get("Resource", []))
    ]


def assumable(role: RoleInApp) -> set[str]:
    """The role ARNs it may assume: allowed by its policies, and by its boundary if it has one."""
    granted = set(allowed_resources(role.statements, "sts:AssumeRole"))
    if role.boundary is not None:
        capped = allowed_resources(role.boundary, "sts:AssumeRole")
        granted = {arn for arn in granted if any(fnmatchcase(arn, pattern) for pattern in capped)}
    return granted


def trusts(target: RoleInApp, caller: RoleInApp) -> bool:
    for statement in _as_list(target.properties["AssumeRolePolicyDocument"]["Statement"]):
        principal = statement.get("Principal", {})
        if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
            continue
        for entry in _as_list(principal.get("AWS", [])):
            if entry == caller.arn or (
                isinstance(entry, dict) and entry.get("Fn::GetAtt") == [caller.logical_id, "Arn"]
            ):
                return True
    return False


def reachable_from_pull_requests(roles: dict[str, RoleInApp]) -> tuple[set[str], dict[str, set[str]]]:
    """(the roles a pull-request token assumes directly, every role -> what it may assume)."""
    entry = {arn for arn, role in roles.items() if admits_pull_requests(role)}
    edges: dict[str, set[str]] = {}
    todo = list(entry)
    while todo:
        arn = todo.pop()
        if arn in edges:
            continue
        edges[arn] = assumable(roles[arn])
        todo += [target for target in edges[arn] if target in roles]
    return entry, edges


def project_stack_arns(synthesized: SynthesizedApp, account: str, region: str) -> set[str]:
    return {
        f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"
        for name in synthesized.stack_names
        if synthesized.stack(name).account == account
    }


def test_only_the_diff_role_accepts_a_pull_request_token(synthesized: SynthesizedApp) -> None:
    entry, _ = reachable_from_pull_requests(roles_of(synthesized))
    assert entry == {"arn:aws:iam::111111111111:role/github-diff"}


def test_what_every_pull_request_role_can_assume_is_the_template_reader_of_each_account(
    synthesized: SynthesizedApp, config: Config
) -> None:
    roles = roles_of(synthesized)
    _, edges = reachable_from_pull_requests(roles)
    readers = {f"arn:aws:iam::{account}:role/delivery-ref-template-reader" for account in config.accounts.all}
    assert edges == {"arn:aws:iam::111111111111:role/github-diff": readers, **{reader: set() for reader in readers}}
    for caller, targets in edges.items():
        for target in targets:
            assert target in roles, f"{caller} may assume {target}, which this app does not create or limit"
            assert trusts(roles[target], roles[caller]), f"{target} does not trust {caller}"


def test_no_role_reached_from_a_pull_request_can_assume_a_cdk_bootstrap_role(synthesized: SynthesizedApp) -> None:
    roles = roles_of(synthesized)
    _, edges = reachable_from_pull_requests(roles)
    for caller, targets in edges.items():
        assert not [t for t in targets if ":role/cdk-" in t], f"{caller} reaches a CDK bootstrap role"
        # No wildcard either: a pattern could match the lookup role's name.
        assert not [t for t in allowed_resources(roles[caller].statements, "sts:AssumeRole") if "*" in t]


def test_roles_reached_from_a_pull_request_read_only_the_projects_templates_in_their_account(
    synthesized: SynthesizedApp, config: Config
) -> None:
    roles = roles_of(synthesized)
    _, edges = reachable_from_pull_requests(roles)
    readers = [roles[arn] for arn in edges if arn.endswith(":role/delivery-ref-template-reader")]
    assert len(readers) == 4
    for arn in edges:
        role = roles[arn]
        assert not role.attached_managed, f"{arn}: no managed policy"
        if role not in readers:
            # The diff role itself: sts:AssumeRole, nothing else.
            assert {a for s in role.statements for a in _as_list(s["Action"])} == {"sts:AssumeRole"}
            continue
        stacks = project_stack_arns(synthesized, role.account, config.region)
        parameter = f"arn:aws:ssm:{config.region}:{role.account}:parameter/cdk-bootstrap/hnb659fds/version"
        for statement in role.statements:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            actions, resources = set(_as_list(statement["Action"])), set(_as_list(statement["Resource"]))
            if actions == {"ssm:GetParameter"}:
                assert resources == {parameter}
            else:
                assert actions == TEMPLATE_READS, f"{arn}: {actions}"
                assert resources == stacks, f"{arn}: the project's stacks of account {role.account}, no other"


def test_cdk_diff_reads_every_stack_through_the_template_reader_of_its_account(synthesized: SynthesizedApp) -> None:
    """The CLI reads a deployed template through the lookup role the cloud assembly names."""
    roles = roles_of(synthesized)
    for artifact in synthesized.assembly.stacks:
        lookup = artifact.lookup_role
        assert lookup is not None, artifact.stack_name
        account = synthesized.stack(artifact.stack_name).account
        assert lookup.arn == f"arn:${{AWS::Partition}}:iam::{account}:role/delivery-ref-template-reader"
        reader = roles[f"arn:aws:iam::{account}:role/delivery-ref-template-reader"]
        readable = set(allowed_resources(reader.statements, "cloudformation:GetTemplate"))
        assert any(fnmatchcase(f"{arn}", pattern) for pattern in readable for arn in [stack_arn(artifact)])
        assert lookup.bootstrap_stack_version_ssm_parameter == "/cdk-bootstrap/hnb659fds/version"


def stack_arn(artifact: Any) -> str:
    env = artifact.environment
    return f"arn:aws:cloudformation:{env.region}:{env.account}:stack/{artifact.stack_name}/0f1e2d3c-stack-id"


def test_the_rule_flags_a_role_that_trusts_pull_requests_by_pattern() -> None:
    """The rule itself: a pattern that matches pull requests counts, a release-branch pattern does not."""

    def role(operator: str, subject: str) -> RoleInApp:
        trust = {"Effect": "Allow", "Principal": {"Federated": "p"}, "Condition": {operator: {GITHUB_SUB: subject}}}
        return RoleInApp("S", "1", "R", {"RoleName": "r", "AssumeRolePolicyDocument": {"Statement": [trust]}})

    assert admits_pull_requests(role("StringLike", "repo:example-org/delivery-reference:*"))
    assert admits_pull_requests(role("StringEquals", "repository_owner_id:1:repository_id:2:pull_request"))
    assert not admits_pull_requests(role("StringLike", "repo:example-org/delivery-reference:ref:refs/heads/r/*"))
    assert not admits_pull_requests(role("StringEquals", "repo:example-org/delivery-reference:environment:prod"))
