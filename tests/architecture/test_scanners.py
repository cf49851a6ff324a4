"""The exceptions the template scanners (cfn-lint, checkov, Control Tower) are told about, and how.

``make scan`` runs checkov with no global skip, cfn-lint with one ignored rule and every AWS
Control Tower proactive control. Every other exception sits on one resource, as template
Metadata. This file is the reviewed list of them: a new exception, or one that moves to another
resource, fails here until it is added below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from components.compliance import checkov, control_tower, exempt, skip
from components.compliance.cfn_lint import check_ignore, ignore
from components.compliance.nag import acknowledgements, findings
from release_guard.plan import references
from scanners import control_tower as control_tower_gate
from tests.support import ROOT, SynthesizedApp, new_app

#: Every checkov check skipped on a resource: stack (without its environment) -> construct path -> checks.
EXPECTED_CHECKOV_SKIPS: dict[str, dict[str, set[str]]] = {
    "Network": {
        # CDK's handler that empties the VPC's default security group (restrict_default_security_group).
        "Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"},
    },
    "Service": {
        "Service/AccessLogs/Resource": {"CKV_AWS_18"},
        "Service/LoadBalancerSecurityGroup/Resource": {"CKV_AWS_260"},
        "Service/LoadBalancer/ProductionListener/Resource": {"CKV_AWS_2", "CKV_AWS_103"},
        "Service/LoadBalancer/TestListener/Resource": {"CKV_AWS_2", "CKV_AWS_103"},
        # The test-traffic hook (components/ecs_blue_green/lifecycle_hook.py): the invoker outside the VPC,
        # the prober in the task subnets, with no environment.
        "Service/TestTrafficHook/Role/DefaultPolicy/Resource": {"CKV_AWS_111"},
        "Service/TestTrafficHook/Function/Resource": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"},
        "Service/TestTrafficHook/Prober/Role/DefaultPolicy/Resource": {"CKV_AWS_111"},
        "Service/TestTrafficHook/Prober/Function/Resource": {"CKV_AWS_115", "CKV_AWS_116"},
        # The LiveTraffic reader (components/ecs_blue_green/live_traffic_reader.py): no VPC, no environment.
        "Service/LiveTraffic/Role/DefaultPolicy/Resource": {"CKV_AWS_111"},
        "Service/LiveTraffic/Function/Resource": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"},
    },
    "Pipeline": {
        "Artifacts/AccessLogBucket/Resource": {"CKV_AWS_18"},
        # The post-deploy bake of each environment that bakes (pipelines/health_bake.py).
        "StagingBake/Role/DefaultPolicy/Resource": {"CKV_AWS_111"},
        "StagingBake/Function/Resource": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"},
        "ProdBake/Role/DefaultPolicy/Resource": {"CKV_AWS_111"},
        "ProdBake/Function/Resource": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"},
    },
}
#: Every Control Tower control excepted on a resource, by stack: dev and staging differ from prod.
_CT_SERVICE = {
    "Service/AccessLogs/Resource": {"CT.S3.PR.10", "CT.S3.PR.2", "CT.S3.PR.4", "CT.S3.PR.9"},
    "Service/LoadBalancer/ProductionListener/Resource": {"CT.ELASTICLOADBALANCING.PR.1"},
    "Service/LoadBalancer/TestListener/Resource": {"CT.ELASTICLOADBALANCING.PR.1"},
    "Service/TestTrafficHook/Function/Resource": {"CT.LAMBDA.PR.3"},
    "Service/TestTrafficHook/Prober/Function/Resource": {"CT.LAMBDA.PR.3"},
    "Service/LiveTraffic/Function/Resource": {"CT.LAMBDA.PR.3"},
}
#: Kept shorter than a year, and torn down with cdk destroy: dev and staging only.
_CT_NON_PROD_SERVICE = {
    **_CT_SERVICE,
    "Service/Logs/Resource": {"CT.CLOUDWATCH.PR.2"},
    "Service/TestTrafficHook/Logs/Resource": {"CT.CLOUDWATCH.PR.2"},
    "Service/TestTrafficHook/Prober/Logs/Resource": {"CT.CLOUDWATCH.PR.2"},
    "Service/LiveTraffic/Logs/Resource": {"CT.CLOUDWATCH.PR.2"},
    "Service/LoadBalancer/Resource": {"CT.ELASTICLOADBALANCING.PR.5"},
}
_CT_NETWORK = {"Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler": {"CT.LAMBDA.PR.3"}}
_CT_NON_PROD_NETWORK = {**_CT_NETWORK, "Network/FlowLogGroup/Resource": {"CT.CLOUDWATCH.PR.2"}}
EXPECTED_CONTROL_TOWER_SKIPS: dict[str, dict[str, set[str]]] = {
    "Dev-Network": _CT_NON_PROD_NETWORK,
    "Staging-Network": _CT_NON_PROD_NETWORK,
    "Prod-Network": _CT_NETWORK,
    "Dev-Service": _CT_NON_PROD_SERVICE,
    "Staging-Service": _CT_NON_PROD_SERVICE,
    "Prod-Service": _CT_SERVICE,
    "Tools-Pipeline": {
        "Artifacts/AccessLogBucket/Resource": {"CT.S3.PR.10", "CT.S3.PR.2", "CT.S3.PR.4", "CT.S3.PR.9"},
        "Artifacts/Bucket/Resource": {"CT.S3.PR.4", "CT.S3.PR.9"},
        "ImageBuild/Project/Resource": {"CT.CODEBUILD.PR.4"},
        "StagingBake/Function/Resource": {"CT.LAMBDA.PR.3"},
        "ProdBake/Function/Resource": {"CT.LAMBDA.PR.3"},
    },
}
#: Every cfn-lint rule ignored on a resource, in the same shape.
EXPECTED_CFN_LINT_IGNORES: dict[str, dict[str, set[str]]] = {
    "Pipeline": {"Release/SourceRole/DefaultPolicy/Resource": {"I3510"}},
}

if TYPE_CHECKING:
    from tests.architecture.conftest import CertificateApp


def resource_metadata(synthesized: SynthesizedApp, key: str) -> list[tuple[str, str, Any]]:
    """(stack name, construct path inside the stack, Metadata[key]) of every resource that has it."""
    found = []
    for name in synthesized.stack_names:
        paths = synthesized.resource_paths[name]
        for logical_id, resource in synthesized.raw_template(name)["Resources"].items():
            if key in resource.get("Metadata", {}):
                found.append((name, paths[logical_id], resource["Metadata"][key]))
    return found


def by_stack_kind(entries: list[tuple[str, str, set[str]]]) -> dict[str, dict[str, set[str]]]:
    """Fold the entries of Dev-/Staging-/Prod- (and Tools-) stacks into one table per kind of stack."""
    table: dict[str, dict[str, set[str]]] = {}
    for stack_name, path, ids in entries:
        kind = stack_name.split("-", 1)[1]
        table.setdefault(kind, {}).setdefault(path, set()).update(ids)
    return table


def test_checkov_skips_are_the_reviewed_ones(synthesized: SynthesizedApp) -> None:
    entries = [
        (name, path, {entry["id"] for entry in value["skip"]})
        for name, path, value in resource_metadata(synthesized, checkov.METADATA_KEY)
    ]
    assert by_stack_kind(entries) == EXPECTED_CHECKOV_SKIPS


def test_every_checkov_skip_has_a_specific_reason(synthesized: SynthesizedApp) -> None:
    skips = resource_metadata(synthesized, checkov.METADATA_KEY)
    assert skips, "the templates carry checkov skips; an empty list means this test reads the wrong metadata"
    for name, path, value in skips:
        assert set(value) == {"skip"}, f"{name}/{path}: checkov metadata holds only the skip list"
        for entry in value["skip"]:
            assert set(entry) == {"id", "comment"}, f"{name}/{path}: {entry}"
            try:
                checkov.check_skip(entry["id"], entry["comment"])
            except ValueError as error:
                pytest.fail(f"{name}/{path}: {error}")


def test_every_environment_skips_the_same_checks(synthesized: SynthesizedApp) -> None:
    """The exceptions follow the design, not one environment: each Service/Network stack has the same ones."""
    per_stack: dict[str, set[tuple[str, str]]] = {}
    for name, path, value in resource_metadata(synthesized, checkov.METADATA_KEY):
        per_stack.setdefault(name, set()).update((path, entry["id"]) for entry in value["skip"])
    for kind in ("Network", "Service"):
        variants = {frozenset(ids) for name, ids in per_stack.items() if name.endswith(f"-{kind}")}
        assert len(variants) == 1, f"the {kind} stacks of the environments skip different checks"


def test_control_tower_skips_are_the_reviewed_ones(synthesized: SynthesizedApp) -> None:
    table: dict[str, dict[str, set[str]]] = {}
    for name, path, value in resource_metadata(synthesized, control_tower.METADATA_KEY):
        table.setdefault(name, {})[path] = {entry["id"] for entry in value["skip"]}
    assert table == EXPECTED_CONTROL_TOWER_SKIPS


def test_prod_keeps_every_log_group_a_year_and_protects_its_load_balancer(synthesized: SynthesizedApp) -> None:
    """What the non-production exceptions say about prod holds: no such exception there, ever."""
    for name, _, value in resource_metadata(synthesized, control_tower.METADATA_KEY):
        ids = {entry["id"] for entry in value["skip"]}
        if name.startswith(("Prod-", "Tools-")):
            assert not ids & {"CT.CLOUDWATCH.PR.2", "CT.ELASTICLOADBALANCING.PR.5"}, name


def test_every_control_tower_skip_has_a_specific_reason(synthesized: SynthesizedApp) -> None:
    skips = resource_metadata(synthesized, control_tower.METADATA_KEY)
    assert skips
    for name, path, value in skips:
        assert set(value) == {"skip"}, f"{name}/{path}: Control Tower metadata holds only the skip list"
        for entry in value["skip"]:
            assert set(entry) == {"id", "comment"}, f"{name}/{path}: {entry}"
            try:
                control_tower.check_skip(entry["id"], entry["comment"])
            except ValueError as error:
                pytest.fail(f"{name}/{path}: {error}")


# -- the Control Tower gate script (scanners/control_tower.py), without its binary ------------

GUARD_REPORT = [
    {
        "name": "cdk.out/Dev-Service.template.json",
        "not_compliant": [
            {
                "Rule": {
                    "name": "s3_bucket_logging_enabled_check",
                    "checks": [
                        {
                            "Rule": {
                                "messages": {"custom_message": "[CT.S3.PR.2]: Require an Amazon S3 bucket to log"},
                                "checks": [{"Clause": {"value": {"path": "/Resources/LogsBucket12AB/Properties"}}}],
                            }
                        }
                    ],
                }
            }
        ],
        "compliant": ["s3_bucket_versioning_enabled_check"],
    },
    {"name": "cdk.out/Dev-Network.template.json", "not_compliant": []},
]


def test_the_gate_reads_the_control_and_the_resource_of_each_failed_rule() -> None:
    assert control_tower_gate.parse_report(json.dumps(GUARD_REPORT)) == {
        control_tower_gate.Finding("Dev-Service.template.json", "LogsBucket12AB", "CT.S3.PR.2")
    }


def write_template(tmp_path: Path, metadata: dict[str, Any]) -> Path:
    template = tmp_path / "Dev-Service.template.json"
    resource = {"Type": "AWS::S3::Bucket", "Metadata": metadata}
    template.write_text(json.dumps({"Resources": {"LogsBucket12AB": resource}}))
    return template


@pytest.mark.parametrize(
    ("skipped", "problems"),
    [
        ([], ["Dev-Service.template.json LogsBucket12AB: CT.S3.PR.2 (no exception on the resource)"]),
        (["CT.S3.PR.2"], []),
        (
            ["CT.S3.PR.2", "CT.S3.PR.9"],
            ["Dev-Service.template.json LogsBucket12AB: the exception of CT.S3.PR.9 matches no finding: remove it"],
        ),
    ],
)
def test_the_gate_fails_on_an_unexcepted_finding_and_on_a_stale_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skipped: list[str], problems: list[str]
) -> None:
    template = write_template(
        tmp_path, {"control-tower": {"skip": [{"id": i, "comment": "Why it is fine here."} for i in skipped]}}
    )
    monkeypatch.setattr(
        control_tower_gate, "guard_findings", lambda *_: control_tower_gate.parse_report(json.dumps(GUARD_REPORT))
    )
    found, _, _ = control_tower_gate.gate(Path("cfn-guard"), Path("rules"), [template])
    assert found == problems


def test_cfn_lint_ignores_are_the_reviewed_ones(synthesized: SynthesizedApp) -> None:
    entries = [
        (name, path, set(value["config"]["ignore_checks"]))
        for name, path, value in resource_metadata(synthesized, "cfn-lint")
    ]
    assert by_stack_kind(entries) == EXPECTED_CFN_LINT_IGNORES


# -- the committed scanner configuration ---------------------------------------------


def test_checkov_runs_offline_with_no_global_skip() -> None:
    config = (ROOT / "scanners" / "checkov.yaml").read_text()
    settings = [line for line in config.splitlines() if line and not line.startswith("#")]
    assert "skip-download: true" in settings
    assert not any(re.match(r"(skip-check|soft-fail|check|baseline)\b", line) for line in settings)
    assert settings[settings.index("framework:") + 1] == "  - cloudformation"


def ignored_rules_with_comments(config: Path) -> list[tuple[str, list[str]]]:
    """(rule id, the comment lines right above it) for each entry of ``ignore_checks``."""
    lines = config.read_text().splitlines()
    start = lines.index("ignore_checks:")
    found, comment = [], []
    for line in lines[start + 1 :]:
        if line.startswith("  #"):
            comment.append(line.strip("# "))
        elif line.startswith("  - "):
            found.append((line.removeprefix("  - ").strip(), comment))
            comment = []
        elif line and not line.startswith(" "):
            break
    return found


def test_cfn_lint_ignores_only_explained_rules() -> None:
    config = ROOT / "scanners" / "cfn-lint.yaml"
    ignored = ignored_rules_with_comments(config)
    assert [rule for rule, _ in ignored] == ["W3005"]
    for rule, comment in ignored:
        reason = " ".join(comment)
        # Names the construct that emits it and why it is harmless.
        assert len(reason.split()) >= 30, f"{rule}: explain which CDK construct emits it and why it is noise"
        assert "aws-cdk-lib" in reason


def test_the_ignored_w3005_is_only_the_lambda_role_dependency_cdk_writes(synthesized: SynthesizedApp) -> None:
    """The proof behind ignoring W3005: every DependsOn that restates a reference is a Lambda
    function's DependsOn on its own execution role, as aws-cdk-lib writes it. A redundant
    DependsOn anywhere else would be hidden by the ignore, so it fails here instead; and when
    aws-cdk-lib stops writing it, this fails too, and the ignore can go."""
    redundant = set()
    for name in synthesized.stack_names:
        resources = synthesized.raw_template(name)["Resources"]
        for resource in resources.values():
            depends_on = resource.get("DependsOn", [])
            # Each logical id the resource's properties refer to, with the top-level property that does.
            referenced = {
                target: prop
                for prop, value in (resource.get("Properties") or {}).items()
                for target in references(value)[0]
                if target in resources
            }
            for target in set([depends_on] if isinstance(depends_on, str) else depends_on) & set(referenced):
                own_role = referenced[target] == "Role"
                redundant.add((name.split("-")[1], resource["Type"], resources[target]["Type"], own_role))
    assert redundant == {
        ("Network", "AWS::Lambda::Function", "AWS::IAM::Role", True),
        ("Service", "AWS::Lambda::Function", "AWS::IAM::Role", True),
        ("Pipeline", "AWS::Lambda::Function", "AWS::IAM::Role", True),
    }


def test_make_lint_runs_both_scanners_over_a_fresh_synth() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile[makefile.index("\nlint:") : makefile.index("\n\n", makefile.index("\nlint:"))]
    assert "$(MAKE) --no-print-directory scan" in lint
    scan = makefile[makefile.index("\nscan:") : makefile.index("\n\n", makefile.index("\nscan:"))]
    assert scan.split("\n")[1].startswith("scan: $(SCAN_STAMP) synth")
    assert "cfn-lint --config-file scanners/cfn-lint.yaml" in scan
    assert "$(CHECKOV) --config-file scanners/checkov.yaml\n" in scan
    assert "CHECKOV := BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(SCAN_VENV)/bin/checkov" in makefile
    assert "$(CONTROL_TOWER)\n" in scan
    assert "CONTROL_TOWER := $(SCAN_VENV)/bin/python scanners/control_tower.py" in makefile
    assert "--no-deps -r requirements-guard.txt" in makefile
    # The canary runs with the same configuration and must fail (the Control Tower gate with findings).
    assert "@$(CONTROL_TOWER) $(CANARY)/canary.template.json >/dev/null; test $$? -eq 1" in scan
    assert "@! $(CHECKOV) --config-file scanners/checkov.yaml -d $(CANARY)" in scan
    assert "@! $(SCAN_VENV)/bin/cfn-lint --config-file scanners/cfn-lint.yaml -- $(CANARY)/" in scan
    assert "make lint" in (ROOT / ".ci" / "run").read_text()


# -- the helpers ------------------------------------------------------------------------


def probe(tmp_path: Path) -> cdk.Stack:
    return cdk.Stack(new_app(str(tmp_path)), "Probe")


def test_skip_writes_the_metadata_checkov_reads(tmp_path: Path) -> None:
    stack = probe(tmp_path)
    bucket = s3.Bucket(stack, "Logs")
    reason = "This bucket receives access logs, so logging its own requests would only record the delivery."
    skip(bucket, "CKV_AWS_18", reason)
    skip(bucket, "CKV_AWS_21", "Versioning a bucket of throwaway probe objects would keep them for no reader.")
    resource = stack.resolve(bucket.node.default_child.logical_id)  # type: ignore[union-attr]
    metadata = cdk.assertions.Template.from_stack(stack).to_json()["Resources"][resource]["Metadata"]
    assert metadata["checkov"] == {
        "skip": [
            {"id": "CKV_AWS_18", "comment": reason},
            {
                "id": "CKV_AWS_21",
                "comment": "Versioning a bucket of throwaway probe objects would keep them for no reader.",
            },
        ]
    }


def test_skip_refuses_a_second_skip_of_the_same_check(tmp_path: Path) -> None:
    bucket = s3.Bucket(probe(tmp_path), "Logs")
    reason = "This bucket receives access logs, so logging its own requests would only record the delivery."
    skip(bucket, "CKV_AWS_18", reason)
    with pytest.raises(ValueError, match="CKV_AWS_18 is already skipped"):
        skip(bucket, "CKV_AWS_18", reason)


def test_skip_needs_one_cloudformation_resource(tmp_path: Path) -> None:
    stack = probe(tmp_path)
    with pytest.raises(TypeError, match="Probe: scanner exceptions go on one CloudFormation resource"):
        skip(stack, "CKV_AWS_18", "The stack itself is not a resource and cannot carry a skip of its own.")


@pytest.mark.parametrize(
    ("check_id", "reason", "message"),
    [
        ("CKV_AWS_18", "Not needed.", "at least one full sentence"),
        (
            "CKV_AWS_18",
            "sandbox only, nobody reads the access logs of this bucket anyway",
            "at least one full sentence",
        ),
        ("CKV_AWS_18 ", "This bucket receives access logs, so logging its own requests records nothing.", "one check"),
        (
            "AwsSolutions-S1",
            "This bucket receives access logs, so logging its own requests records nothing.",
            "one check",
        ),
        ("CKV_AWS_*", "Every check of this resource is skipped because it is a reference implementation.", "one check"),
    ],
)
def test_vague_checkov_skips_are_refused(check_id: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        checkov.check_skip(check_id, reason)


def test_ignore_writes_the_metadata_cfn_lint_reads(tmp_path: Path) -> None:
    stack = probe(tmp_path)
    topic = sns.Topic(stack, "Topic")
    ignore(topic, "I3510", "The probe topic's policy names an ARN format that cfn-lint does not expect yet.")
    resource = stack.resolve(topic.node.default_child.logical_id)  # type: ignore[union-attr]
    metadata = cdk.assertions.Template.from_stack(stack).to_json()["Resources"][resource]["Metadata"]
    assert metadata["cfn-lint"] == {"config": {"ignore_checks": ["I3510"]}}


@pytest.mark.parametrize(
    ("rule_id", "reason", "message"),
    [
        ("W3005", "Noise.", "at least one full sentence"),
        ("W*", "Every warning of this resource is ignored because CDK wrote the resource.", "one rule id"),
    ],
)
def test_vague_cfn_lint_ignores_are_refused(rule_id: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_ignore(rule_id, reason)


def test_control_tower_skip_writes_the_metadata_the_gate_reads(tmp_path: Path) -> None:
    stack = probe(tmp_path)
    bucket = s3.Bucket(stack, "Logs")
    reason = "This bucket receives access logs, so logging its own requests would only record the delivery."
    control_tower.skip(bucket, "CT.S3.PR.2", reason)
    with pytest.raises(ValueError, match=r"CT\.S3\.PR\.2 is already skipped"):
        control_tower.skip(bucket, "CT.S3.PR.2", reason)
    resource = stack.resolve(bucket.node.default_child.logical_id)  # type: ignore[union-attr]
    metadata = cdk.assertions.Template.from_stack(stack).to_json()["Resources"][resource]["Metadata"]
    assert metadata["control-tower"] == {"skip": [{"id": "CT.S3.PR.2", "comment": reason}]}


@pytest.mark.parametrize(
    ("control_id", "reason", "message"),
    [
        ("CT.S3.PR.2", "Not needed.", "at least one full sentence"),
        ("CT.S3.PR.*", "Every control of this bucket is skipped because it is a reference implementation.", "one"),
        ("ct-s3-pr-2", "This bucket receives access logs, so logging its own requests records nothing.", "one"),
        ("CKV_AWS_18", "This bucket receives access logs, so logging its own requests records nothing.", "one"),
    ],
)
def test_vague_control_tower_skips_are_refused(control_id: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        control_tower.check_skip(control_id, reason)


def test_with_a_certificate_the_production_listener_needs_no_exception(dev_with_a_certificate: CertificateApp) -> None:
    """The plain-HTTP exceptions are made only when no certificate is configured, and are not needed otherwise."""
    app, service, template = dev_with_a_certificate.app, dev_with_a_certificate.service, dev_with_a_certificate.template
    assert findings(dev_with_a_certificate.packs, app) == set()
    production = service.service.load_balancing.production_listener.node.default_child
    security_group = service.service.load_balancing.security_group.node.default_child
    resources = {
        name: template["Resources"][service.resolve(construct.logical_id)]  # type: ignore[union-attr]
        for name, construct in (("listener", production), ("security group", security_group))
    }
    assert "checkov" not in resources["listener"].get("Metadata", {})
    # Port 80 stays open to the public for the redirect to HTTPS alone, and says so.
    skipped = [entry["id"] for entry in resources["security group"]["Metadata"]["checkov"]["skip"]]
    assert skipped == ["CKV_AWS_260"]
    acknowledged = {rule_id for path, rule_id, _ in acknowledgements(app) if "/ProductionListener" in path}
    assert acknowledged == set()
    # The redirect listener has no certificate of its own: it only sends users to the one that has.
    redirect = {rule_id for path, rule_id, _ in acknowledgements(app) if "/Redirect80To443" in path}
    assert redirect == {"NIST.800.53.R5-ELBv2ACMCertificateRequired"}


def test_control_tower_gate_without_its_package_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No traceback when the scan virtualenv lacks the rules package (neither cdklabs nor its child)."""
    monkeypatch.setattr(control_tower_gate, "PACKAGE", "nonexistent_parent_package.cdk_validator_cfnguard")
    with pytest.raises(SystemExit) as raised:
        control_tower_gate.unpack(tmp_path)
    assert raised.value.code == control_tower_gate.EXIT_ERROR
    assert capsys.readouterr().err == (
        "control-tower: nonexistent_parent_package.cdk_validator_cfnguard is not installed "
        "(make scan installs requirements-guard.txt)\n"
    )


