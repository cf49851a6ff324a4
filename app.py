#!/usr/bin/env python3
"""Entry point of the CDK app: read the configuration, build the stacks, synthesize.

Choose a configuration file with ``cdk synth -c config=path/to/file.toml`` (or
``make synth CONFIG=path/to/file.toml``); the default is the sandbox configuration.
"""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk

from config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from stacks.delivery_app import build_app


def main() -> int:
    outdir = os.environ.get("CDK_OUTDIR")
    outdir_existed = outdir is not None and os.path.exists(outdir)
    app = cdk.App()
    config_path = app.node.try_get_context("config") or DEFAULT_CONFIG_PATH
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        if outdir and not outdir_existed and not os.listdir(outdir):
            os.rmdir(outdir)  # App() created it; a rejected configuration leaves nothing behind
        return 2
    build_app(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
