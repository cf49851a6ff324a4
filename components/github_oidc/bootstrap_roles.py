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
#: ``diff`` gets none: pull requests run ``cdk diff --method=template`` through the project's
#: template reader role of each account (components/github_oidc/template_reader.py), never
#: through the lookup role, whose ReadOnlyAccess reads far more than templates.
PRESET_BOOTSTRAP_ROLES: dict[str, tuple[str, ...]] = {
    # lookup: the pre-deploy guard of make deploy (release_guard) reads the live listeners, target
    # groups and service through it; this preset is trusted only for the protected prod environment.
    "deploy": ("deploy", "file-publishing", "image-publishing", "lookup"),
    "diff": (),
}

#: Every role ``cdk bootstrap`` creates under these names.
ALL_BOOTSTRAP_ROLES: tuple[str, ...] = ("deploy", "file-publishing", "image-publishing", "lookup")

#: The bootstrap roles any GitHub Actions role may assume: what the permissions boundary allows.
#: The lookup role only because the deploy preset's pre-deploy guard reads through it; a role's own
#: policy must name it too, and the diff preset's does not (tests/architecture/test_pull_request_exposure.py).
ASSUMABLE_BOOTSTRAP_ROLES: tuple[str, ...] = ("deploy", "file-publishing", "image-publishing", "lookup")


def bootstrap_role_arn(kind: str, *, account: str, region: str, qualifier: str = BOOTSTRAP_QUALIFIER) -> str:
    """``arn:aws:iam::ACCOUNT:role/cdk-QUALIFIER-KIND-role-ACCOUNT-REGION``."""
    if kind not in ALL_BOOTSTRAP_ROLES:
        raise ValueError(f"unknown CDK bootstrap role {kind!r}; expected one of {', '.join(ALL_BOOTSTRAP_ROLES)}")
    return f"arn:aws:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"


def bootstrap_role_arns(kinds: Iterable[str], *, accounts: Iterable[str], region: str) -> list[str]:
    """The ARNs of ``kinds`` in each of ``accounts``, account by account."""
    kinds = tuple(kinds)
    return [bootstrap_role_arn(kind, account=account, region=region) for account in accounts for kind in kinds]
