"""What every reproduction here shares: a VPC template fragment and a CloudFormation client under mock_aws."""

from __future__ import annotations

import json
from typing import Any

import boto3

REGION = "us-east-1"
#: A VPC with one subnet: the least a target group (and an ECS service) needs.
VPC: dict[str, Any] = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Subnet": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a"},
    },
}
TARGET_GROUP: dict[str, Any] = {
    "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
    "Properties": {"Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
}


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def template(resources: dict[str, Any], **sections: Any) -> str:
    return json.dumps({"Resources": {**VPC, **resources}, **sections})
