"""One normalized JSON snapshot per stack. Update deliberately: make snapshot-update, then review."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import DEFAULT_CONFIG_PATH, Config, load_config
from stacks.order import stack_names
from tests.support import ROOT, SynthesizedApp, normalize_template

STACKS = stack_names(load_config(ROOT / DEFAULT_CONFIG_PATH))


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_the_app_has_exactly_the_documented_stacks(synthesized: SynthesizedApp, config: Config) -> None:
    assert synthesized.stack_names == sorted(stack_names(config))


@pytest.mark.parametrize("stack_name", STACKS)
def test_stack_template_matches_snapshot(
    synthesized: SynthesizedApp, stack_name: str, json_snapshot: SnapshotAssertion
) -> None:
    assert normalize_template(synthesized.raw_template(stack_name)) == json_snapshot


def test_normalization_removes_version_and_asset_noise() -> None:
    template = {
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
            "Fn": {"Properties": {"Code": {"S3Key": "a" * 64 + ".zip"}}},
        },
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {}},
    }
    assert normalize_template(template) == {
        "Resources": {"Fn": {"Properties": {"Code": {"S3Key": "<asset-hash>.zip"}}}}
    }
