"""moto 5.2.5: DeleteStack leaves ECS clusters and target groups that the stack created.

Report: 05-stack-deletion-leaves-resources.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/05-stack-deletion-leaves-resources.py

Exit status 1 while the bug is present, 0 once moto answers as CloudFormation does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TARGET_GROUP, client, template


def reproduce() -> str | None:
    """What moto does wrong, in one line, or None when it answers as CloudFormation does."""
    with mock_aws():
        cloudformation, ecs, elbv2 = client("cloudformation"), client("ecs"), client("elbv2")
        body = template({"Cluster": {"Type": "AWS::ECS::Cluster"}, "TargetGroup": TARGET_GROUP})
        cloudformation.create_stack(StackName="repro", TemplateBody=body)
        cloudformation.delete_stack(StackName="repro")
        left = [
            *ecs.list_clusters()["clusterArns"],
            *(g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]),
        ]
        return f"after DeleteStack, still there: {', '.join(left)}" if left else None


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
