"""The permissions boundary of the target accounts: what a deploy there may create, at most.

``python -m bootstrap.permissions_boundary`` writes ``bootstrap/permissions-boundary.json``, the
policy docs/deploy.md ("Bootstrap") creates as ``delivery-permissions-boundary`` in the dev, staging
and prod accounts before ``cdk bootstrap --custom-permissions-boundary`` puts it on the account's
CloudFormation execution role. tests/architecture/test_permissions_boundary.py fails while the
committed file differs from what this module writes, and proves that every role of a target stack
carries the boundary and is granted nothing outside it.

Why. The pipeline in the tools account deploys into dev, staging and prod through the CDK bootstrap
roles it is trusted with (``--trust``). CloudFormation runs those deploys as the execution role, whose
policy (``delivery-cfn-exec``) may create roles and attach any policy to them: AdministratorAccess
included. A boundary caps what a role can do at the intersection of its policies and the boundary,
and an explicit Deny in the boundary wins over any Allow ("Permissions boundaries for IAM entities",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).

How it holds. This is the self-propagating pattern of that page ("Delegating responsibility to others
using permissions boundaries") and of the example boundary in the CDK bootstrap template
(``CdkBoostrapPermissionsBoundaryPolicy``, node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml):

* the execution role may create a role, or change a role's policies, only when that role carries this
  same boundary: the ``iam:PermissionsBoundary`` condition key is the boundary ARN of the role in the
  request (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PermissionsBoundary).
  So every role a deploy creates is bounded too, and so is whatever that role creates in turn. The
  stacks ask for it with ``PermissionsBoundary.from_name`` (stacks/project_stack.py), which is CDK's
  ``@aws-cdk/core:permissionsBoundary`` context: every role CDK synthesizes in the stack carries it
  (https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk/PermissionsBoundary.html);
* nobody bounded may edit or delete this policy, remove a boundary, create a user, an access key or a
  console password, or take over the roles that administer the account (the CDK bootstrap roles,
  ``OrganizationAccountAccessRole``, ``AWSControlTowerExecution``);
* the Allow covers whole only the services the target stacks use, and IAM only for roles: it may
  read any role, but create, change, delete or pass only the roles the project's target stacks
  create (their names start with the project's or the stack's name) and service-linked roles. An
  existing role of the account, however broad, cannot be handed to a function or rewritten.

The file is written for one project (``--config``, the sandbox's by default); both committed
configurations share it. A copy with another ``project`` writes its own.

The ARNs are the ``aws`` partition's: the configuration accepts only its regions (config/settings.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from config import DEFAULT_CONFIG_PATH, TARGET_ENVIRONMENTS, ConfigError, load_config

#: The policy's name in every target account. The stacks (stacks/project_stack.py), docs/deploy.md's
#: bootstrap commands (tests/tooling/test_bootstrap_doc.py) and the rehearsal use this one name.
BOUNDARY_NAME = "delivery-permissions-boundary"

#: The committed policy document, next to this module.
POLICY_FILE = Path(__file__).resolve().with_name("permissions-boundary.json")

#: The boundary's own ARN, in the account of whoever is asking (a policy variable, resolved by IAM).
BOUNDARY_ARN = f"arn:aws:iam::${{aws:PrincipalAccount}}:policy/{BOUNDARY_NAME}"

#: The services the target-account stacks create resources in, or that their roles call at runtime,
#: allowed whole. tests/architecture/test_permissions_boundary.py derives the same set from the
#: synthesized templates of both committed configurations: a service missing here, or one no
#: target stack uses any more, fails it.
SERVICES = {
    "application-autoscaling": "the service's scalable target",
    "cloudformation": "the LiveTraffic reader reads its stack, the template reader the project's templates",
    "cloudwatch": "alarms; CodeDeploy and the release hook read them",
    "codedeploy": "the CodeDeploy application and deployment group; the deploy role releases through it",
    "ec2": "VPC, subnets, endpoints, security groups, flow logs; ENIs of the functions in the VPC",
    "ecr": "the execution role pulls the image from the tools account's repository",
    "ecs": "cluster, task definition, service",
    "elasticloadbalancing": "load balancer, listeners, target groups, rules",
    "events": "the EventBridge rules of the service stack",
    "kms": "the stacks' keys; the deploy role decrypts the release artifacts",
    "lambda": "the custom-resource and hook functions",
    "logs": "log groups; every function and task writes to one",
    "s3": "the access-log bucket; the deploy role reads the release artifacts",
    "secretsmanager": "the service's secret, injected into the task",
    "sns": "the alarm topic",
    "ssm": "the template reader reads the CDK bootstrap version parameter",
}

#: IAM, for roles only. Reading any role: CloudFormation reads the roles a template names.
READ_ROLE_ACTIONS = (
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
)

#: What CloudFormation calls to create, update and delete AWS::IAM::Role and AWS::IAM::Policy, and
#: what hands a role to a service (iam:PassRole): only on the roles the target stacks create
#: (:func:`project_roles`). On any other role of the account they would let a deploy take it over:
#: pass an existing broad role to a function it creates, or rewrite its trust policy, and use its
#: permissions, which no boundary caps ("Grant a user permissions to pass a role to an AWS service",
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html; "you must also
#: prevent IAM entities from escaping the boundary you set",
#: https://docs.aws.amazon.com/cdk/v2/guide/customize-permissions-boundaries.html).
CHANGE_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)

#: Service-linked roles (the ECS and Application Auto Scaling ones the service's scalable target
#: names): created by the service on first use, and only passable to the service they link to
#: ("Using service-linked roles", https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html).
SERVICE_LINKED_ROLES = "arn:aws:iam::*:role/aws-service-role/*"

#: Allowed only on a role that carries this boundary (for CreateRole: the role being created).
BOUNDED_ROLE_CHANGES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)

#: The roles that administer an account: the CDK bootstrap roles (the pipeline's way in), the role
#: AWS Organizations creates in a member account and the one AWS Control Tower uses.
PROTECTED_ROLES = ("cdk-*", "OrganizationAccountAccessRole", "AWSControlTowerExecution")


def project_roles(project: str) -> list[str]:
    """The ARN patterns of the roles the target stacks create, in any account.

    Named roles start with the project's name (components/naming.py: ``<project>-web-task``, ...);
    CloudFormation generates a physical ID that starts with the stack's name for the others
    ("stack123123123123-s3bucket-abcdefghijk1", "Name type",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html; it
    shortens a long stack name, which ``<Env>-DeployRole``, ``<Env>-Network`` and ``<Env>-Service``,
    stacks/names.py, are not). tests/architecture/test_permissions_boundary.py holds the named ones
    to the pattern.
    """
    return [f"arn:aws:iam::*:role/{project}-*"] + [
        f"arn:aws:iam::*:role/{environment.capitalize()}-*" for environment in TARGET_ENVIRONMENTS
    ]


def policy_document(project: str) -> dict[str, Any]:
    """The boundary of ``project``'s target accounts, statement by statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheServicesOfTheTargetStacks",
                "Effect": "Allow",
                "Action": [f"{service}:*" for service in sorted(SERVICES)],
                "Resource": "*",
            },
            {
                "Sid": "ReadRoles",
                "Effect": "Allow",
                "Action": list(READ_ROLE_ACTIONS),
                "Resource": "arn:aws:iam::*:role/*",
            },
            {
                "Sid": "ChangeAndPassOnlyTheProjectsRoles",
                "Effect": "Allow",
                "Action": list(CHANGE_ROLE_ACTIONS),
                "Resource": project_roles(project),
            },
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole", "iam:PassRole"],
                "Resource": SERVICE_LINKED_ROLES,
            },
            {"Sid": "WhoAmI", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
            {
                "Sid": "RolesOnlyWithThisBoundary",
                "Effect": "Deny",
                "Action": list(BOUNDED_ROLE_CHANGES),
                "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
            },
            {
                "Sid": "NoChangeToThisBoundary",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                ],
                "Resource": f"arn:aws:iam::*:policy/{BOUNDARY_NAME}",
            },
            {
                "Sid": "NoBoundaryRemoved",
                "Effect": "Deny",
                "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
                "Resource": "*",
            },
            {
                "Sid": "NoUsersOrKeys",
                "Effect": "Deny",
                "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser"],
                "Resource": "*",
            },
            {
                "Sid": "NoTakeOverOfTheAdministrationRoles",
                "Effect": "Deny",
                "Action": ["iam:DeleteRole", "iam:PassRole", "iam:UpdateAssumeRolePolicy"],
                "Resource": [f"arn:aws:iam::*:role/{role}" for role in PROTECTED_ROLES],
            },
        ],
    }


def render(project: str) -> str:
    """The file's text: stable key order and indentation, so that a stale file shows as a diff."""
    return json.dumps(policy_document(project), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bootstrap.permissions_boundary",
        description=f"Write {POLICY_FILE.name}, the {BOUNDARY_NAME} policy of the target accounts.",
    )
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG_PATH, help="the configuration whose project it is (default: %(default)s)"
    )
    parser.add_argument("--output", type=Path, default=POLICY_FILE, help="where to write it (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        project = load_config(args.config).project
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        args.output.write_text(render(project))
    except OSError as error:
        print(f"{args.output}: cannot write the boundary policy: {error.strerror}", file=sys.stderr)
        return 2
    shown = args.output.relative_to(Path.cwd()) if args.output.is_relative_to(Path.cwd()) else args.output
    print(f"wrote {shown}: the {BOUNDARY_NAME} policy of {project}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
