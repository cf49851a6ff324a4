#!/usr/bin/env python3
"""Benchmark: how much the app costs to synthesize, and the test suite against one synth.

Prints, side by side and from the same environment:

* the median wall time of ``python app.py`` (the full app) and of an empty CDK app,
  over ``--runs`` runs each (process start, jsii and Node start-up included in both);
* the wall time of one full test-suite run;
* ``synth ratio: X.XX`` (full app / empty app; target: at most 2.0) and
  ``test ratio: Y.YY`` (test suite / one full synth; target: at most 3.0).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"


def timed(command: list[str], *, outdir: str | None = None) -> float:
    env = dict(os.environ)
    if outdir is not None:
        env["CDK_OUTDIR"] = outdir
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(runs: int, command: list[str]) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as outdir:
            times.append(timed(command, outdir=outdir))
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
    if not args.skip_tests:
        suite = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        print(f"test suite:      {suite:6.2f} s")
        print(f"test ratio: {suite / full:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
