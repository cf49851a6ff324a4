"""The permissions boundary of the target accounts (bootstrap/permissions_boundary.py), against the synth.

The CloudFormation execution role of dev, staging and prod carries ``delivery-permissions-boundary``
(docs/deploy.md, "Bootstrap"), which denies it any role without that same boundary. So:

* every role of a target stack carries the boundary, in both committed configurations, or its
  deploy fails; the tools account, bootstrapped without it, has no role with it;
* every action a target role is granted, by its own policies or the AWS managed policies attached
  to it, is inside the boundary, or the role loses it at runtime: a boundary caps a role at the
  intersection of its policies and the boundary ("Permissions boundaries for IAM entities",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html);
* the boundary allows no service the target stacks do not use, and its Deny statements are the
  self-propagating ones, with the exact condition;
* the committed JSON is what the generator writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from bootstrap import permissions_boundary
from bootstrap.permissions_boundary import BOUNDARY_NAME, POLICY_FILE, SERVICES, policy_document, render
from config import Config, load_config
from tests.support import SynthesizedApp

CONFIGURATIONS = ["synthesized", "ecs_native"]
#: The project of both committed configurations, whose boundary the committed file is.
PROJECT = "delivery-ref"
ROOT = Path(__file__).resolve().parents[2]

#: What the AWS managed policies attached to target roles grant, from their default version in the AWS
#: Managed Policy Reference (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html).
#: A managed policy attached in a target stack and missing here fails the coverage test: add its
#: actions from that page.
AWS_MANAGED_POLICY_ACTIONS = {
    "AWSCodeDeployRoleForECS": (
        "ecs:DescribeServices",
        "ecs:CreateTaskSet",
        "ecs:UpdateServicePrimaryTaskSet",
        "ecs:DeleteTaskSet",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:ModifyRule",
        "lambda:InvokeFunction",
        "cloudwatch:DescribeAlarms",
        "sns:Publish",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "iam:PassRole",
    ),
    "service-role/AWSLambdaBasicExecutionRole": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
}
MANAGED_POLICY_NAME = re.compile(r":iam::aws:policy/([\w+=,.@/-]+)")

#: The IAM service prefix of each CloudFormation namespace the target stacks create resources in.
IAM_PREFIX_OF_NAMESPACE = {
    "ApplicationAutoScaling": "application-autoscaling",
    "CloudFormation": "cloudformation",
    "CloudWatch": "cloudwatch",
    "CodeDeploy": "codedeploy",
    "EC2": "ec2",
    "ECR": "ecr",
    "ECS": "ecs",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "Events": "events",
    "IAM": "iam",
    "KMS": "kms",
    "Lambda": "lambda",
    "Logs": "logs",
    "S3": "s3",
    "SecretsManager": "secretsmanager",
    "SNS": "sns",
    "SSM": "ssm",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def target_stacks(app: SynthesizedApp, config: Config) -> list[str]:
    names = [name for name in app.stack_names if app.stack(name).account != config.accounts.tools]
    assert len(names) == 3 * len(config.environments), names
    return names


def configuration(request: pytest.FixtureRequest, fixture: str) -> tuple[SynthesizedApp, Config]:
    app: SynthesizedApp = request.getfixturevalue(fixture)
    config: Config = request.getfixturevalue("config" if fixture == "synthesized" else "ecs_native_config")
    return app, config


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == resource_type}


#: (where, action, resources) of one Allow a role of a target stack is granted.
Grant = tuple[str, str, list[Any]]


def grants(template: dict[str, Any], stack: str) -> Iterator[Grant]:
    """Every action an identity policy of the template allows a role: inline, AWS::IAM::Policy, AWS managed."""
    documents: list[tuple[str, dict[str, Any]]] = []
    for logical, role in resources_of_type(template, "AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            documents.append((f"{stack}/{logical}", inline["PolicyDocument"]))
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            match = MANAGED_POLICY_NAME.search(json.dumps(arn))
            assert match, f"{stack}/{logical}: a customer managed policy {arn}: read its actions here too"
            name = match.group(1)
            assert name in AWS_MANAGED_POLICY_ACTIONS, (
                f"{stack}/{logical} attaches {name}: add its actions to AWS_MANAGED_POLICY_ACTIONS"
            )
            for action in AWS_MANAGED_POLICY_ACTIONS[name]:
                yield f"{stack}/{logical} ({name})", action, ["*"]
    for logical, policy in resources_of_type(template, "AWS::IAM::Policy").items():
        assert not policy["Properties"].get("Users") and not policy["Properties"].get("Groups"), logical
        documents.append((f"{stack}/{logical}", policy["Properties"]["PolicyDocument"]))
    for where, document in documents:
        for statement in _as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement, where
            for action in _as_list(statement["Action"]):
                yield where, action, _as_list(statement["Resource"])


def _matches(pattern: str, value: str) -> bool:
    return fnmatchcase(value.lower(), pattern.lower())


def _covers(patterns: list[Any], resources: list[Any]) -> bool:
    """True if the statement's resources hold every granted one (one the test cannot read only under ``*``).

    A grant on ``*`` (an AWS managed policy's iam:PassRole, for one) is capped to the statement's
    resources, which is the boundary's point: what the role then passes must be one of the roles the
    target stacks create, which :func:`test_every_role_a_target_stack_names_is_one_the_boundary_lets_it_change`
    and the generated names' pattern hold.
    """
    return (
        "*" in patterns
        or resources == ["*"]
        or all(
            isinstance(resource, str) and any(_matches(pattern, resource) for pattern in patterns)
            for resource in resources
        )
    )


def why_outside_the_boundary(action: str, resources: list[Any]) -> str | None:
    """None if the boundary allows ``action`` on ``resources``; otherwise which statement stops it."""
    statements = policy_document(PROJECT)["Statement"]
    naming = [
        statement
        for statement in statements
        if statement["Effect"] == "Allow"
        and any(_matches(pattern, action) for pattern in _as_list(statement["Action"]))
    ]
    if not naming:
        return "no Allow of the boundary names it"
    for deny in (statement for statement in statements if statement["Effect"] == "Deny"):
        if not any(_matches(pattern, action) for pattern in _as_list(deny["Action"])):
            continue
        denied = _as_list(deny["Resource"])
        # A granted resource the test cannot read (an intrinsic) counts as one the Deny may cover.
        if "*" in denied or any(
            not isinstance(resource, str) or any(_matches(pattern, resource) for pattern in denied)
            for resource in resources
        ):
            return f"the boundary's {deny['Sid']} denies it"
    if not any(_covers(_as_list(statement["Resource"]), resources) for statement in naming):
        return "no Allow of the boundary covers its resources"
    return None


# -- every role of a target stack carries the boundary ---------------------------------------------


@pytest.mark.parametrize("fixture", CONFIGURATIONS)
def test_every_role_of_a_target_stack_carries_the_boundary(request: pytest.FixtureRequest, fixture: str) -> None:
    """CDK-made roles included (custom-resource providers): the execution role may create no other."""
    app, config = configuration(request, fixture)
    counted = 0
    for name in target_stacks(app, config):
        template = app.raw_template(name)
        expected = f"arn:aws:iam::{app.stack(name).account}:policy/{BOUNDARY_NAME}"
        assert not resources_of_type(template, "AWS::IAM::User"), f"{name}: the boundary denies iam:CreateUser"
        for logical, role in resources_of_type(template, "AWS::IAM::Role").items():
            assert role["Properties"].get("PermissionsBoundary") == expected, f"{name}/{logical}"
            counted += 1
    assert counted >= 9 * len(config.environments), counted


@pytest.mark.parametrize("fixture", CONFIGURATIONS)
def test_no_role_of_the_tools_account_carries_it(request: pytest.FixtureRequest, fixture: str) -> None:
    """The tools account is bootstrapped without the boundary: no policy of that name exists there."""
    app, config = configuration(request, fixture)
    tools = [name for name in app.stack_names if app.stack(name).account == config.accounts.tools]
    roles = [
        (name, logical, role)
        for name in tools
        for logical, role in resources_of_type(app.raw_template(name), "AWS::IAM::Role").items()
    ]
    assert roles
    for name, logical, role in roles:
        assert BOUNDARY_NAME not in json.dumps(role["Properties"].get("PermissionsBoundary")), f"{name}/{logical}"


# -- nothing a target role is granted falls outside the boundary -----------------------------------


@pytest.mark.parametrize("fixture", CONFIGURATIONS)
def test_the_boundary_allows_every_action_the_target_roles_are_granted(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    """Else a role would lose a permission at runtime that its policy seems to give it."""
    app, config = configuration(request, fixture)
    found = [grant for name in target_stacks(app, config) for grant in grants(app.raw_template(name), name)]
    assert len(found) > 50, len(found)
    outside = [
        f"{where}: {action}: {why}"
        for where, action, resources in found
        if (why := why_outside_the_boundary(action, resources))
    ]
    assert outside == []


@pytest.mark.parametrize(
    ("action", "resources", "expected"),
    [
        ("ecs:UpdateService", ["*"], None),
        ("logs:PutLogEvents", ["*"], None),
        ("iam:PassRole", ["arn:aws:iam::222222222222:role/delivery-ref-web-task"], None),
        ("dynamodb:GetItem", ["*"], "no Allow of the boundary names it"),
        ("iam:CreateUser", ["*"], "no Allow of the boundary names it"),
        ("iam:*", ["*"], "no Allow of the boundary names it"),
        (
            "iam:PassRole",
            ["arn:aws:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1"],
            "the boundary's NoTakeOverOfTheAdministrationRoles denies it",
        ),
        (
            "iam:PassRole",
            [{"Fn::GetAtt": ["Role", "Arn"]}],
            "the boundary's NoTakeOverOfTheAdministrationRoles denies it",
        ),
        ("iam:TagRole", [{"Fn::GetAtt": ["Role", "Arn"]}], "no Allow of the boundary covers its resources"),
        ("iam:PassRole", ["arn:aws:iam::222222222222:role/Dev-Service-HookRole-1A2B3C"], None),
        (
            "iam:PassRole",
            ["arn:aws:iam::222222222222:role/break-glass-admin"],
            "no Allow of the boundary covers its resources",
        ),
        (
            "iam:UpdateAssumeRolePolicy",
            ["arn:aws:iam::222222222222:role/break-glass-admin"],
            "no Allow of the boundary covers its resources",
        ),
        (
            "iam:PassRole",
            [
                "arn:aws:iam::222222222222:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_ECSService"
            ],
            None,
        ),
        ("iam:GetRole", ["arn:aws:iam::222222222222:role/break-glass-admin"], None),
        ("iam:PutRolePolicy", ["*"], "the boundary's RolesOnlyWithThisBoundary denies it"),
    ],
)
def test_the_coverage_check_tells_a_grant_outside_the_boundary(
    action: str, resources: list[Any], expected: str | None
) -> None:
    assert why_outside_the_boundary(action, resources) == expected


def test_an_aws_managed_policy_the_test_does_not_know_fails_with_its_name() -> None:
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
            }
        }
    }
    with pytest.raises(AssertionError, match="attaches AdministratorAccess: add its actions"):
        list(grants(template, "Dev-Service"))


def services_used(app: SynthesizedApp, config: Config) -> set[str]:
    """The services of the resources the target stacks create and of what their roles are granted."""
    used: set[str] = set()
    for name in target_stacks(app, config):
        template = app.raw_template(name)
        for resource in template["Resources"].values():
            kind = resource["Type"]
            if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
                used.add("lambda")  # CloudFormation invokes the provider function as the execution role
            else:
                namespace = kind.split("::")[1]
                assert namespace in IAM_PREFIX_OF_NAMESPACE, f"{name}: {kind}: add its IAM prefix to this test"
                used.add(IAM_PREFIX_OF_NAMESPACE[namespace])
        used.update(action.split(":")[0] for _, action, _ in grants(template, name))
    return used - {"iam", "sts"}


def test_the_boundary_allows_exactly_the_services_the_target_stacks_use(
    synthesized: SynthesizedApp, config: Config, ecs_native: SynthesizedApp, ecs_native_config: Config
) -> None:
    """One boundary for both committed designs: CodeDeploy is the sandbox's only, and stays allowed."""
    sandbox, native = services_used(synthesized, config), services_used(ecs_native, ecs_native_config)
    assert "codedeploy" in sandbox - native
    assert set(SERVICES) == sandbox | native


# -- the boundary itself ---------------------------------------------------------------------------


def statements() -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy_document(PROJECT)["Statement"]}


