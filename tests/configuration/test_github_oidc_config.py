"""Bad [oidc] configuration: each case gives exactly one line naming the file, the key and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_config
from tests.support import ROOT

SANDBOX = (ROOT / "config" / "sandbox.toml").read_text()
DEPLOY = 'subjects = ["repo:example-org/delivery-reference:environment:tools"]'
DIFF = 'subjects = ["repo:example-org/delivery-reference:pull_request"]'
EXACT = "an exact owner and repository (wildcards only after the repository part)"
CONTEXT = "a context after the repository: ref:refs/heads/BRANCH, ref:refs/tags/TAG, environment:NAME or pull_request"
TOOLS_ONLY = (
    "['tools'] for a role with the 'deploy' preset (GitHub Actions creates the pipeline in the tools account; "
    "the pipeline deploys dev, staging and prod)"
)

# (case id, text in sandbox.toml, replacement, expected error after "<file>: ")
CASES = [
    ("subject-star", DIFF, 'subjects = ["*"]', f"oidc.roles[1].subjects[0]: expected {EXACT}, got '*'"),
    ("subject-repo-star", DIFF, 'subjects = ["repo:*"]', f"oidc.roles[1].subjects[0]: expected {EXACT}, got 'repo:*'"),
    (
        "wildcard-in-owner",
        DIFF,
        'subjects = ["repo:example-*/delivery-reference:pull_request"]',
        f"oidc.roles[1].subjects[0]: expected {EXACT}, got 'repo:example-*/delivery-reference:pull_request'",
    ),
    (
        "wildcard-in-repository",
        DEPLOY,
        'subjects = ["repo:example-org/delivery-reference:environment:tools", "repo:example-org/*:environment:prod"]',
        f"oidc.roles[0].subjects[1]: expected {EXACT}, got 'repo:example-org/*:environment:prod'",
    ),
    (
        "wildcard-in-repository-id",
        DIFF,
        'subjects = ["repository_owner_id:1234:repository_id:*:pull_request"]',
        f"oidc.roles[1].subjects[0]: expected {EXACT}, got 'repository_owner_id:1234:repository_id:*:pull_request'",
    ),
    (
        "wildcard-as-the-whole-context",
        DIFF,
        'subjects = ["repo:example-org/delivery-reference:*"]',
        f"oidc.roles[1].subjects[0]: expected {CONTEXT}, got 'repo:example-org/delivery-reference:*'",
    ),
    (
        "unknown-context",
        DIFF,
        'subjects = ["repo:example-org/delivery-reference:workflow:diff"]',
        f"oidc.roles[1].subjects[0]: expected {CONTEXT}, got 'repo:example-org/delivery-reference:workflow:diff'",
    ),
    (
        "whitespace-in-subject",
        DEPLOY,
        'subjects = ["repo:example-org/delivery-reference:environment: prod"]',
        "oidc.roles[0].subjects[0]: expected a subject without whitespace, "
        "got 'repo:example-org/delivery-reference:environment: prod'",
    ),
    (
        "subject-not-written-in-full",
        DIFF,
        'subjects = ["pull_request"]',
        "oidc.roles[1].subjects[0]: expected a full subject 'repo:OWNER/REPO:CONTEXT', "
        "'repo:OWNER@ID/REPO@ID:CONTEXT' or 'repository_owner_id:ID:repository_id:ID:CONTEXT', got 'pull_request'",
    ),
    (
        # GitHub's immutable subject claims append a numeric id to both names.
        "immutable-subject-with-one-id-only",
        DEPLOY,
        'subjects = ["repo:example-org@1234567/delivery-reference:environment:prod"]',
        "oidc.roles[0].subjects[0]: expected numeric ids after both the owner and the repository name "
        "(OWNER@ID/REPO@ID) in the subject, got 'repo:example-org@1234567/delivery-reference:environment:prod'",
    ),
    (
        "pull-request-on-the-deploy-role",
        DEPLOY,
        'subjects = ["repo:example-org/delivery-reference:environment:tools", '
        '"repo:example-org/delivery-reference:pull_request"]',
        "oidc.roles[0].subjects[1]: expected no pull_request subject on a role with the 'deploy' preset "
        "(it can deploy the pipeline), got 'repo:example-org/delivery-reference:pull_request'",
    ),
    (
        "owner-github-would-not-accept",
        DIFF,
        'subjects = ["repo:-example-org/delivery-reference:pull_request"]',
        "oidc.roles[1].subjects[0]: expected a GitHub owner name (letters, digits, single hyphens, at most 39) "
        "in the subject, got 'repo:-example-org/delivery-reference:pull_request'",
    ),
    (
        "repository-github-would-not-accept",
        DIFF,
        'subjects = ["repo:example-org/delivery@reference:pull_request"]',
        "oidc.roles[1].subjects[0]: expected a GitHub repository name (letters, digits, . _ -, at most 100) "
        "in the subject, got 'repo:example-org/delivery@reference:pull_request'",
    ),
    (
        "repository-ids-not-numeric",
        DIFF,
        'subjects = ["repository_owner_id:example-org:repository_id:42:pull_request"]',
        "oidc.roles[1].subjects[0]: expected numeric GitHub owner and repository ids in the subject, "
        "got 'repository_owner_id:example-org:repository_id:42:pull_request'",
    ),
    # GitHub Actions deploys nothing into dev, staging or prod: a deploy role reaches the tools account only.
    (
        "deploy-role-asks-for-a-target-account",
        DEPLOY,
        f'{DEPLOY}\naccounts = ["tools", "dev"]',
        f"oidc.roles[0].accounts: expected {TOOLS_ONLY}, got ['tools', 'dev']",
    ),
    (
        "deploy-role-asks-for-prod-only",
        DEPLOY,
        f'{DEPLOY}\naccounts = ["prod"]',
        f"oidc.roles[0].accounts: expected {TOOLS_ONLY}, got ['prod']",
    ),
    (
        "unknown-account-name",
        DIFF,
        f'{DIFF}\naccounts = ["tools", "sandbox"]',
        "oidc.roles[1].accounts[1]: expected account names (tools, dev, staging, prod), got 'sandbox'",
    ),
    (
        "no-accounts",
        DIFF,
        f"{DIFF}\naccounts = []",
        "oidc.roles[1].accounts: expected a list of account names (tools, dev, staging, prod) with at least 1 item(s), "
        "got []",
    ),
    (
        "audience-not-sts",
        'audience = "sts.amazonaws.com"',
        'audience = "sigstore"',
        "oidc.audience: expected 'sts.amazonaws.com', got 'sigstore'",
    ),
    (
        "no-subjects",
        DIFF,
        "subjects = []",
        "oidc.roles[1].subjects: expected a list of GitHub OIDC subjects with at least 1 item(s), got []",
    ),
    (
        "role-name-used-twice",
        'name = "github-diff"',
        'name = "GitHub-Deploy"',
        "oidc.roles[1].name: expected a role name not already used in oidc.roles, got 'GitHub-Deploy'",
    ),
    (
        "unknown-preset",
        'preset = "diff"',
        'preset = "admin"',
        "oidc.roles[1].preset: expected one of 'deploy', 'diff', got 'admin'",
    ),
]


def write_config(tmp_path: Path, old: str, new: str) -> Path:
    assert SANDBOX.count(old) == 1, f"the sandbox configuration must contain {old!r} exactly once"
    path = tmp_path / "bad.toml"
    path.write_text(SANDBOX.replace(old, new))
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_oidc_value_gives_one_exact_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_config(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {expected}"
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("subjects", "exact", "patterns"),
    [
        pytest.param(
            '["repo:example-org/delivery-reference:ref:refs/heads/main", '
            '"repo:example-org/delivery-reference:ref:refs/heads/release/*"]',
            ("repo:example-org/delivery-reference:ref:refs/heads/main",),
            ("repo:example-org/delivery-reference:ref:refs/heads/release/*",),
            id="branch-and-release-pattern",
        ),
        pytest.param(
            '["repository_owner_id:1234567:repository_id:89012345:environment:prod"]',
            ("repository_owner_id:1234567:repository_id:89012345:environment:prod",),
            (),
            id="immutable-ids",
        ),
        pytest.param(
            '["repo:example-org@1234567/delivery-reference@89012345:environment:prod"]',
            ("repo:example-org@1234567/delivery-reference@89012345:environment:prod",),
            (),
            id="immutable-subject-claim-default-from-july-2026",
        ),
        pytest.param(
            '["repo:example-org/delivery-reference:ref:refs/tags/v*"]',
            (),
            ("repo:example-org/delivery-reference:ref:refs/tags/v*",),
            id="tag-pattern",
        ),
    ],
)
def test_good_subjects_are_split_into_exact_subjects_and_patterns(
    tmp_path: Path, subjects: str, exact: tuple[str, ...], patterns: tuple[str, ...]
) -> None:
    config = load_config(write_config(tmp_path, DEPLOY, f"subjects = {subjects}"))
    deploy = config.oidc.roles[0]
    assert (deploy.exact_subjects, deploy.subject_patterns) == (exact, patterns)


@pytest.mark.parametrize("name", ["sandbox.toml", "ecs-native.toml"])
def test_committed_roles_are_a_tools_only_deploy_role_and_a_pull_request_diff_role(name: str) -> None:
    config = load_config(ROOT / "config" / name)
    assert [(role.name, role.preset, role.accounts) for role in config.oidc.roles] == [
        ("github-deploy", "deploy", ("tools",)),
        ("github-diff", "diff", ("tools", "dev", "staging", "prod")),
    ]
    assert config.oidc.audience == "sts.amazonaws.com"


def test_a_diff_role_may_be_narrowed_to_some_accounts(tmp_path: Path) -> None:
    """Its reach in a target account is the template reader whatever it lists; listing fewer narrows it."""
    config = load_config(write_config(tmp_path, DIFF, f'{DIFF}\naccounts = ["prod", "tools"]'))
    assert config.oidc.roles[1].accounts == ("tools", "prod")
    assert config.accounts.named(config.oidc.roles[1].accounts) == ("111111111111", "444444444444")
