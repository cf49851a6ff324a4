#!/usr/bin/env python3
"""Benchmark: what a synth of the app costs against a bare CDK app, and the test suite against one synth.

``make bench`` prints, from one run on one machine, side by side:

* ``synth ratio``: the median wall time of ``cdk synth`` (the pinned CLI) of the whole app, every
  gate on (both cdk-nag packs, the project's Aspects, CloudFormation template validation), over
  that of a bare one-stack CDK app (one SQS queue, as ``cdk init`` writes it, with the same
  built-in template validation). Target: at most 2.0. The same ratio of the app's process alone
  (``python app.py``, as the CLI runs it) is printed beside it.
* where the full synth goes, measured inside one process: importing aws-cdk-lib and the
  project, building the stacks, synthesizing them without template validation, and the template
  validation itself, split into building its rule engine (once per process: the bare app pays it
  too) and checking the templates;
* ``test ratio``: the wall time of the whole test suite (``make test``, best of two: the first
  run of a machine pays for cold caches) over one full ``cdk synth``. Target: at most 3.0.
* where the suite goes: each folder's test durations, what the second committed configuration
  (``config/ecs-native.toml``) adds, and the start-up and collection around the tests;
* what the AWS Control Tower gate of ``make scan`` costs per scan of one synth's templates. It runs
  in ``make scan`` only, so a synth and the test suite pay nothing for it;
* first, because it needs no synth: the pipeline's minimum time from a push to prod of each
  committed configuration, for an application change and for an infrastructure-only change
  (``tools/pipeline_time.py``, computed from the configuration, without the approval wait).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tools import pipeline_time

ROOT = Path(__file__).resolve().parent.parent
SCAN_PYTHON = ROOT / ".venv-scan" / "bin" / "python"
#: A bare one-stack app, with the one resource `cdk init app --language python` suggests.
BARE_APP = (
    "import aws_cdk as cdk\n"
    "from aws_cdk import aws_sqs as sqs\n"
    "app = cdk.App()\n"
    "sqs.Queue(cdk.Stack(app, 'Bare'), 'Queue')\n"
    "app.synth()\n"
)
#: The app as app.py builds it, timed phase by phase in one process; prints the phases as JSON.
PHASES = """
import json, sys, time
start = time.perf_counter()
import aws_cdk as cdk
imported_cdk = time.perf_counter()
from config import load_config
from stacks.delivery_app import build_app
imported = time.perf_counter()
app = cdk.App()
build_app(app, load_config(app.node.try_get_context("config") or "config/sandbox.toml"))
built = time.perf_counter()
app.synth()
done = time.perf_counter()
print(json.dumps({"import": imported - start, "build": built - imported, "synth": done - built}))
"""
SECOND_CONFIG = "config/ecs-native.toml"
#: The tests that exist because of the second configuration, and the cases other files run for it.
SECOND_CONFIG_FILES = ("tests/architecture/test_ecs_native.py",)
SECOND_CONFIG_CASE = re.compile(r"\[(ecs[_-]native)\]$|\[ecs[_-]native-|-ecs[_-]native\]")
SUITE_FOLDERS = ("tests/architecture", "tests/configuration", "tests/handlers", "tests/tooling")
DURATION_LINE = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown) +(\S+)")


def cli_context(config: str | None = None) -> str:
    """The context the CDK CLI hands the app (feature flags, availability zones from cdk.json)."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    if config:
        context["config"] = config
    return json.dumps(context)


