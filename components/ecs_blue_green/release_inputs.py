"""The files a release needs, per target environment and release controller.

The pipeline's build writes them (``pipelines/release_inputs.py``) and the deploy actions
read them. Under CodeDeploy: ``taskdef.json`` (with the image placeholder) and
``appspec.yaml`` (which container and port take traffic, and the lifecycle hook to run), both
from the same configuration as the service stack, so a release registers what CDK would have
built. Under ECS: ``imagedefinitions.json``, the container and the image just pushed; the ECS
deploy action copies the service's task definition and replaces that image
(CodePipeline user guide, file-reference, "imagedefinitions.json file for Amazon ECS standard
deployment actions").
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
IMAGE_DEFINITIONS_FILE = "imagedefinitions.json"


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


def image_definitions(config: Config, image_uri: str) -> list[dict[str, str]]:
    """What the ECS deploy action reads: the image of each container it replaces."""
    return [{"name": Names(config).container, "imageUri": image_uri}]


def write_release_inputs(config: Config, out_dir: Path, image_uri: str) -> list[Path]:
    """Write the release inputs of every environment into ``<out>/<env>/``, by its release controller."""
    written = []
    for environment in config.environments:
        directory = out_dir / environment.name
        directory.mkdir(parents=True, exist_ok=True)
        files: dict[str, Any]
        if environment.release_controller == "ecs":
            files = {IMAGE_DEFINITIONS_FILE: image_definitions(config, image_uri)}
        else:
            files = {
                TASK_DEFINITION_FILE: TaskSpec.build(config, environment).register_task_definition_input(),
                # JSON is valid YAML; CodeDeploy reads either, and it needs no YAML library here.
                APPSPEC_FILE: appspec(config, environment),
            }
        for name, content in files.items():
            path = directory / name
            path.write_text(json.dumps(content, indent=2) + "\n")
            written.append(path)
    return written
