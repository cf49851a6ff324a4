"""Every configuration file in config/ is validated, synthesized and checked, and so is a new team's.

No list to keep in step: the tests run over ``config/*.toml``, so a team's own
``config/<name>.toml`` is checked by ``make test`` as soon as it is committed. The sandbox and
ECS-native files reuse the session's synths (tests/fixtures.py); any other file costs one synth.

The last test follows README.md's "Use your own accounts" on a copy of the sandbox file with
other accounts, another region and another GitHub repository, and checks that nothing of the
sandbox is left in the templates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk.region_info import RegionInfo

from config import DEFAULT_CONFIG_PATH, Config, load_config
from tests.fixtures import ECS_NATIVE_CONFIG_PATH
from tests.support import ROOT, SynthesizedApp, synthesize

COMMITTED = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "config").glob("*.toml"))
#: The committed files whose synth the session already holds, by the fixture that holds it.
SESSION_SYNTHS = {DEFAULT_CONFIG_PATH: "synthesized", ECS_NATIVE_CONFIG_PATH: "ecs_native"}
ACCOUNT_ID = re.compile(r"\b\d{12}\b")

# README.md, "Use your own accounts": what a team puts into its copy of config/sandbox.toml.
TEAM_ACCOUNTS = {"tools": "510000000001", "dev": "520000000002", "staging": "530000000003", "prod": "540000000004"}
TEAM_REGION = "us-east-2"
TEAM_ZONES = 'availability_zones = ["us-east-2a", "us-east-2b", "us-east-2c"]'
TEAM_OWNER, TEAM_REPO = "acme-platform", "acme-delivery"
TEAM_CONNECTION = (
    f"arn:aws:codeconnections:{TEAM_REGION}:{TEAM_ACCOUNTS['tools']}:connection/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)
SANDBOX_ACCOUNTS = {"tools": "111111111111", "dev": "222222222222", "staging": "333333333333", "prod": "444444444444"}
#: Values of the sandbox file that must not reach a team's templates.
SANDBOX_VALUES = (*SANDBOX_ACCOUNTS.values(), "eu-west-1", "example-org", "delivery-reference")


def own_accounts_copy(sandbox: str) -> str:
    """The checklist's edits to a copy of config/sandbox.toml, each one checked to have found its line."""
    connection = re.search(r'connection_arn = "[^"]+"', sandbox)
    assert connection is not None
    edits = [
        *((f'{name} = "{SANDBOX_ACCOUNTS[name]}"', f'{name} = "{account}"') for name, account in TEAM_ACCOUNTS.items()),
        ('region = "eu-west-1"', f'region = "{TEAM_REGION}"'),
        ('availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]', TEAM_ZONES),
        ('owner = "example-org"', f'owner = "{TEAM_OWNER}"'),
        ('repo = "delivery-reference"', f'repo = "{TEAM_REPO}"'),
        ("repo:example-org/delivery-reference:", f"repo:{TEAM_OWNER}/{TEAM_REPO}:"),
        (connection[0], f'connection_arn = "{TEAM_CONNECTION}"'),
    ]
    text = sandbox
    for old, new in edits:
        assert old in text, f"the sandbox file no longer contains {old!r}: update README.md's checklist"
        text = text.replace(old, new)
    return text


def check_synth(config: Config, synthesized: SynthesizedApp) -> None:
    """What every configuration's synth must give: no AWS lookup, its own accounts, region and zones only."""
    manifest = json.loads((Path(synthesized.assembly.directory) / "manifest.json").read_text())
    assert "missing" not in manifest, f"the synth needed AWS lookups: {manifest['missing']}"
    stacks = list(synthesized.manifest)
    assert {(stack.account, stack.region) for stack in stacks} == {
        (account, config.region) for account in config.accounts.all
    }
    # Load balancer access logs are delivered by the region's Elastic Load Balancing account (a CDK fact).
    allowed = {*config.accounts.all, RegionInfo.get(config.region).elbv2_account}
    for stack in stacks:
        text = json.dumps(stack.template)
        assert set(ACCOUNT_ID.findall(text)) <= allowed, (stack.stack_name, set(ACCOUNT_ID.findall(text)) - allowed)
        assert "dummy1" not in text, stack.stack_name
    for environment in config.environments:
        template = synthesized.raw_template(f"{environment.title}-Network")
        zones = {
            resource["Properties"]["AvailabilityZone"]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::EC2::Subnet"
        }
        assert zones == set(environment.availability_zones[: environment.max_azs])


@pytest.fixture(scope="module")
def extra_synths() -> dict[str, SynthesizedApp]:
    """Synths of committed files beyond the two the session holds, made when a test first asks."""
    return {}


@pytest.mark.parametrize("path", COMMITTED)
def test_every_committed_configuration_is_valid_and_synthesizes_with_no_aws_call(
    path: str,
    request: pytest.FixtureRequest,
    extra_synths: dict[str, SynthesizedApp],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = load_config(ROOT / path)
    if path in SESSION_SYNTHS:
        synthesized = request.getfixturevalue(SESSION_SYNTHS[path])
    else:
        if path not in extra_synths:
            extra_synths[path] = synthesize(config, str(tmp_path_factory.mktemp("cdk.out.committed")))
        synthesized = extra_synths[path]
    check_synth(config, synthesized)


def test_the_own_accounts_checklist_gives_templates_of_the_new_accounts_region_and_repository(
    tmp_path: Path,
) -> None:
    """README.md's "Use your own accounts" on a copy of the sandbox file: valid, one synth, no sandbox value left."""
    path = tmp_path / "team.toml"
    path.write_text(own_accounts_copy((ROOT / DEFAULT_CONFIG_PATH).read_text()))
    config = load_config(path)
    assert config.accounts.all == tuple(TEAM_ACCOUNTS.values())
    assert (config.region, config.github.owner, config.github.repo) == (TEAM_REGION, TEAM_OWNER, TEAM_REPO)

    # Template validation checks the templates' shape, which a region or account id does not change; the
    # committed configurations' synths above run it.
    synthesized = synthesize(config, str(tmp_path / "cdk.out"), validate_templates=False)
    check_synth(config, synthesized)
    for stack in synthesized.manifest:
        text = json.dumps(stack.template)
        assert not [value for value in SANDBOX_VALUES if value in text], stack.stack_name
    oidc = json.dumps(synthesized.raw_template("Tools-GithubOidc"))
    assert f"repo:{TEAM_OWNER}/{TEAM_REPO}:pull_request" in oidc
    assert f"{TEAM_OWNER}/{TEAM_REPO}" in json.dumps(synthesized.raw_template("Tools-Pipeline"))