# -- one exception for several gates -----------------------------------------------------------

EXEMPTION = "This probe function only answers the tests, holds no data and reaches no private resource at all."


def test_exempt_records_one_reason_with_every_gate_it_names(tmp_path: Path) -> None:
    stack = probe(tmp_path)
    bucket = s3.Bucket(stack, "Logs")
    exempt(
        bucket,
        EXEMPTION,
        nag=["AwsSolutions-S1", "NIST.800.53.R5-S3BucketLoggingEnabled"],
        checkov_checks=["CKV_AWS_18"],
        control_tower_controls=["CT.S3.PR.2"],
    )
    resource = stack.resolve(bucket.node.default_child.logical_id)  # type: ignore[union-attr]
    metadata = cdk.assertions.Template.from_stack(stack).to_json()["Resources"][resource]["Metadata"]
    assert metadata["checkov"] == {"skip": [{"id": "CKV_AWS_18", "comment": EXEMPTION}]}
    assert metadata["control-tower"] == {"skip": [{"id": "CT.S3.PR.2", "comment": EXEMPTION}]}
    assert sorted(
        (rule, reason) for path, rule, reason in acknowledgements(stack) if path.startswith("Probe/Logs")
    ) == [
        ("AwsSolutions-S1", EXEMPTION),
        ("NIST.800.53.R5-S3BucketLoggingEnabled", EXEMPTION),
    ]


def test_exempt_needs_a_gate_and_holds_the_reason_to_each_gate_s_bar(tmp_path: Path) -> None:
    bucket = s3.Bucket(probe(tmp_path), "Logs")
    with pytest.raises(ValueError, match=r"^Probe/Logs: exempt needs at least one nag rule, checkov check or control$"):
        exempt(bucket, EXEMPTION)
    with pytest.raises(ValueError, match=r"^checkov skip 'CKV_AWS_18': the reason must be at least one full sentence"):
        exempt(bucket, "Not needed.", checkov_checks=["CKV_AWS_18"])
    with pytest.raises(ValueError, match=r"^Control Tower skip 'CT.S3': expected one control id"):
        exempt(bucket, EXEMPTION, control_tower_controls=["CT.S3"])
    with pytest.raises(ValueError, match=r"name the finding, e\.g\. AwsSolutions-IAM5\[Resource::\*\]$"):
        exempt(bucket, EXEMPTION, nag=["AwsSolutions-IAM5"])
