"""No policy in any stack allows every action, and no policy trusts every principal.

Every policy document of every template is read, wherever it sits: identity policies (inline,
managed, a role's ``Policies``), trust policies (``AssumeRolePolicyDocument``) and resource
policies (KMS key policies, bucket, topic, queue and ECR repository policies).

* An ``Allow`` with ``Action: "*"`` (alone or in a list) or with ``NotAction`` fails, whatever
  its Condition: such a statement grants actions nobody reviewed.
* An ``Allow`` to a wildcard principal (``"*"``, ``{"AWS": "*"}``, ``"*"`` in a list) fails
  unless its Condition narrows the caller to known accounts, organizations, sources or
  endpoints (:data:`CALLER_CONDITION_KEYS`). A condition on anything else, such as
  ``aws:SecureTransport``, still lets any AWS account in.
* ``Deny`` statements are not findings: a wildcard principal is how a bucket refuses plain HTTP.
* VPC endpoint policies (``AWS::EC2::VPCEndpoint``) are not trust policies: they only filter what
  passes through the endpoint and grant nothing, so their principal is not checked; their
  actions are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import SynthesizedApp

#: Condition keys that limit who the caller is or where the request comes from.
CALLER_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "kms:CallerAccount",
    )
)
#: Resource types whose policy principal grants nothing (see the module docstring).
PRINCIPAL_NOT_CHECKED = frozenset({"AWS::EC2::VPCEndpoint"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document (a mapping with a ``Statement``) inside a resource's properties."""
    if isinstance(value, dict):
        if "Statement" in value:
            yield path, value
            return
        for key, child in value.items():
            yield from policy_documents(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from policy_documents(child, f"{path}[{index}]")


def _wildcard_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _as_list(value) for value in principal.values())
    return False


