"""The CDK bootstrap roles a GitHub Actions role may chain into, by permission preset.

``cdk bootstrap`` creates these roles in every account with fixed names. A GitHub Actions
role never acts on an account itself: it assumes one of these roles, and the role's
permissions (and the ``--trust`` given to ``cdk bootstrap``) decide what happens next.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The default bootstrap qualifier (``@aws-cdk/core:bootstrapQualifier``); this app does not change it.
BOOTSTRAP_QUALIFIER = "hnb659fds"

#: The bootstrap roles each preset of config/oidc.py may assume, in every project account.
#: ``diff`` gets the lookup role only, so pull requests run ``cdk diff --method=template``:
#: the default ``auto`` method creates a change set through the deploy role.
PRESET_BOOTSTRAP_ROLES: dict[str, tuple[str, ...]] = {
    # lookup: the pre-deploy guard (release_guard) reads the live listeners and service through it.
    "deploy": ("deploy", "file-publishing", "image-publishing", "lookup"),
    "diff": ("lookup",),
}

#: Every bootstrap role any preset may assume: what the permissions boundary allows.
ALL_BOOTSTRAP_ROLES: tuple[str, ...] = ("deploy", "file-publishing", "image-publishing", "lookup")


def bootstrap_role_arn(kind: str, *, account: str, region: str, qualifier: str = BOOTSTRAP_QUALIFIER) -> str:
    """``arn:aws:iam::ACCOUNT:role/cdk-QUALIFIER-KIND-role-ACCOUNT-REGION``."""
    if kind not in ALL_BOOTSTRAP_ROLES:
        raise ValueError(f"unknown CDK bootstrap role {kind!r}; expected one of {', '.join(ALL_BOOTSTRAP_ROLES)}")
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"


def bootstrap_role_arns(kinds: Iterable[str], *, accounts: Iterable[str], region: str) -> list[str]:
    """The ARNs of ``kinds`` in each of ``accounts``, account by account."""
    kinds = tuple(kinds)
    return [bootstrap_role_arn(kind, account=account, region=region) for account in accounts for kind in kinds]
