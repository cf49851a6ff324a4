"""The ``[oidc]`` section: GitHub Actions roles and the subjects each one trusts.

A subject is written in full, exactly as GitHub puts it in the token's ``sub`` claim:

* ``repo:OWNER/REPO:CONTEXT`` with GitHub's default subject template,
* ``repo:OWNER@OWNER_ID/REPO@REPO_ID:CONTEXT``, GitHub's default for repositories created or
  renamed from 15 July 2026 on (immutable subject claims), or
* ``repository_owner_id:ID:repository_id:ID:CONTEXT`` when the repository's subject template
  is customized to GitHub's immutable ids (see docs/github-oidc.md),

where CONTEXT is ``ref:refs/heads/BRANCH``, ``ref:refs/tags/TAG``, ``environment:NAME`` or
``pull_request``. The owner and repository part is always exact; ``*`` and ``?`` (IAM
``StringLike`` wildcards) are accepted only in the branch, tag or environment name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.patterns import GITHUB_OWNER, GITHUB_REPO
from config.reader import TableReader

GITHUB_AUDIENCE = "sts.amazonaws.com"
#: What a role may do once GitHub Actions has assumed it; see docs/github-oidc.md.
PRESETS = ("deploy", "diff")
#: Presets whose role can deploy (the tools account's stacks): they never trust a pull request.
DEPLOYING_PRESETS = ("deploy",)
#: The accounts of ``[accounts]``, by name, in the order the roles list them.
ACCOUNT_NAMES = ("tools", "dev", "staging", "prod")
#: The accounts a preset's role may reach, and the default of ``accounts``. GitHub Actions deploys
#: nothing into dev, staging or prod: it creates the pipeline in the tools account once, and the
#: pipeline deploys the target accounts from then on (issue 20, docs/github-oidc.md). In a target
#: account a GitHub role reaches the project's template reader only, which the ``diff`` preset uses.
PRESET_ACCOUNTS: dict[str, tuple[str, ...]] = {"deploy": ("tools",), "diff": ACCOUNT_NAMES}
ROLE_NAME = r"[A-Za-z0-9+=,.@_-]{1,64}"
#: The characters IAM's StringLike operator treats as wildcards.
WILDCARDS = "*?"

_DEFAULT_FORM = re.compile(r"repo:(?P<owner>[^/:]*)/(?P<repo>[^:]*):(?P<context>.*)")
_ID_FORM = re.compile(r"repository_owner_id:(?P<owner>[^:]*):repository_id:(?P<repo>[^:]*):(?P<context>.*)")
# A branch, tag or environment name; wildcards allowed, and checked by git-like rules only loosely:
# GitHub itself rejects refs that git would not accept, so a bad name simply never matches.
_REF_NAME = r"[A-Za-z0-9._/*?-]+"
_CONTEXT = re.compile(rf"ref:refs/(?:heads|tags)/{_REF_NAME}|environment:[A-Za-z0-9._*?-]{{1,255}}|pull_request")
_NUMERIC_ID = re.compile(r"[1-9][0-9]{0,19}")

EXPECTED_FORM = (
    "a full subject 'repo:OWNER/REPO:CONTEXT', 'repo:OWNER@ID/REPO@ID:CONTEXT' "
    "or 'repository_owner_id:ID:repository_id:ID:CONTEXT'"
)
EXPECTED_EXACT_REPOSITORY = "an exact owner and repository (wildcards only after the repository part)"
EXPECTED_CONTEXT = (
    "a context after the repository: ref:refs/heads/BRANCH, ref:refs/tags/TAG, environment:NAME or pull_request"
)


@dataclass(frozen=True)
class OidcRoleConfig:
    name: str
    preset: str
    subjects: tuple[str, ...]
    #: The accounts, by name (``tools``, ``dev``, ...), whose roles this role may assume.
    accounts: tuple[str, ...] = ("tools",)

    @property
    def exact_subjects(self) -> tuple[str, ...]:
        """Subjects matched with ``StringEquals``."""
        return tuple(subject for subject in self.subjects if not is_pattern(subject))

    @property
    def subject_patterns(self) -> tuple[str, ...]:
        """Subjects with a wildcard after the repository part, matched with ``StringLike``."""
        return tuple(subject for subject in self.subjects if is_pattern(subject))


@dataclass(frozen=True)
class OidcConfig:
    audience: str
    roles: tuple[OidcRoleConfig, ...]


def is_pattern(subject: str) -> bool:
    return any(character in subject for character in WILDCARDS)


def subject_problem(subject: str, *, preset: str) -> str | None:
    """What is wrong with ``subject`` (the ``expected ...`` part of the error), or None."""
    if any(character.isspace() for character in subject):
        return "a subject without whitespace"
    match = _DEFAULT_FORM.fullmatch(subject) or _ID_FORM.fullmatch(subject)
    if match is None:
        return EXPECTED_EXACT_REPOSITORY if is_pattern(subject) else EXPECTED_FORM
    owner, repo, context = match["owner"], match["repo"], match["context"]
    if is_pattern(owner) or is_pattern(repo):
        return EXPECTED_EXACT_REPOSITORY
    if match.re is _DEFAULT_FORM:
        owner_name, _, owner_id = owner.partition("@")
        repo_name, _, repo_id = repo.partition("@")
        if _NUMERIC_ID.fullmatch(owner_id) or _NUMERIC_ID.fullmatch(repo_id):
            # Immutable subject claims: GitHub appends the numeric id to both names.
            if not (_NUMERIC_ID.fullmatch(owner_id) and _NUMERIC_ID.fullmatch(repo_id)):
                return "numeric ids after both the owner and the repository name (OWNER@ID/REPO@ID) in the subject"
            owner, repo = owner_name, repo_name
        if not re.fullmatch(GITHUB_OWNER, owner):
            return "a GitHub owner name (letters, digits, single hyphens, at most 39) in the subject"
        if not re.fullmatch(GITHUB_REPO, repo):
            return "a GitHub repository name (letters, digits, . _ -, at most 100) in the subject"
    elif not (_NUMERIC_ID.fullmatch(owner) and _NUMERIC_ID.fullmatch(repo)):
        return "numeric GitHub owner and repository ids in the subject"
    if not _CONTEXT.fullmatch(context):
        return EXPECTED_CONTEXT
    if context == "pull_request" and preset in DEPLOYING_PRESETS:
        return f"no pull_request subject on a role with the {preset!r} preset (it can deploy the pipeline)"
    return None


def read_accounts(role_table: TableReader, preset: str) -> tuple[str, ...]:
    """``accounts``: by default the preset's; a deploy role never reaches dev, staging or prod."""
    allowed = PRESET_ACCOUNTS[preset]
    accounts = role_table.string_list(
        "accounts",
        pattern="|".join(ACCOUNT_NAMES),
        expected=f"account names ({', '.join(ACCOUNT_NAMES)})",
        default=list(allowed),
        min_items=1,
    )
    if not set(accounts) <= set(allowed):
        # Only the template readers are reachable in a target account, and only the diff preset uses them.
        raise role_table.error(
            "accounts",
            f"{list(allowed)} for a role with the {preset!r} preset (GitHub Actions creates the pipeline in the "
            "tools account; the pipeline deploys dev, staging and prod)",
            list(accounts),
        )
    return tuple(name for name in ACCOUNT_NAMES if name in accounts)


