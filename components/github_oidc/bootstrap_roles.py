"""The CDK bootstrap roles a GitHub Actions role may chain into, by permission preset.

``cdk bootstrap`` creates these roles in every account with fixed names. A GitHub Actions
role never acts on an account itself: it assumes one of these roles, and the role's
permissions (and the ``--trust`` given to ``cdk bootstrap``) decide what happens next.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The default bootstrap qualifier (``@aws-cdk/core:bootstrapQualifier``); this app does not change it.
BOOTSTRAP_QUALIFIER = "hnb659fds"

#: The bootstrap roles each preset of config/oidc.py may assume, in the tools account only
#: (``PRESET_ACCOUNTS`` in config/oidc.py): GitHub Actions creates the pipeline there once and
#: deploys nothing into dev, staging or prod (issue 20). ``deploy``: what ``cdk deploy`` of the
#: tools account's stacks uses, the deploy role and the file-publishing role of the templates'
#: file assets (no tools stack has a container image asset: tests/architecture/test_github_oidc.py
#: reads the assembly's asset manifests). Not the lookup role (ReadOnlyAccess): nothing of
#: GitHub's reads live state any more. ``diff`` gets none: pull requests run
#: ``cdk diff --method=template`` through the project's template reader role of each account
#: (components/github_oidc/template_reader.py).
PRESET_BOOTSTRAP_ROLES: dict[str, tuple[str, ...]] = {
    "deploy": ("deploy", "file-publishing"),
    "diff": (),
}

#: Every role ``cdk bootstrap`` creates under these names.
ALL_BOOTSTRAP_ROLES: tuple[str, ...] = ("deploy", "file-publishing", "image-publishing", "lookup")

#: The bootstrap roles any GitHub Actions role may assume, in the tools account only: what the
#: permissions boundary allows besides the template readers.
ASSUMABLE_BOOTSTRAP_ROLES: tuple[str, ...] = ("deploy", "file-publishing")


def bootstrap_role_arn(kind: str, *, account: str, region: str, qualifier: str = BOOTSTRAP_QUALIFIER) -> str:
    """``arn:aws:iam::ACCOUNT:role/cdk-QUALIFIER-KIND-role-ACCOUNT-REGION``."""
    if kind not in ALL_BOOTSTRAP_ROLES:
        raise ValueError(f"unknown CDK bootstrap role {kind!r}; expected one of {', '.join(ALL_BOOTSTRAP_ROLES)}")
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"


def bootstrap_role_arns(kinds: Iterable[str], *, accounts: Iterable[str], region: str) -> list[str]:
    """The ARNs of ``kinds`` in each of ``accounts``, account by account."""
    kinds = tuple(kinds)
    return [bootstrap_role_arn(kind, account=account, region=region) for account in accounts for kind in kinds]
