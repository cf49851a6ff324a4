"""One normalized JSON snapshot per stack. Update deliberately: make snapshot-update, then review."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import DOCUMENTED_ORDER, SynthesizedApp, normalize_template


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_the_app_has_exactly_the_documented_stacks(synthesized: SynthesizedApp) -> None:
    assert synthesized.stack_names == sorted(DOCUMENTED_ORDER)


@pytest.mark.parametrize("stack_name", DOCUMENTED_ORDER)
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
