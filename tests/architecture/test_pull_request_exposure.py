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

The same chain, followed from *every* role a GitHub token can assume (any trust statement with
the provider as its federated principal, not only pull requests), reaches nothing in dev,
staging or prod but the template reader: GitHub Actions deploys nothing into a target account,
the pipeline does (issue 20).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import pytest

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


def admits_github(role: RoleInApp) -> bool:
    """Whether any GitHub token (any subject) can assume the role: a trust statement naming a federated provider."""
    return any(
        statement.get("Effect") == "Allow"
        and isinstance(statement.get("Principal"), dict)
        and "Federated" in statement["Principal"]
        for statement in _as_list(role.properties["AssumeRolePolicyDocument"]["Statement"])
    )


def reachable_from_github(roles: dict[str, RoleInApp]) -> tuple[set[str], dict[str, set[str]]]:
    """(the roles a GitHub token assumes directly, every role reached -> every ARN or pattern it may assume).

    Unlike :func:`assumable`, a target is what the role's own policies grant *or* its boundary allows,
    patterns included, so that a widened policy or a widened boundary each fail on their own.
    """
    entry = {arn for arn, role in roles.items() if admits_github(role)}
    edges: dict[str, set[str]] = {}
    todo = list(entry)
    while todo:
        arn = todo.pop()
        if arn in edges:
            continue
        role = roles[arn]
        edges[arn] = set(allowed_resources(role.statements, "sts:AssumeRole")) | set(
            allowed_resources(role.boundary or [], "sts:AssumeRole")
        )
        todo += [target for target in edges[arn] if target in roles]
    return entry, edges


def target_account_reach(edges: dict[str, set[str]], target_accounts: set[str], reader_name: str) -> list[str]:
    """Every ``caller -> target`` whose target may be a role of a target account other than its template reader.

    A pattern counts when it matches a role of a target account that is not the reader (``*``,
    ``arn:aws:iam::222222222222:role/*``, ``arn:aws:iam::*:role/cdk-*``).
    """
    found = []
    for caller, targets in edges.items():
        for target in targets:
            for account in target_accounts:
                reader = f"arn:aws:iam::{account}:role/{reader_name}"
                probes = (
                    f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-x",
                    f"arn:aws:iam::{account}:role/x",
                )
                if target == reader:
                    continue
                if target.split(":")[4:5] == [account] or any(fnmatchcase(probe, target) for probe in probes):
                    found.append(f"{caller} -> {target}")
    return sorted(set(found))


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


def test_no_github_role_reaches_a_role_of_dev_staging_or_prod_but_the_template_reader(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """Every chain from every GitHub role: in a target account only the template reader, which assumes nothing."""
    roles = roles_of(synthesized)
    entry, edges = reachable_from_github(roles)
    assert entry == {f"arn:aws:iam::{config.accounts.tools}:role/{role.name}" for role in config.oidc.roles}
    targets = set(config.accounts.targets)
    assert target_account_reach(edges, targets, "delivery-ref-template-reader") == []
    readers = {f"arn:aws:iam::{account}:role/delivery-ref-template-reader" for account in targets}
    reached = {target for callers in edges.values() for target in callers if target.split(":")[4] in targets}
    assert reached == readers, "the diff role reaches the template reader of each target account"
    assert all(edges[reader] == set() for reader in readers), "a template reader assumes nothing"
    # And in the tools account, nothing but its CDK deploy and file-publishing roles and its reader.
    tools = config.accounts.tools
    assert {t for callers in edges.values() for t in callers if t.split(":")[4] == tools} - set(roles) == {
        f"arn:aws:iam::{tools}:role/cdk-hnb659fds-{kind}-role-{tools}-{config.region}"
        for kind in ("deploy", "file-publishing")
    }


@pytest.mark.parametrize(
    ("granted", "flagged"),
    [
        ("arn:aws:iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-eu-west-1", True),
        ("arn:aws:iam::444444444444:role/cdk-hnb659fds-lookup-role-444444444444-eu-west-1", True),
        ("arn:aws:iam::333333333333:role/delivery-ref-cross-account-deploy", True),
        ("arn:aws:iam::222222222222:role/*", True),
        ("arn:aws:iam::*:role/cdk-*", True),
        ("*", True),
        ("arn:aws:iam::444444444444:role/delivery-ref-template-reader", False),
        ("arn:aws:iam::111111111111:role/cdk-hnb659fds-deploy-role-111111111111-eu-west-1", False),
    ],
)
def test_the_rule_flags_any_reach_into_a_target_account_but_the_reader(granted: str, flagged: bool) -> None:
    """The rule itself: a grant, exact or a pattern, to a role of dev, staging or prod other than the reader fails."""
    found = target_account_reach(
        {"arn:aws:iam::111111111111:role/github-deploy": {granted}},
        {"222222222222", "333333333333", "444444444444"},
        "delivery-ref-template-reader",
    )
    assert bool(found) is flagged, found


def test_the_rule_follows_the_boundary_as_well_as_the_policy() -> None:
    """A widened boundary is flagged even while the role's own policy is still narrow."""
    trust = {"Effect": "Allow", "Principal": {"Federated": "p"}, "Action": "sts:AssumeRoleWithWebIdentity"}
    role = RoleInApp(
        "S", "111111111111", "R", {"RoleName": "github-x", "AssumeRolePolicyDocument": {"Statement": [trust]}}
    )
    role.statements = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::111111111111:role/a"}]
    role.boundary = [{"Effect": "Allow", "Action": "sts:*", "Resource": "arn:aws:iam::333333333333:role/*"}]
    _, edges = reachable_from_github({role.arn: role})
    assert target_account_reach(edges, {"333333333333"}, "delivery-ref-template-reader") == [
        "arn:aws:iam::111111111111:role/github-x -> arn:aws:iam::333333333333:role/*"
    ]


def test_the_rule_flags_a_role_that_trusts_pull_requests_by_pattern() -> None:
    """The rule itself: a pattern that matches pull requests counts, a release-branch pattern does not."""

    def role(operator: str, subject: str) -> RoleInApp:
        trust = {"Effect": "Allow", "Principal": {"Federated": "p"}, "Condition": {operator: {GITHUB_SUB: subject}}}
        return RoleInApp("S", "1", "R", {"RoleName": "r", "AssumeRolePolicyDocument": {"Statement": [trust]}})

    assert admits_pull_requests(role("StringLike", "repo:example-org/delivery-reference:*"))
    assert admits_pull_requests(role("StringEquals", "repository_owner_id:1:repository_id:2:pull_request"))
    assert not admits_pull_requests(role("StringLike", "repo:example-org/delivery-reference:ref:refs/heads/r/*"))
    assert not admits_pull_requests(role("StringEquals", "repo:example-org/delivery-reference:environment:prod"))