def _constrains_caller(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    return any(
        isinstance(keys, dict) and any(str(key).lower() in CALLER_CONDITION_KEYS for key in keys)
        for keys in condition.values()
    )


def statement_findings(statement: dict[str, Any], *, check_principal: bool = True) -> list[str]:
    """Why one statement is too wide; empty when it is acceptable."""
    if statement.get("Effect") != "Allow":
        return []
    findings = []
    if "*" in _as_list(statement.get("Action", [])):
        findings.append('allows Action "*"')
    if "NotAction" in statement:
        findings.append("allows NotAction (every action but the listed ones)")
    if (
        check_principal
        and _wildcard_principal(statement.get("Principal"))
        and not _constrains_caller(statement.get("Condition"))
    ):
        findings.append("trusts a wildcard principal with no condition on the caller")
    return findings


def template_findings(template: dict[str, Any]) -> list[str]:
    """Every too-wide statement of a template, as '<logical id>.<path> [sid]: <finding>'."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        check_principal = resource.get("Type") not in PRINCIPAL_NOT_CHECKED
        for path, document in policy_documents(resource.get("Properties", {}), logical_id):
            for index, statement in enumerate(_as_list(document["Statement"])):
                if not isinstance(statement, dict):
                    continue
                label = f"{path}.Statement[{index}] {statement.get('Sid', '')}".rstrip()
                found.extend(
                    f"{label}: {finding}" for finding in statement_findings(statement, check_principal=check_principal)
                )
    return found


def test_no_stack_allows_every_action_or_trusts_every_principal(synthesized: SynthesizedApp) -> None:
    findings = [
        f"{name}: {finding}"
        for name in synthesized.stack_names
        for finding in template_findings(synthesized.raw_template(name))
    ]
    assert findings == []


def test_every_stack_has_policies_to_check(synthesized: SynthesizedApp) -> None:
    """Guards the test above: it reads the policies of every stack, not an empty list."""
    for name in synthesized.stack_names:
        documents = [
            document
            for resource in synthesized.raw_template(name)["Resources"].values()
            for _, document in policy_documents(resource.get("Properties", {}), "")
        ]
        assert documents, f"{name}: no policy document found"


def _template(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Probe": {"Type": resource_type, "Properties": properties}}}


def _document(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}


ANYONE_FROM_THE_ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
TLS_ONLY = {"Bool": {"aws:SecureTransport": "true"}}


@pytest.mark.parametrize(
    ("resource_type", "properties", "finding"),
    [
        pytest.param(
            "AWS::IAM::Policy",
            {"PolicyName": "p", "PolicyDocument": _document(Action="*", Resource="*")},
            'allows Action "*"',
            id="action-star",
        ),
        pytest.param(
            "AWS::IAM::ManagedPolicy",
            {"PolicyDocument": _document(Action=["s3:GetObject", "*"], Resource="*")},
            'allows Action "*"',
            id="action-star-in-a-list",
        ),
        pytest.param(
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": _document(
                    Action="sts:AssumeRole", Principal={"Service": "ec2.amazonaws.com"}
                ),
                "Policies": [{"PolicyName": "p", "PolicyDocument": _document(NotAction="iam:*", Resource="*")}],
            },
            "allows NotAction",
            id="not-action-in-an-inline-role-policy",
        ),
        pytest.param(
            "AWS::IAM::Policy",
            {"PolicyDocument": _document(Action="*", Resource="*", Condition=ANYONE_FROM_THE_ORG)},
            'allows Action "*"',
            id="action-star-even-with-a-condition",
        ),
        pytest.param(
            "AWS::IAM::Role",
            {"AssumeRolePolicyDocument": _document(Action="sts:AssumeRole", Principal={"AWS": "*"})},
            "wildcard principal",
            id="trust-policy-aws-star",
        ),
        pytest.param(
            "AWS::KMS::Key",
            {"KeyPolicy": _document(Action="kms:Decrypt", Principal="*", Resource="*")},
            "wildcard principal",
            id="key-policy-star",
        ),
        pytest.param(
            "AWS::S3::BucketPolicy",
            {"Bucket": "b", "PolicyDocument": _document(Action="s3:GetObject", Principal={"AWS": ["*"]}, Resource="*")},
            "wildcard principal",
            id="bucket-policy-star-in-a-list",
        ),
        pytest.param(
            "AWS::SNS::TopicPolicy",
            {"Topics": ["t"], "PolicyDocument": _document(Action="sns:Publish", Principal="*", Condition=TLS_ONLY)},
            "wildcard principal",
            id="topic-policy-condition-that-does-not-limit-the-caller",
        ),
        pytest.param(
            "AWS::ECR::Repository",
            {"RepositoryPolicyText": _document(Action="ecr:BatchGetImage", Principal={"AWS": "*"})},
            "wildcard principal",
            id="repository-policy-star",
        ),
        pytest.param(
            "AWS::EC2::VPCEndpoint",
            {"PolicyDocument": _document(Action="*", Principal="*", Resource="*")},
            'allows Action "*"',
            id="endpoint-policy-action-star",
        ),
    ],
)
def test_wide_statements_are_found(resource_type: str, properties: dict[str, Any], finding: str) -> None:
    findings = template_findings(_template(resource_type, properties))
    assert len(findings) == 1
    assert findings[0].startswith("Probe.")
    assert finding in findings[0]


@pytest.mark.parametrize(
    ("resource_type", "properties"),
    [
        pytest.param(
            "AWS::ECR::Repository",
            {
                "RepositoryPolicyText": _document(
                    Action="ecr:BatchGetImage", Principal={"AWS": "*"}, Condition=ANYONE_FROM_THE_ORG
                )
            },
            id="wildcard-principal-limited-to-the-organization",
        ),
        pytest.param(
            "AWS::KMS::Key",
            {
                "KeyPolicy": _document(
                    Action="kms:Decrypt",
                    Principal={"AWS": "*"},
                    Resource="*",
                    Condition={"StringEquals": {"kms:CallerAccount": "111111111111"}},
                )
            },
            id="wildcard-principal-limited-to-one-account",
        ),
        pytest.param(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": "b",
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ]
                },
            },
            id="deny-to-everyone",
        ),
        pytest.param(
            "AWS::EC2::VPCEndpoint",
            {"PolicyDocument": _document(Action="s3:GetObject", Principal="*", Resource="arn:aws:s3:::layers/*")},
            id="endpoint-policy-filters-by-resource",
        ),
        pytest.param(
            "AWS::IAM::Role",
            {"AssumeRolePolicyDocument": _document(Action="sts:AssumeRole", Principal={"AWS": "arn:aws:iam::1:root"})},
            id="trust-policy-one-account",
        ),
    ],
)
def test_narrow_statements_pass(resource_type: str, properties: dict[str, Any]) -> None:
    assert template_findings(_template(resource_type, properties)) == []
