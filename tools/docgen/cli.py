"""Regenerate the generated parts of the documentation, or check that they are current.

Synthesizes the app in this process (asset bundling off, as in the tests), then writes the
diagrams, findings tables and cost page between the ``BEGIN GENERATED`` / ``END GENERATED``
markers of README.md and docs/*.md. The prose around the markers is left alone.

Usage: python -m tools.docgen [--check] [--config config/sandbox.toml]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from config import DEFAULT_CONFIG_PATH, ConfigError
from tools.docgen.model import ROOT, synthesize
from tools.docgen.pages import StaleBlock, stale, write_all
from tools.prices import PriceTableError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.docgen", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated block is stale")
    parser.add_argument("--config", type=Path, default=ROOT / DEFAULT_CONFIG_PATH, help="configuration file")
    args = parser.parse_args(argv)
    try:
        model = synthesize(args.config)
        if args.check:
            problems = stale(model)
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        for page in write_all(model):
            print(f"updated {page}")
    except (ConfigError, PriceTableError, StaleBlock) as error:
        print(error, file=sys.stderr)
        return 2
    return 0
