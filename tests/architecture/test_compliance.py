"""Security as code: the encryption Aspect, the cdk-nag gate and acknowledgement hygiene."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from components.compliance import EncryptionAtRestAspect
from components.compliance.nag import (
    acknowledge,
    acknowledge_each,
    acknowledgements,
    check_acknowledgement,
    findings,
    synthesized_acknowledgements,
)
from config import DEFAULT_CONFIG_PATH
from stacks.assembly import read_assembly
from tests.support import SynthesizedApp, new_app


def synth_with_aspect(tmp_path: Path, build: Callable[[cdk.Stack], object]) -> str:
    """Synthesize a probe stack under the Aspect; return the synth error, or '' when it passes."""
    app = new_app(str(tmp_path))
    build(cdk.Stack(app, "Probe"))
    cdk.Aspects.of(app).add(EncryptionAtRestAspect())
    try:
        app.synth()
    except RuntimeError as error:
        return str(error)
    return ""


def test_encryption_aspect_names_each_unencrypted_store(tmp_path: Path) -> None:
    def build(stack: cdk.Stack) -> None:
        s3.CfnBucket(stack, "PlainBucket")
        sns.Topic(stack, "PlainTopic")
        sqs.CfnQueue(stack, "PlainQueue")
        logs.LogGroup(stack, "PlainLogs")

    error = synth_with_aspect(tmp_path, build)
    assert error.startswith("ValidationFailed")
    for line in (
        "Probe/PlainBucket: S3 bucket is not encrypted: set encryption (S3_MANAGED or KMS)",
        "Probe/PlainLogs/Resource: CloudWatch log group is not encrypted: set encryption_key to a KMS key",
        "Probe/PlainQueue: SQS queue is not encrypted: set encryption (SQS_MANAGED or KMS)",
        "Probe/PlainTopic/Resource: SNS topic is not encrypted: set master_key to a KMS key",
    ):
        assert line in error
    assert error.count("Rule Annotation::EncryptionAtRest") == 4


def test_encryption_aspect_accepts_encrypted_stores(tmp_path: Path) -> None:
    def build(stack: cdk.Stack) -> None:
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        s3.Bucket(stack, "Bucket", encryption=s3.BucketEncryption.S3_MANAGED)
        sns.Topic(stack, "Topic", master_key=key)
        sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.SQS_MANAGED)
        logs.LogGroup(stack, "Logs", encryption_key=key)

    assert synth_with_aspect(tmp_path, build) == ""


def test_both_nag_packs_check_every_stack(synthesized: SynthesizedApp) -> None:
    assert [pack.read_pack_name for pack in synthesized.packs] == ["AwsSolutions", "NIST.800.53.R5"]


def test_no_unacknowledged_nag_finding_in_any_stack(synthesized: SynthesizedApp) -> None:
    unacknowledged = sorted(f"{rule_id} at {path}" for rule_id, path in findings(synthesized.packs, synthesized.app))
    assert unacknowledged == []


@pytest.fixture(scope="module")
def all_findings(unacknowledged: dict[str, set[tuple[str, str]]]) -> set[tuple[str, str]]:
    """Every finding of both packs when no acknowledgement is applied: (rule id, construct path).

    The app is built with acknowledgements off in a process of its own (tests/unacknowledged.py).
    """
    return unacknowledged[DEFAULT_CONFIG_PATH]


@pytest.fixture(scope="module")
def project_acknowledgements(synthesized: SynthesizedApp) -> list[tuple[str, str, str]]:
    found = synthesized.acknowledgements
    assert found, "the app acknowledges findings; an empty list means the audit reads the wrong metadata"
    return found


def test_every_acknowledgement_is_granular_and_explained(project_acknowledgements: list[tuple[str, str, str]]) -> None:
    for path, rule_id, reason in project_acknowledgements:
        try:
            check_acknowledgement(rule_id, reason)
        except ValueError as error:
            pytest.fail(f"{path}: {error}")


def test_every_acknowledgement_still_matches_a_finding(
    project_acknowledgements: list[tuple[str, str, str]], all_findings: set[tuple[str, str]]
) -> None:
    stale = [
        f"{rule_id} at {path}"
        for path, rule_id, _ in project_acknowledgements
        if not any(
            found_id == rule_id and (found_path == path or found_path.startswith(path + "/"))
            for found_id, found_path in all_findings
        )
    ]
    assert stale == [], "acknowledgements that no longer match a finding: remove them"


def test_acknowledgements_off_really_shows_the_acknowledged_findings(
    project_acknowledgements: list[tuple[str, str, str]], all_findings: set[tuple[str, str]]
) -> None:
    """Guards the stale check above: without acknowledgements the pack must report more."""
    assert len(all_findings) >= len({(rule_id, path) for path, rule_id, _ in project_acknowledgements})


def test_the_assembly_holds_every_acknowledgement_of_the_construct_tree(tmp_path: Path) -> None:
    """The acknowledgements the tests read from the assembly are those of the tree, paths and reasons alike."""
    app = new_app(str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    bucket = s3.Bucket(stack, "Bucket", encryption=s3.BucketEncryption.S3_MANAGED)
    reason = "The bucket is the access log target itself, so it cannot log to itself."
    acknowledge(bucket, "AwsSolutions-S1", reason)
    acknowledge_each(
        bucket.node.default_child, [("NIST.800.53.R5-S3BucketLoggingEnabled", reason), ("AwsSolutions-S10", reason)]
    )
    assembly = app.synth()
    from_tree = acknowledgements(app)
    (stack_metadata,) = (stack.metadata for stack in read_assembly(Path(assembly.directory)))
    assert len(from_tree) == 3
    assert sorted(synthesized_acknowledgements(stack_metadata)) == sorted(from_tree)


@pytest.mark.parametrize(
    ("rule_id", "reason", "message"),
    [
        ("AwsSolutions-IAM5", "The role needs these actions for every object in the bucket.", "name the finding"),
        ("AwsSolutions-S1", "Not needed.", "at least one full sentence"),
        ("AwsSolutions-S1", "sandbox only, we do not care about the access logs here", "at least one full sentence"),
        ("S1", "The bucket is the access log target itself, so it cannot log to itself.", "expected a rule id"),
        ("NIST.800.53.R5-S3BucketLoggingEnabled", "Log bucket.", "at least one full sentence"),
    ],
)
def test_vague_acknowledgements_are_refused(rule_id: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_acknowledgement(rule_id, reason)


def test_nist_rule_ids_are_accepted() -> None:
    check_acknowledgement(
        "NIST.800.53.R5-S3BucketLoggingEnabled",
        "The bucket is the access log target itself, so it cannot log to itself.",
    )


def test_cloudformation_template_validation_is_a_gate_not_a_warning(tmp_path: Path) -> None:
    """cdk.json turns the CDK's template validation into errors: a typo in an override fails the synth."""
    app = new_app(str(tmp_path))
    topic = sns.CfnTopic(cdk.Stack(app, "Probe"), "Topic")
    topic.add_property_override("DisplayNam", "release events")
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*'DisplayNam' was unexpected"):
        app.synth()
