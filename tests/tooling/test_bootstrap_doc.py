"""docs/deploy.md's "Bootstrap" commands, run as written with ``aws`` and ``npx`` replaced by recorders.

The commands are bash with loops and parameter expansion, so the test runs them instead of reading
them: each ``aws`` or ``npx`` call is written to a log, one line of arguments each, and the test reads
what an operator's shell would have run. The boundary policy is created in dev, staging and prod from
the committed file, and exactly the three target accounts are bootstrapped with it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bootstrap.permissions_boundary import BOUNDARY_NAME, POLICY_FILE
from config import Config
from tests.support import ROOT

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
BASH_BLOCK = re.compile(r"```bash\n(.*?)\n```", re.DOTALL)
RECORDERS = """
aws() { printf '%s\\n' "aws $*" >> "$CALLS"; }
npx() { printf '%s\\n' "npx $*" >> "$CALLS"; }
"""


def bootstrap_section(text: str) -> str:
    match = re.search(r"^## Bootstrap\n(.*?)^## ", text, re.DOTALL | re.MULTILINE)
    assert match, f"{DEPLOY_DOC}: no '## Bootstrap' section"
    return match.group(1)


def run_commands(text: str, tmp_path: Path) -> list[list[str]]:
    """Every ``aws`` and ``npx`` call the section's bash blocks make, in order, as argument lists."""
    bash = shutil.which("bash")
    assert bash, "bash is needed to run the documented commands"
    blocks = BASH_BLOCK.findall(bootstrap_section(text))
    assert blocks, "the Bootstrap section has no bash block"
    calls = tmp_path / "calls"
    script = RECORDERS + "set -eu\n" + "\n".join(blocks) + "\n"
    result = subprocess.run(
        [bash, "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CALLS": str(calls)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return [shlex.split(line) for line in calls.read_text().splitlines()]


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> list[list[str]]:
    return run_commands(DEPLOY_DOC.read_text(), tmp_path_factory.mktemp("bootstrap-doc"))


def boundary_policies(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if call[:3] == ["aws", "iam", "create-policy"] and BOUNDARY_NAME in call]


def bootstraps(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if call[:3] == ["npx", "cdk", "bootstrap"]]


def test_the_boundary_policy_is_created_in_each_target_account_from_the_committed_file(
    calls: list[list[str]], config: Config
) -> None:
    created = boundary_policies(calls)
    assert sorted(option(call, "--profile") or "" for call in created) == sorted(e.name for e in config.environments)
    for call in created:
        assert option(call, "--policy-name") == BOUNDARY_NAME
        assert option(call, "--policy-document") == f"file://{POLICY_FILE.relative_to(ROOT).as_posix()}"
    assert POLICY_FILE.is_file()


def test_exactly_the_three_target_bootstraps_set_the_boundary_and_trust_the_tools_account(
    calls: list[list[str]], config: Config
) -> None:
    """The tools account is bootstrapped without it; each target account with it and --trust."""
    by_account = {call[3].split("/")[2]: call for call in bootstraps(calls)}
    assert set(by_account) == {config.accounts.tools} | {e.account for e in config.environments}
    tools = by_account.pop(config.accounts.tools)
    assert "--custom-permissions-boundary" not in tools and "--trust" not in tools
    for account, call in by_account.items():
        assert option(call, "--custom-permissions-boundary") == BOUNDARY_NAME, account
        assert option(call, "--trust") == config.accounts.tools, account


def test_each_account_is_bootstrapped_with_its_own_profile(calls: list[list[str]], config: Config) -> None:
    profiles = {e.account: e.name for e in config.environments} | {config.accounts.tools: "tools"}
    for call in bootstraps(calls):
        account = call[3].split("/")[2]
        assert option(call, "--profile") == profiles[account], call


def test_the_boundary_is_created_before_any_bootstrap_uses_it(calls: list[list[str]]) -> None:
    """cdk bootstrap refers to the policy by name; IAM refuses a boundary that does not exist."""
    first_use = min(i for i, call in enumerate(calls) if "--custom-permissions-boundary" in call)
    assert max(calls.index(call) for call in boundary_policies(calls)) < first_use


def test_a_page_without_the_flag_fails_the_bootstrap_check(tmp_path: Path, config: Config) -> None:
    flag = " \\\n    --custom-permissions-boundary delivery-permissions-boundary"
    text = DEPLOY_DOC.read_text()
    assert flag in text
    broken = run_commands(text.replace(flag, "", 1), tmp_path)
    with pytest.raises(AssertionError, match="222222222222"):
        test_exactly_the_three_target_bootstraps_set_the_boundary_and_trust_the_tools_account(broken, config)


def test_a_page_that_creates_the_policy_in_two_accounts_fails_the_policy_check(tmp_path: Path, config: Config) -> None:
    loop = "for profile in dev staging prod; do"
    text = DEPLOY_DOC.read_text()
    assert loop in text
    broken = run_commands(text.replace(loop, "for profile in dev staging; do"), tmp_path)
    with pytest.raises(AssertionError, match="'dev', 'staging'"):
        test_the_boundary_policy_is_created_in_each_target_account_from_the_committed_file(broken, config)
