"""The ``[oidc]`` section: GitHub Actions roles and the subjects each one trusts."""

from __future__ import annotations

from dataclasses import dataclass

from config.reader import TableReader

GITHUB_AUDIENCE = "sts.amazonaws.com"
#: What a role may do once GitHub Actions has assumed it; see docs/github-oidc.md.
PRESETS = ("deploy", "diff")
ROLE_NAME = r"[A-Za-z0-9+=,.@_-]{1,64}"


@dataclass(frozen=True)
class OidcRoleConfig:
    name: str
    preset: str
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class OidcConfig:
    audience: str
    roles: tuple[OidcRoleConfig, ...]


def read_oidc(table: TableReader, *, github: tuple[str, str]) -> OidcConfig:
    audience = table.string(
        "audience", pattern=GITHUB_AUDIENCE.replace(".", r"\."), expected=f"'{GITHUB_AUDIENCE}'", default=GITHUB_AUDIENCE
    )
    roles = []
    for role_table in table.table_list("roles", default=[]):
        roles.append(
            OidcRoleConfig(
                name=role_table.string("name", pattern=ROLE_NAME, expected="an IAM role name"),
                preset=role_table.choice("preset", PRESETS),
                subjects=role_table.string_list(
                    "subjects", pattern=r"\S+", expected="GitHub OIDC subjects", min_items=1
                ),
            )
        )
        role_table.done()
    table.done()
    return OidcConfig(audience=audience, roles=tuple(roles))