def test_roles_are_changed_and_passed_only_where_the_target_stacks_create_them() -> None:
    """Not an existing role of the account: passing or rewriting one would escape the boundary."""
    allowed = statements()["ChangeAndPassOnlyTheProjectsRoles"]
    assert allowed["Effect"] == "Allow" and "Condition" not in allowed
    assert "iam:PassRole" in allowed["Action"] and "iam:UpdateAssumeRolePolicy" in allowed["Action"]
    assert allowed["Resource"] == [
        "arn:aws:iam::*:role/delivery-ref-*",
        "arn:aws:iam::*:role/Dev-*",
        "arn:aws:iam::*:role/Staging-*",
        "arn:aws:iam::*:role/Prod-*",
    ]
    linked = statements()["ServiceLinkedRoles"]
    assert (linked["Action"], linked["Resource"]) == (
        ["iam:CreateServiceLinkedRole", "iam:PassRole"],
        "arn:aws:iam::*:role/aws-service-role/*",
    )
    on_every_role = [
        action
        for statement in statements().values()
        if statement["Effect"] == "Allow" and statement["Resource"] in ("*", "arn:aws:iam::*:role/*")
        for action in _as_list(statement["Action"])
        if action.startswith("iam:")
    ]
    assert on_every_role and all(action.split(":")[1].startswith(("Get", "List")) for action in on_every_role)


