#!/usr/bin/env python3
"""Write the release inputs of every environment: taskdef.json and appspec.yaml, or imagedefinitions.json.

Usage: python -m pipelines.release_inputs --image-uri URI [--config config/sandbox.toml] [--out release]

The pipeline's build runs this (see pipelines/buildspec.yml); it needs only the standard
library and this repository, not the CDK toolchain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.ecs_blue_green.release_inputs import write_release_inputs
from config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH, help="configuration file (default: %(default)s)")
    parser.add_argument("--out", default="release", type=Path, help="output folder (default: %(default)s)")
    parser.add_argument(
        "--image-uri", required=True, help="the image just pushed (ECS-released environments deploy it by URI)"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    for path in write_release_inputs(config, args.out, args.image_uri):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
