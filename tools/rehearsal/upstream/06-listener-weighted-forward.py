"""moto 5.2.5: a listener whose forward DefaultAction has a ForwardConfig and no TargetGroupArn fails with KeyError.

Report: 06-listener-weighted-forward.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/06-listener-weighted-forward.py

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
        cloudformation = client("cloudformation")
        body = template(
            {
                "Subnet2": {
                    "Type": "AWS::EC2::Subnet",
                    "Properties": {
                        "VpcId": {"Ref": "Vpc"},
                        "CidrBlock": "10.0.1.0/24",
                        "AvailabilityZone": "us-east-1b",
                    },
                },
                "Alb": {
                    "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    "Properties": {"Subnets": [{"Ref": "Subnet"}, {"Ref": "Subnet2"}], "Type": "application"},
                },
                "Blue": TARGET_GROUP,
                "Green": TARGET_GROUP,
                "Listener": {
                    "Type": "AWS::ElasticLoadBalancingV2::Listener",
                    "Properties": {
                        "LoadBalancerArn": {"Ref": "Alb"},
                        "Port": 80,
                        "Protocol": "HTTP",
                        "DefaultActions": [
                            {
                                "Type": "forward",
                                "ForwardConfig": {
                                    "TargetGroups": [
                                        {"TargetGroupArn": {"Ref": "Blue"}, "Weight": 100},
                                        {"TargetGroupArn": {"Ref": "Green"}, "Weight": 0},
                                    ]
                                },
                            }
                        ],
                    },
                },
            }
        )
        try:
            cloudformation.create_stack(StackName="repro", TemplateBody=body)
        except Exception as error:
            return f"CreateStack raised {type(error).__name__}: {error}"
        status = cloudformation.describe_stacks(StackName="repro")["Stacks"][0]["StackStatus"]
        return None if status == "CREATE_COMPLETE" else f"stack {status}"


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
