#!/usr/bin/env python3
"""Benchmark: how much the app costs to synthesize, and the test suite against one synth.

Prints, side by side and from the same environment:

* the median wall time of ``python app.py`` (the full app) and of an empty CDK app,
  over ``--runs`` runs each (process start, jsii and Node start-up included in both);
* the wall time of one full test-suite run;
* ``synth ratio: X.XX`` (full app / empty app; target: at most 2.0) and
  ``test ratio: Y.YY`` (test suite / one full synth; target: at most 3.0);
* for the record, the full synth without the CloudFormation template validation gate,
  whose rule engine loads once per synth (about a second) whatever the app's size;
* the full synth of the second committed configuration (``config/ecs-native.toml``), and what
  its tests (one more session synth, the day-2 template diffs) add to the suite: the target is
  that the second configuration does not double the suite.
* what the AWS Control Tower gate of ``make scan`` (scanners/control_tower.py: cfn-guard with
  every Control Tower rule over every template) costs per scan, over one synth's templates.
  It runs in ``make scan`` only, so a synth and the test suite pay nothing for it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCAN_PYTHON = ROOT / ".venv-scan" / "bin" / "python"
EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"
SECOND_CONFIG = "config/ecs-native.toml"
#: The tests that exist because of the second configuration.
SECOND_CONFIG_TESTS = ("tests/architecture/test_ecs_native.py", "tests/architecture/test_day2_templates.py")
#: Tests of other files that run once per configuration: their second-configuration cases.
SECOND_CONFIG_CASES = (
    "tests/architecture/test_resource_counts.py::test_every_stack_stays_well_under_the_cloudformation_resource_limit[ecs_native]",
)


def cli_context(config: str | None = None) -> str:
    """The context the CDK CLI hands the app (feature flags, availability zones from cdk.json)."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    if config:
        context["config"] = config
    return json.dumps(context)


def timed(
    command: list[str],
    *,
    outdir: str | None = None,
    extra_env: dict[str, str] | None = None,
    config: str | None = None,
) -> float:
    env = {**os.environ, **(extra_env or {})}
    if outdir is not None:
        # Run the app as `cdk synth` does, without the CLI's own start-up in the figure.
        env["CDK_OUTDIR"] = outdir
        env["CDK_CONTEXT_JSON"] = cli_context(config)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(
    runs: int, command: list[str], extra_env: dict[str, str] | None = None, config: str | None = None
) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as outdir:
            times.append(timed(command, outdir=outdir, extra_env=extra_env, config=config))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each synth (default: %(default)s)")
    parser.add_argument("--skip-tests", action="store_true", help="time the synths only")
    args = parser.parse_args(argv)

    full = median_of(args.runs, [sys.executable, "app.py"])
    empty = median_of(args.runs, [sys.executable, "-c", EMPTY_APP])
    print(f"full app synth:  {full:6.2f} s (median of {args.runs})")
    print(f"empty app synth: {empty:6.2f} s (median of {args.runs})")
    print(f"synth ratio: {full / empty:.2f}")
    # The CloudFormation template validation gate (cdk.json: validateAgainstDefaultRules) loads
    # its rule engine once per synth; show what the app costs without it, for the record.
    unvalidated = median_of(args.runs, [sys.executable, "app.py"], {"CDK_VALIDATION": "false"})
    print(f"full app synth without CloudFormation template validation: {unvalidated:6.2f} s")
    print(f"synth ratio without template validation: {unvalidated / empty:.2f}")
    second = median_of(args.runs, [sys.executable, "app.py"], config=SECOND_CONFIG)
    print(f"full app synth of {SECOND_CONFIG}: {second:6.2f} s")
    if SCAN_PYTHON.exists():
        with tempfile.TemporaryDirectory() as outdir:
            timed([sys.executable, "app.py"], outdir=outdir)
            templates = sorted(str(path) for path in Path(outdir).glob("*.template.json"))
            gate = [str(SCAN_PYTHON), "scanners/control_tower.py", *templates]
            timed(gate)  # the first run unpacks the rules and the binary once
            scan = statistics.median(timed(gate) for _ in range(args.runs))
        print(f"Control Tower gate: {scan:6.2f} s per scan of {len(templates)} templates (median of {args.runs})")
    else:
        print("Control Tower gate: not timed, .venv-scan is missing (make scan creates it)")
    if not args.skip_tests:
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        without_second = [
            *pytest,
            *(f"--ignore={path}" for path in SECOND_CONFIG_TESTS),
            *(f"--deselect={case}" for case in SECOND_CONFIG_CASES),
        ]
        # Alternated and the best of two each: the first suite run of a machine pays for cold caches.
        suites, withouts = [], []
        for _ in range(2):
            withouts.append(timed(without_second))
            suites.append(timed(pytest))
        suite, without = min(suites), min(withouts)
        print(f"test suite:      {suite:6.2f} s (best of 2)")
        print(f"test ratio: {suite / full:.2f}")
        print(f"test suite without the second configuration's tests: {without:6.2f} s (best of 2)")
        print(f"second configuration adds: {suite - without:6.2f} s ({(suite - without) / without:.0%} of the rest)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