def run(
    command: list[str], *, extra_env: Mapping[str, str] | None = None, config: str | None = None
) -> tuple[float, str]:
    """Wall time and stdout of ``command`` run as ``cdk synth`` runs the app (CDK_OUTDIR, CDK_CONTEXT_JSON)."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, **(extra_env or {}), "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": cli_context(config)}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        return time.perf_counter() - start, result.stdout


def median_time(
    runs: int, command: list[str], *, extra_env: Mapping[str, str] | None = None, config: str | None = None
) -> float:
    return statistics.median(run(command, extra_env=extra_env, config=config)[0] for _ in range(runs))


def median_cli_synth(runs: int, bare: bool) -> float:
    """``cdk synth --quiet`` as a user runs it (the pinned CLI, cdk.json's context), of the app or the bare app."""
    times = []
    with tempfile.TemporaryDirectory() as work:
        bare_app = Path(work) / "bare_app.py"
        bare_app.write_text(BARE_APP)
        for attempt in range(runs):
            command = ["cdk", "synth", "--quiet", "--no-notices", "-o", str(Path(work) / f"out-{attempt}")]
            if bare:
                command += ["--app", f"{sys.executable} {bare_app}"]
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_phases(runs: int, extra_env: Mapping[str, str] | None = None) -> dict[str, float]:
    measured = [json.loads(run([sys.executable, "-c", PHASES], extra_env=extra_env)[1]) for _ in range(runs)]
    return {phase: statistics.median(m[phase] for m in measured) for phase in measured[0]}


# -- the suite's durations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    seconds: float
    phase: str  # setup, call or teardown
    test: str  # the node id: tests/architecture/test_x.py::test_y[case]

    @property
    def file(self) -> str:
        return self.test.split("::")[0]


def parse_durations(output: str) -> list[Duration]:
    """The ``--durations=0`` lines of a pytest run."""
    found = []
    for line in output.splitlines():
        match = DURATION_LINE.match(line.strip())
        if match:
            found.append(Duration(float(match.group(1)), match.group(2), match.group(3)))
    return found


def by_folder(durations: Iterable[Duration], folders: Iterable[str] = SUITE_FOLDERS) -> dict[str, float]:
    """Seconds of test durations per folder (a session fixture counts where it is first set up)."""
    totals = dict.fromkeys(folders, 0.0)
    for duration in durations:
        folder = next((f for f in totals if duration.file.startswith(f + "/")), "elsewhere")
        totals[folder] = totals.get(folder, 0.0) + duration.seconds
    return totals


def second_configuration(durations: Iterable[Duration]) -> float:
    """Seconds of the tests that exist for config/ecs-native.toml, and of its cases in shared tests."""
    return sum(
        d.seconds for d in durations if d.file in SECOND_CONFIG_FILES or SECOND_CONFIG_CASE.search(d.test) is not None
    )


def suite_run() -> tuple[float, list[Duration]]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, parse_durations(result.stdout)


# -- the report -----------------------------------------------------------------------------------


def verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "MISSED"


def line(label: str, seconds: float, note: str = "") -> str:
    return f"  {label:<58} {seconds:6.2f} s{('  ' + note) if note else ''}"


def synth_report(runs: int) -> tuple[float, float, list[str]]:
    """The synth figures and their breakdown; returns the full synth's median times too (CLI, process)."""
    cli_full = median_cli_synth(runs, bare=False)
    cli_bare = median_cli_synth(runs, bare=True)
    full = median_time(runs, [sys.executable, "app.py"])
    bare = median_time(runs, [sys.executable, "-c", BARE_APP])
    bare_unvalidated = median_time(runs, [sys.executable, "-c", BARE_APP], extra_env={"CDK_VALIDATION": "false"})
    empty = median_time(runs, [sys.executable, "-c", "import aws_cdk as cdk; cdk.App().synth()"])
    empty_unvalidated = median_time(
        runs, [sys.executable, "-c", "import aws_cdk as cdk; cdk.App().synth()"], extra_env={"CDK_VALIDATION": "false"}
    )
    phases = median_phases(runs)
    unvalidated = median_phases(runs, {"CDK_VALIDATION": "false"})
    validation = phases["synth"] - unvalidated["synth"]
    engine = empty - empty_unvalidated
    second = median_time(runs, [sys.executable, "app.py"], config=SECOND_CONFIG)
    report = [
        f"cdk synth, full app:   {cli_full:6.2f} s (median of {runs}; every gate on)",
        f"cdk synth, bare app:   {cli_bare:6.2f} s (median of {runs}; one SQS queue, template validation on)",
        f"synth ratio: {cli_full / cli_bare:.2f} (target: at most 2.0: {verdict(cli_full / cli_bare, 2.0)})",
        f"the app's process alone (python app.py, without the CLI): full {full:.2f} s, bare {bare:.2f} s, "
        f"ratio {full / bare:.2f}",
        "where the full synth goes (in one process, median of each phase):",
        line("import aws-cdk-lib and the project", phases["import"]),
        line("build the stacks (stacks/delivery_app.build_app)", phases["build"]),
        line("synthesize: Aspects, cdk-nag, templates (no validation)", unvalidated["synth"]),
        line("CloudFormation template validation", validation),
        line("  building its rule engine, once per process", engine, "(the bare app pays it too)"),
        line("  checking every template, and the first check's warm-up", validation - engine),
        f"bare one-stack app without template validation: {bare_unvalidated:6.2f} s; "
        f"the engine is {engine / bare:.0%} of the bare app",
        f"full app synth of {SECOND_CONFIG}: {second:6.2f} s",
    ]
    return cli_full, full, report


def suite_report(cli_full: float, full: float) -> list[str]:
    runs = [suite_run() for _ in range(2)]
    wall, durations = min(runs, key=lambda r: r[0])
    folders = by_folder(durations)
    tests = sum(d.seconds for d in durations)
    second = second_configuration(durations)
    report = [
        f"test suite:            {wall:6.2f} s (best of 2)",
        f"test ratio: {wall / cli_full:.2f} (target: at most 3.0: {verdict(wall / cli_full, 3.0)}; "
        f"{wall / full:.2f} against the app's process alone)",
        "where the suite goes (test durations of the best run; a session synth counts where it is set up):",
        *(line(folder, seconds) for folder, seconds in folders.items()),
        line("start-up, collection and reporting", wall - tests),
        f"the second configuration's tests and cases: {second:6.2f} s ({second / (tests - second):.0%} of the rest)",
    ]
    return report


def control_tower_report(runs: int) -> list[str]:
    if not SCAN_PYTHON.exists():
        return ["Control Tower gate: not timed, .venv-scan is missing (make scan creates it)"]
    with tempfile.TemporaryDirectory() as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "CDK_CONTEXT_JSON": cli_context()}
        subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True)
        templates = sorted(str(path) for path in Path(outdir).glob("*.template.json"))
        gate = [str(SCAN_PYTHON), "scanners/control_tower.py", *templates]
        subprocess.run(gate, cwd=ROOT, check=True, capture_output=True)  # the first run unpacks the rules once
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(gate, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return [
        f"Control Tower gate: {statistics.median(times):6.2f} s per scan of {len(templates)} templates "
        f"(median of {runs}; make scan only)"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each synth (default: %(default)s)")
    parser.add_argument("--skip-tests", action="store_true", help="time the synths only")
    args = parser.parse_args(argv)
    if args.runs < 1:
        print(f"bench: --runs {args.runs}: expected at least 1", file=sys.stderr)
        return 2
    print("\n".join(pipeline_time.committed_reports()), flush=True)
    cli_full, full, report = synth_report(args.runs)
    print("\n".join(report), flush=True)
    print("\n".join(control_tower_report(args.runs)), flush=True)
    if not args.skip_tests:
        print("\n".join(suite_report(cli_full, full)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
