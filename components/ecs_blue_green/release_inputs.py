"""The files a CodeDeploy ECS blue/green release needs, per target environment.

The pipeline's build writes them (``scripts/release_inputs.py``) and the deploy actions
read them: ``taskdef.json`` (with the image placeholder) and ``appspec.yaml`` (which
container and port take traffic, and the lifecycle hook to run). Both come from the same
configuration as the service stack, so a release registers what CDK would have built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.ecs_blue_green.task_spec import TaskSpec
from components.naming import Names
from config import Config, EnvironmentConfig

TASK_DEFINITION_FILE = "taskdef.json"
APPSPEC_FILE = "appspec.yaml"


def hook_function_arn(config: Config, environment: EnvironmentConfig) -> str:
    names = Names(config)
    return f"arn:aws:lambda:{config.region}:{environment.account}:function:{names.hook_function}"


def appspec(config: Config, environment: EnvironmentConfig) -> dict[str, Any]:
    """The AppSpec of one release: `<TASK_DEFINITION>` is filled in by CodePipeline."""
    names = Names(config)
    return {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": "<TASK_DEFINITION>",
                        "LoadBalancerInfo": {
                            "ContainerName": names.container,
                            "ContainerPort": config.service.container_port,
                        },
                    },
                }
            }
        ],
        "Hooks": [{"AfterAllowTestTraffic": hook_function_arn(config, environment)}],
    }


def write_release_inputs(config: Config, out_dir: Path) -> list[Path]:
    """Write ``<out>/<env>/taskdef.json`` and ``<out>/<env>/appspec.yaml`` for every environment."""
    written = []
    for environment in config.environments:
        directory = out_dir / environment.name
        directory.mkdir(parents=True, exist_ok=True)
        task_definition = TaskSpec.build(config, environment).register_task_definition_input()
        files = {
            TASK_DEFINITION_FILE: task_definition,
            # JSON is valid YAML; CodeDeploy reads either, and it needs no YAML library here.
            APPSPEC_FILE: appspec(config, environment),
        }
        for name, content in files.items():
            path = directory / name
            path.write_text(json.dumps(content, indent=2) + "\n")
            written.append(path)
    return written
