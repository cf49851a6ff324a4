"""The deployment order of the app's stacks, without importing the CDK.

Tools that only need the stack names (``scripts/rehearse.py``) import this module, so that they
start without loading aws-cdk-lib and its Node runtime.
"""

from __future__ import annotations

from config import Config


def stack_names(config: Config) -> list[str]:
    """The stacks of the app, in the order ``cdk deploy`` must create them (see docs/deploy.md)."""
    names = ["Tools-GithubOidc", "Tools-PipelineRole"]
    names += [f"{environment.title}-DeployRole" for environment in config.environments]
    names += ["Tools-Pipeline"]
    for environment in config.environments:
        names += [f"{environment.title}-Network", f"{environment.title}-Service"]
    return names
