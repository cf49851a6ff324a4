"""docs/security.md: one row per security gate, with its version, rule count, fixes and exceptions.

Counted, not written down: cdk-nag's versions and rules come from the installed package (the
``applyRule`` calls of each pack), the template scanners' from ``scanners/rule-counts.json``
(which ``make scan`` checks against the installed scanners), the tests' rules from their test
functions, and every exception from the synthesized app. Only the findings each gate made the
project fix are written here (:data:`FIXED`), from the commits that fixed them.
"""

from __future__ import annotations

import ast
import glob
import json
import re
import tarfile
from importlib.metadata import version
from pathlib import Path

from tools.docgen import findings
from tools.docgen.model import ROOT, AppModel

#: The findings each gate had the project fix (issue 15), with how many resources each concerned.
FIXED: dict[str, str] = {
    "cdk-nag AwsSolutions": "none in issue 15",
    "cdk-nag NIST 800-53 R5": (
        "`CloudWatchAlarmAction` on the 12 health alarms (they notify the deployment topic now, "
        "acknowledgement removed); `ELBDeletionProtectionEnabled` on prod's load balancer (protected now)"
    ),
    "checkov": "none in issue 15",
    "cfn-lint": "none in issue 15",
    "Control Tower": (
        "26 findings: `CT.KMS.PR.3` on 8 keys (deny grants not for AWS resources), `CT.CLOUDWATCH.PR.1` on "
        "12 alarms (notify the deployment topic), `CT.ECS.PR.7` on 3 task definitions (container memory "
        "limit), `CT.ELASTICLOADBALANCING.PR.5` on prod's load balancer (deletion protection), "
        "`CT.CLOUDWATCH.PR.2` on the 2 build log groups (kept a year)"
    ),
    "IAM wildcard test": "none in issue 15",
    "pull-request exposure test": (
        "`github-diff` could assume the CDK lookup role (ReadOnlyAccess) of all four accounts, prod included; "
        "now only the template reader of each account, which reads the project's stack templates; and "
        "`github-deploy` could assume the CDK deploy, publishing and lookup roles of dev, staging and prod, "
        "now only the tools account's deploy and file-publishing roles"
    ),
}

NAG_PACKS = {
    "cdk-nag AwsSolutions": ("aws-solutions.js", "AwsSolutions-"),
    "cdk-nag NIST 800-53 R5": ("nist-800-53-r5.js", "NIST.800.53.R5-"),
}


def nag_rule_count(pack_file: str) -> int:
    """The rules a cdk-nag pack applies: its ``applyRule`` calls, read from the installed package."""
    import cdk_nag

    (tarball,) = glob.glob(str(Path(cdk_nag.__file__).parent / "_jsii" / "*.jsii.tgz"))
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/lib/packs/{pack_file}")
        assert member is not None
        return member.read().decode().count("this.applyRule(")


def test_count(path: str) -> int:
    tree = ast.parse((ROOT / path).read_text())
    return sum(1 for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))


def _template_entries(model: AppModel, key: str) -> int:
    return len(findings._merge(findings._template_skips(model, lambda _: True, key), list(model.stacks)))


def _cfn_lint_ignores(model: AppModel) -> int:
    count = 0
    for stack in model.stacks.values():
        for resource in stack.resources.values():
            entry = resource.metadata.get("cfn-lint", {})
            if isinstance(entry, dict):
                count += len(entry.get("config", {}).get("ignore_checks", []))
    return count


def _global_cfn_lint_ignores() -> list[str]:
    config = (ROOT / "scanners" / "cfn-lint.yaml").read_text()
    section = config[config.index("ignore_checks:") :]
    return re.findall(r"^  - (\w+)", section, re.M)


def gates(model: AppModel) -> str:
    counts = json.loads((ROOT / "scanners" / "rule-counts.json").read_text())
    nag_version = version("cdk-nag")
    rows = []
    for gate, (pack_file, prefix) in NAG_PACKS.items():
        acknowledged = {(a.rule_id, a.path) for a in model.acknowledgements if a.rule_id.startswith(prefix)}
        rows.append(
            (
                gate,
                "every synth (`make synth`, `make test`)",
                f"cdk-nag {nag_version}",
                str(nag_rule_count(pack_file)),
                FIXED[gate],
                f"{len(acknowledged)} acknowledgements (rule, construct), each with its reason in the "
                "architecture pages' cdk-nag tables",
            )
        )
    rows.append(
        (
            "checkov",
            "`make scan` (`make lint`, CI)",
            f"checkov {counts['checkov']['version']}",
            f"{counts['checkov']['rules']} CloudFormation checks",
            FIXED["checkov"],
            f"{_template_entries(model, 'checkov')} skips (check, construct), no global skip; reasons in the "
            "architecture pages' checkov tables",
        )
    )
    ignored = ", ".join(f"`{rule}`" for rule in _global_cfn_lint_ignores())
    rows.append(
        (
            "cfn-lint",
            "`make scan` (`make lint`, CI)",
            f"cfn-lint {counts['cfn-lint']['version']}",
            f"{counts['cfn-lint']['rules']} rules, informational ones included",
            FIXED["cfn-lint"],
            f"{ignored} ignored for every template (aws-cdk-lib's redundant DependsOn of a Lambda function on its "
            f"role, proved by a test; reason in scanners/cfn-lint.yaml) and {_cfn_lint_ignores(model)} rule "
            "ignored on one resource (reason beside the construct)",
        )
    )
    rows.append(
        (
            "Control Tower",
            "`make scan` (`make lint`, CI)",
            counts["control-tower"]["version"],
            f"{counts['control-tower']['rules']} proactive controls",
            FIXED["Control Tower"],
            f"{len(findings.control_tower_rows(model, lambda _: True))} exceptions (control, construct), listed "
            "below with their reasons",
        )
    )
    wildcards = "tests/architecture/test_iam_wildcards.py"
    rows.append(
        (
            "IAM wildcard test",
            "`make test`",
            f"`{wildcards}`",
            f"{test_count(wildcards)} tests over every policy document of every template",
            FIXED["IAM wildcard test"],
            "VPC endpoint policies' principals are not checked, because such a policy only filters what passes "
            "through the endpoint and grants nothing; their actions are",
        )
    )
    exposure = "tests/architecture/test_pull_request_exposure.py"
    rows.append(
        (
            "pull-request exposure test",
            "`make test`",
            f"`{exposure}`",
            f"{test_count(exposure)} tests: every role that accepts a `pull_request` "
            "subject, everything it can assume, followed to the end; from every GitHub role, nothing in "
            "dev, staging or prod but the template reader",
            FIXED["pull-request exposure test"],
            "none: the roles reached read the project's stack templates and the CDK bootstrap version only",
        )
    )
    lines = [
        "| Gate | Runs in | Version | Rules | Findings fixed | Exceptions |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(findings._cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
