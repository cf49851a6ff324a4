#!/usr/bin/env python3
"""The version and rule count of each template scanner of make scan, as docs/security.md shows them.

The scanners live in .venv-scan, which ``make test`` does not create, so the figures the docs
generator prints come from the committed ``scanners/rule-counts.json``. ``make scan`` runs this
script to check that file against the installed scanners (``--write`` rewrites it): a scanner
upgrade that changes a version or a rule count fails the scan until the file says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import control_tower

COUNTS = Path(__file__).resolve().parent / "rule-counts.json"
BIN = Path(sys.executable).parent


def _ids(command: list[str], pattern: str) -> int:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return len(set(re.findall(pattern, output, re.M)))


def measure(cache: Path) -> dict[str, dict[str, str | int]]:
    binary, rules, ct_version = control_tower.unpack(cache)
    guard = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return {
        "cfn-lint": {
            "version": version("cfn-lint"),
            "rules": _ids([str(BIN / "cfn-lint"), "--list-rules"], r"^([EWI]\d{4})\b"),
        },
        "checkov": {
            "version": version("checkov"),
            "rules": _ids([str(BIN / "checkov"), "--list", "--framework", "cloudformation"], r"\b(CKV2?_AWS_\d+)\b"),
        },
        "control-tower": {
            "version": f"{control_tower.PACKAGE.replace('_', '-')} {ct_version} ({guard})",
            "rules": len(control_tower.rule_files(rules)),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {COUNTS.name}")
    parser.add_argument("--cache", type=Path, default=Path(".venv-scan/control-tower"))
    args = parser.parse_args(argv)
    measured = measure(args.cache)
    text = json.dumps(measured, indent=2, sort_keys=True) + "\n"
    if args.write:
        COUNTS.write_text(text)
        return 0
    if not COUNTS.exists() or json.loads(COUNTS.read_text()) != measured:
        print(f"rule counts: {COUNTS.name} does not match the installed scanners: {text}", file=sys.stderr)
        print("rule counts: run .venv-scan/bin/python scanners/rule_counts.py --write and review", file=sys.stderr)
        return 1
    summary = ", ".join(f"{name} {figures['rules']}" for name, figures in sorted(measured.items()))
    print(f"rule counts: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
