"""moto 5.2.5: Fn::GetAtt TargetGroupFullName / TargetGroupName of an AWS::ElasticLoadBalancingV2::TargetGroup fails.

Report: 04-target-group-getatt.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/04-target-group-getatt.py

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
        # An SSM parameter whose value is the attribute: a resource property, as CloudWatch alarm dimensions use it.
        body = template(
            {
                "TargetGroup": TARGET_GROUP,
                "FullName": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["TargetGroup", "TargetGroupFullName"]}},
                },
            }
        )
        try:
            cloudformation.create_stack(StackName="repro", TemplateBody=body)
        except Exception as error:
            return f"CreateStack raised {type(error).__name__}: {error}"
        stack = cloudformation.describe_stacks(StackName="repro")["Stacks"][0]
        value = client("ssm").get_parameters_by_path(Path="/", Recursive=True)["Parameters"]
        if stack["StackStatus"] != "CREATE_COMPLETE" or not any(p["Value"].startswith("targetgroup/") for p in value):
            return f"stack {stack['StackStatus']}, parameters {value}"
        return None


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