def subject_repository(subject: str) -> tuple[str, str] | None:
    """The owner and repository names a well-formed subject names, or None for the numeric-id form."""
    match = _DEFAULT_FORM.fullmatch(subject)
    if match is None:
        return None
    return match["owner"].partition("@")[0], match["repo"].partition("@")[0]


def read_oidc(table: TableReader, *, github_owner: str, github_repo: str) -> OidcConfig:
    """``[oidc]``; every subject in ``repo:`` form must name the repository of ``[github]``.

    The pipeline's source and the GitHub roles serve one repository: a subject of another one would
    let that repository's workflows assume the role. GitHub's owner and repository names are not
    case-sensitive, so neither is the comparison. The ``repository_owner_id`` form names ids, which
    the configuration does not hold; it is not compared.
    """
    audience = table.string(
        "audience", pattern=re.escape(GITHUB_AUDIENCE), expected=f"'{GITHUB_AUDIENCE}'", default=GITHUB_AUDIENCE
    )
    roles: list[OidcRoleConfig] = []
    for role_table in table.table_list("roles", default=[]):
        name = role_table.string("name", pattern=ROLE_NAME, expected="an IAM role name")
        for earlier in roles:
            if earlier.name.lower() == name.lower():
                raise role_table.error("name", "a role name not already used in oidc.roles", name)
        preset = role_table.choice("preset", PRESETS)
        subjects = role_table.string_list("subjects", pattern=r"(?s:.+)", expected="GitHub OIDC subjects", min_items=1)
        for index, subject in enumerate(subjects):
            problem = subject_problem(subject, preset=preset)
            if problem is not None:
                raise role_table.error(f"subjects[{index}]", problem, subject)
            named = subject_repository(subject)
            if named is not None and (named[0].lower(), named[1].lower()) != (
                github_owner.lower(),
                github_repo.lower(),
            ):
                raise role_table.error(
                    f"subjects[{index}]",
                    f"a subject of the repository in [github] (repo:{github_owner}/{github_repo}:...)",
                    subject,
                )
        accounts = read_accounts(role_table, preset)
        roles.append(OidcRoleConfig(name=name, preset=preset, subjects=subjects, accounts=accounts))
        role_table.done()
    table.done()
    return OidcConfig(audience=audience, roles=tuple(roles))
