"""moto 5.2.5: an AWS::ECS::Service created by CloudFormation drops its DeploymentController.

Report: 07-ecs-service-deployment-controller.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/07-ecs-service-deployment-controller.py

Exit status 1 while the bug is present, 0 once moto answers as CloudFormation does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import client, template


def reproduce() -> str | None:
    """What moto does wrong, in one line, or None when it answers as CloudFormation does."""
    with mock_aws():
        cloudformation, ecs = client("cloudformation"), client("ecs")
        container = {"Name": "web", "Image": "nginx", "Essential": True, "Memory": 512}
        body = template(
            {
                "Cluster": {"Type": "AWS::ECS::Cluster"},
                "TaskDefinition": {
                    "Type": "AWS::ECS::TaskDefinition",
                    "Properties": {"Family": "repro", "ContainerDefinitions": [container]},
                },
                "Service": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "Cluster": {"Ref": "Cluster"},
                        "ServiceName": "repro",
                        "TaskDefinition": {"Ref": "TaskDefinition"},
                        "DesiredCount": 1,
                        "DeploymentController": {"Type": "CODE_DEPLOY"},
                    },
                },
            }
        )
        cloudformation.create_stack(StackName="repro", TemplateBody=body)
        cluster = ecs.list_clusters()["clusterArns"][0]
        (service,) = ecs.describe_services(cluster=cluster, services=["repro"])["services"]
        controller = service.get("deploymentController", {}).get("type")
        return (
            None
            if controller == "CODE_DEPLOY"
            else f"deploymentController is {controller!r}, the template says CODE_DEPLOY"
        )


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
