"""Print what a GitHub Actions workflow needs from the configuration, as ``NAME=value`` lines.

Usage: python -m config.workflow_env --config "$DELIVERY_CONFIG" --role github-deploy >> "$GITHUB_ENV"

``deploy.yml`` and ``diff.yml`` hard-code no account and no region: they read the region and the
ARN of their ``[[oidc.roles]]`` role from the validated configuration the repository variable
``DELIVERY_CONFIG`` names (docs/github-oidc.md, "The workflows"). A bad configuration, or a role the
file does not declare, prints one line on stderr and exits 2, so the step fails before any
credential is requested.
"""

from __future__ import annotations

import argparse
import sys

from components.naming import Names
from config.reader import ConfigError
from config.settings import DEFAULT_CONFIG_PATH, Config, load_config


def workflow_env(config: Config, role_name: str) -> dict[str, str]:
    """``AWS_REGION`` and ``AWS_ROLE_ARN`` of the GitHub Actions role ``role_name`` of ``config``.

    The role is the one ``Tools-GithubOidc`` creates in the tools account under its configured name
    and IAM's default path ``/`` (stacks/github_oidc_stack.py, components/github_oidc/role.py).
    """
    names = [role.name for role in config.oidc.roles]
    if role_name not in names:
        declared = ", ".join(repr(name) for name in names) or "none"
        raise ConfigError(
            f"{config.source}: oidc.roles: expected a role named {role_name!r} "
            f"(the workflow's --role; the file declares {declared}), got none"
        )
    return {
        "AWS_REGION": config.region,
        "AWS_ROLE_ARN": Names(config).role_arn(config.accounts.tools, role_name),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.workflow_env", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH, help="configuration file (default: %(default)s)")
    parser.add_argument("--role", required=True, help="the name of an [[oidc.roles]] role, e.g. github-deploy")
    args = parser.parse_args(argv)
    try:
        lines = workflow_env(load_config(args.config), args.role)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    for name, value in lines.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