@pytest.mark.parametrize("fixture", CONFIGURATIONS)
def test_every_role_a_target_stack_names_is_one_the_boundary_lets_it_change(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    """A named role outside the patterns would fail to create: the pattern must follow the naming."""
    app, config = configuration(request, fixture)
    named = [
        role["Properties"]["RoleName"]
        for name in target_stacks(app, config)
        for role in resources_of_type(app.raw_template(name), "AWS::IAM::Role").values()
        if "RoleName" in role["Properties"]
    ]
    assert named
    patterns = statements()["ChangeAndPassOnlyTheProjectsRoles"]["Resource"]
    assert [n for n in named if not any(_matches(p, f"arn:aws:iam::*:role/{n}") for p in patterns)] == []
    assert all(name.split("-")[0] in {"Dev", "Staging", "Prod"} for name in target_stacks(app, config))


def test_a_role_may_be_created_or_changed_only_with_this_same_boundary() -> None:
    """The self-propagating Deny: iam:PermissionsBoundary is the boundary of the role in the request."""
    deny = statements()["RolesOnlyWithThisBoundary"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
    assert sorted(deny["Action"]) == [
        "iam:AttachRolePolicy",
        "iam:CreateRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
    ]
    assert deny["Condition"] == {
        "StringNotEquals": {
            "iam:PermissionsBoundary": "arn:aws:iam::${aws:PrincipalAccount}:policy/delivery-permissions-boundary"
        }
    }


@pytest.mark.parametrize(
    ("sid", "actions", "resources"),
    [
        (
            "NoChangeToThisBoundary",
            ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            ["arn:aws:iam::*:policy/delivery-permissions-boundary"],
        ),
        ("NoBoundaryRemoved", ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"], ["*"]),
        ("NoUsersOrKeys", ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser"], ["*"]),
        (
            "NoTakeOverOfTheAdministrationRoles",
            ["iam:DeleteRole", "iam:PassRole", "iam:UpdateAssumeRolePolicy"],
            [
                "arn:aws:iam::*:role/cdk-*",
                "arn:aws:iam::*:role/OrganizationAccountAccessRole",
                "arn:aws:iam::*:role/AWSControlTowerExecution",
            ],
        ),
    ],
)
def test_the_unconditional_denies(sid: str, actions: list[str], resources: list[str]) -> None:
    deny = statements()[sid]
    assert deny["Effect"] == "Deny" and "Condition" not in deny
    assert sorted(_as_list(deny["Action"])) == actions
    assert sorted(_as_list(deny["Resource"])) == sorted(resources)


def test_iam_is_allowed_for_roles_only_and_never_whole() -> None:
    allowed = [
        action
        for statement in policy_document(PROJECT)["Statement"]
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    ]
    iam = [action for action in allowed if action.startswith("iam:")]
    assert iam and all("Role" in action and "*" not in action for action in iam), iam
    assert "*" not in allowed and not any(
        action.startswith("sts:") and action != "sts:GetCallerIdentity" for action in allowed
    )


def test_the_policy_fits_the_managed_policy_size_quota() -> None:
    """6,144 characters without white space (IAM quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    assert len(re.sub(r"\s", "", POLICY_FILE.read_text())) <= 6144


@pytest.mark.parametrize("config_file", sorted(path.name for path in (ROOT / "config").glob("*.toml")))
def test_the_committed_policy_is_what_the_generator_writes_for_every_committed_configuration(config_file: str) -> None:
    project = load_config(ROOT / "config" / config_file).project
    assert POLICY_FILE.read_text() == render(project), (
        f"stale for config/{config_file}: run python -m bootstrap.permissions_boundary --config config/{config_file}"
    )


def test_the_generator_writes_the_file_and_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "boundary.json"
    assert permissions_boundary.main(["--output", str(output)]) == 0
    assert json.loads(output.read_text()) == policy_document(PROJECT)
    assert capsys.readouterr().out == f"wrote {output}: the {BOUNDARY_NAME} policy of {PROJECT}\n"


def test_an_unwritable_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "missing" / "boundary.json"
    assert permissions_boundary.main(["--output", str(output)]) == 2
    assert capsys.readouterr().err == f"{output}: cannot write the boundary policy: No such file or directory\n"


def test_a_missing_configuration_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "boundary.json"
    missing = tmp_path / "nope.toml"
    assert permissions_boundary.main(["--config", str(missing), "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err
    assert not output.exists()
