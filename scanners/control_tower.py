#!/usr/bin/env python3
"""The AWS Control Tower proactive controls as a gate over the synthesized templates (make scan).

Control Tower's proactive controls are CloudFormation hooks: a resource that breaks an enabled
control fails the deploy. AWS publishes each control as a cfn-guard rule; the pinned package
``cdklabs.cdk-validator-cfnguard`` (requirements-guard.txt, Apache-2.0) ships those rules
(``rules/control-tower/cfn-guard``) and the cfn-guard binary inside its jsii tarball. This
script unpacks both once into ``.venv-scan/control-tower/<version>``, runs cfn-guard with every
rule over every template, and fails on any finding that the resource does not except.

An exception is template Metadata on the one resource it concerns, written by
``components/compliance/control_tower.py``::

    "Metadata": {"control-tower": {"skip": [{"id": "CT.S3.PR.2", "comment": "<why>"}]}}

cfn-guard itself reads no such Metadata (the Control Tower rules select resources by type
only), so this script applies them, and fails as well on an exception that matches no finding:
a stale exception hides nothing and must go.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "cdklabs.cdk_validator_cfnguard"
METADATA_KEY = "control-tower"
CONTROL_ID = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
RESOURCE_PATH = re.compile(r'"/Resources/([A-Za-z0-9]+)')
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


#: Exit codes: 1 is a finding without exception (or a stale exception), 2 a gate that could not run.
EXIT_FINDINGS = 1
EXIT_ERROR = 2


@dataclass(frozen=True, order=True)
class Finding:
    template: str
    logical_id: str
    control: str


def fail(message: str) -> SystemExit:
    print(f"control-tower: {message}", file=sys.stderr)
    return SystemExit(EXIT_ERROR)


def unpack(cache: Path) -> tuple[Path, Path, str]:
    """(cfn-guard binary, Control Tower rules folder, package version), unpacked once into ``cache``."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except ModuleNotFoundError:  # the parent package (cdklabs) is missing too
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise fail(f"{PACKAGE} is not installed (make scan installs requirements-guard.txt)")
    tarballs = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    if len(tarballs) != 1:
        raise fail(f"expected one jsii tarball in {PACKAGE}, found {len(tarballs)}")
    version = tarballs[0].name.removesuffix(".jsii.tgz").rsplit("@", 1)[1]
    architecture = ARCHITECTURES.get(platform.machine().lower())
    if sys.platform != "linux" or architecture is None:
        raise fail(f"no cfn-guard binary for {sys.platform}/{platform.machine()}")
    target = cache / version
    binary = target / "package" / "bin" / "ubuntu" / architecture / "cfn-guard"
    rules = target / "package" / "rules" / "control-tower" / "cfn-guard"
    if not binary.exists() or not rules.is_dir():
        with tarfile.open(tarballs[0]) as archive:
            members = [
                m
                for m in archive.getmembers()
                if m.name.startswith(("package/rules/control-tower/cfn-guard/", f"package/bin/ubuntu/{architecture}/"))
                or m.name in ("package/LICENSE", "package/guard-version.json")
            ]
            for member in members:
                # Only plain files and folders under package/: what the "data" extraction filter keeps,
                # checked by hand because Python 3.11 before 3.11.4 (Debian 12's) has no filter argument.
                if not (member.isfile() or member.isdir()) or ".." in Path(member.name).parts:
                    raise fail(f"{tarballs[0].name}: unexpected archive member {member.name!r}")
            if hasattr(tarfile, "data_filter"):
                archive.extractall(target, members=members, filter="data")
            else:
                archive.extractall(target, members=members)
        binary.chmod(0o755)
    return binary, rules, version


def rule_files(rules: Path) -> list[Path]:
    return sorted(rules.rglob("*.guard"))


def guard_findings(binary: Path, rules: Path, templates: Iterable[Path]) -> set[Finding]:
    """Every (template, resource, control) cfn-guard reports as not compliant."""
    command = [str(binary), "validate", "--rules", str(rules)]
    for template in templates:
        command += ["--data", str(template)]
    command += ["--output-format", "json", "--show-summary", "none", "--structured"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    # cfn-guard exits 19 when a rule fails and 0 when none does; anything else is an error.
    if result.returncode not in (0, 19):
        raise fail(f"cfn-guard failed ({result.returncode}): {result.stderr.strip()}")
    return parse_report(result.stdout)


def parse_report(output: str) -> set[Finding]:
    """The findings of cfn-guard's ``--output-format json --structured`` report.

    A failed rule names its control in its message (``[CT.S3.PR.2]: ...``) and the resources it
    looked at by path (``/Resources/<logical id>/...``) wherever its checks sit in the report.
    """
    findings = set()
    for report in json.loads(output):
        for failed in report.get("not_compliant", []):
            text = json.dumps(failed)
            for control in set(CONTROL_ID.findall(text)):
                for logical_id in set(RESOURCE_PATH.findall(text)):
                    findings.add(Finding(Path(report["name"]).name, logical_id, control))
    return findings


def exceptions(templates: Iterable[Path]) -> dict[Finding, str]:
    """Every exception written into the templates' Metadata, with its reason."""
    found = {}
    for template in templates:
        for logical_id, resource in json.loads(template.read_text()).get("Resources", {}).items():
            for entry in resource.get("Metadata", {}).get(METADATA_KEY, {}).get("skip", []):
                found[Finding(template.name, logical_id, entry["id"])] = entry["comment"]
    return found


def gate(binary: Path, rules: Path, templates: list[Path]) -> tuple[list[str], int, int]:
    """(problems, findings, excepted): a problem is a finding without exception or a stale exception."""
    findings = guard_findings(binary, rules, templates)
    excepted = exceptions(templates)
    problems = [
        f"{f.template} {f.logical_id}: {f.control} (no exception on the resource)"
        for f in sorted(findings - set(excepted))
    ]
    problems += [
        f"{f.template} {f.logical_id}: the exception of {f.control} matches no finding: remove it"
        for f in sorted(set(excepted) - findings)
    ]
    return problems, len(findings), len(findings & set(excepted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", nargs="*", type=Path, help="templates (default: cdk.out/*.template.json)")
    parser.add_argument("--cache", type=Path, default=Path(".venv-scan/control-tower"))
    parser.add_argument("--describe", action="store_true", help="print the version and rule count, and stop")
    args = parser.parse_args(argv)
    binary, rules, version = unpack(args.cache)
    count = len(rule_files(rules))
    if args.describe:
        guard = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
        print(f"{PACKAGE} {version}, {guard}, {count} Control Tower rules")
        return 0
    templates = args.templates or sorted(Path("cdk.out").glob("*.template.json"))
    if not templates:
        raise fail("no template to check")
    start = time.perf_counter()
    problems, _, excepted = gate(binary, rules, templates)
    took = time.perf_counter() - start
    for problem in problems:
        print(f"control-tower: {problem}")
    if problems:
        print(f"control-tower: {len(problems)} problem(s) in {len(templates)} templates ({count} rules, {took:.1f} s)")
        return EXIT_FINDINGS
    print(
        f"control-tower: no finding without an exception in {len(templates)} templates "
        f"({count} rules of {PACKAGE} {version}, {excepted} excepted findings, {took:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
