#!/usr/bin/env python3
"""Entry point of the CDK app: read the configuration, build the stacks, synthesize.

Choose a configuration file with ``cdk synth -c config=path/to/file.toml`` (or
``make synth CONFIG=path/to/file.toml``); the default is the sandbox configuration.

The CDK CLI runs this file (``cdk.json``'s ``app``) and hands it ``cdk.json``'s context, the
feature flags the stacks are written for, and where to write the cloud assembly (``CDK_OUTDIR``).
Run as plain ``python app.py``, it would build the stacks without those flags; it says in one line
how to run it instead.
"""

from __future__ import annotations

import os
import sys

#: What ``python app.py`` run outside the CDK CLI prints (on stderr, exit code 2).
RUN_IT_WITH_THE_CLI = (
    "app.py is run by the CDK CLI, which applies cdk.json's feature flags: run make synth "
    "(CONFIG=path/to/file.toml) or cdk synth -c config=path/to/file.toml"
)


def main() -> int:
    outdir = os.environ.get("CDK_OUTDIR")
    if outdir is None:  # the CLI always sets it (and passes the context beside it)
        print(RUN_IT_WITH_THE_CLI, file=sys.stderr)
        return 2
    import aws_cdk as cdk

    from config import DEFAULT_CONFIG_PATH, ConfigError, load_config
    from stacks.delivery_app import build_app

    outdir_existed = os.path.exists(outdir)
    app = cdk.App()
    config_path = app.node.try_get_context("config") or DEFAULT_CONFIG_PATH
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        if not outdir_existed and not os.listdir(outdir):
            os.rmdir(outdir)  # App() created it; a rejected configuration leaves nothing behind
        return 2
    build_app(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
