"""CloudFormation's own replacement report (release_guard.change_set): DescribeChangeSet answers through a Stubber.

The answers are written in the response shape of the DescribeChangeSet API reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html), which
the Stubber checks against botocore's service model: a field AWS does not answer fails the test.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from release_guard.change_set import (
    ChangeSetError,
    ChangeSetReport,
    describe,
    lines,
    release_held_refusal,
    resource_change,
)
from release_guard.live import AwsCallError
from release_guard.plan import ResourceChange

STACK, NAME = "Prod-Service", "environment-deploy"
STACK_ID = "arn:aws:cloudformation:eu-west-1:444444444444:stack/Prod-Service/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
CHANGE_SET_ID = (
    "arn:aws:cloudformation:eu-west-1:444444444444:changeSet/environment-deploy/6c1a2b3c-dddd-eeee-ffff-0123"
)


def answer(changes: list[dict[str, Any]], *, status: str = "CREATE_COMPLETE", **extra: Any) -> dict[str, Any]:
    return {
        "ChangeSetName": NAME,
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
        "Status": status,
        "Changes": changes,
        **extra,
    }


def modify(
    logical_id: str, resource_type: str, replacement: str, details: list[dict[str, Any]], scope: list[str] | None = None
) -> dict[str, Any]:
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": f"physical-{logical_id}",
            "ResourceType": resource_type,
            "Replacement": replacement,
            "Scope": scope or ["Properties"],
            "Details": details,
        },
    }


def detail(
    name: str, recreation: str, *, evaluation: str = "Static", source: str = "DirectModification", causing: str = ""
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": evaluation,
        "ChangeSource": source,
    }
    if causing:
        found["CausingEntity"] = causing
    return found


#: A target group whose Port changes: CloudFormation replaces it (RequiresRecreation Always, Static).
TARGET_GROUP_PORT = modify(
    "ServiceBlueTargetGroup1A2B3C4D", "AWS::ElasticLoadBalancingV2::TargetGroup", "True", [detail("Port", "Always")]
)
#: A new ImageTag: the task definition is replaced, and the ECS service follows its new ARN in place.
TASK_DEFINITION = modify(
    "TaskDefinitionB36D86D9",
    "AWS::ECS::TaskDefinition",
    "True",
    [detail("ContainerDefinitions", "Always", evaluation="Dynamic", source="ParameterReference", causing="ImageTag")],
)
SERVICE_FOLLOWS = modify(
    "Service9571FDD8",
    "AWS::ECS::Service",
    "False",
    [
        detail(
            "TaskDefinition",
            "Never",
            evaluation="Dynamic",
            source="ResourceReference",
            causing="TaskDefinitionB36D86D9",
        )
    ],
)
#: A health-check path: modified in place.
HEALTH_CHECK = modify(
    "ServiceGreenTargetGroup5E6F7A8B",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "False",
    [detail("HealthCheckPath", "Never")],
)
#: A listener whose LoadBalancerArn comes from an expression CloudFormation resolves at execution.
LISTENER_CONDITIONAL = modify(
    "ProdListener1A2B3C4D",
    "AWS::ElasticLoadBalancingV2::Listener",
    "Conditional",
    [detail("LoadBalancerArn", "Always", evaluation="Dynamic", source="ResourceAttribute", causing="Alb.Arn")],
)
ADDED = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Add",
        "LogicalResourceId": "ScalableTarget",
        "ResourceType": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Details": [],
    },
}
REMOVED = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Remove",
        "LogicalResourceId": "ServiceGreenTargetGroup5E6F7A8B",
        "PhysicalResourceId": "arn:aws:elasticloadbalancing:eu-west-1:444444444444:targetgroup/green/0123",
        "ResourceType": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Details": [],
    },
}


def stubbed(*answers: dict[str, Any], error: str | None = None) -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudformation", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    for index, page in enumerate(answers):
        # The first page by name, every later one by the ARN the first page answered.
        expected = {"StackName": STACK, "ChangeSetName": answers[0]["ChangeSetId"] if index else NAME}
        if index:
            expected["NextToken"] = answers[index - 1]["NextToken"]
        stubber.add_response("describe_change_set", page, expected)
    if error:
        stubber.add_client_error("describe_change_set", error, "User is not authorized to perform DescribeChangeSet")
    stubber.activate()
    return client, stubber


def read(*answers: dict[str, Any]) -> ChangeSetReport:
    client, stubber = stubbed(*answers)
    found = describe(client, STACK, NAME)
    stubber.assert_no_pending_responses()
    return found


def test_a_replaced_target_group_is_reported_with_the_property_and_refused() -> None:
    change_set = read(answer([TARGET_GROUP_PORT, HEALTH_CHECK]))
    assert [change.describe() for change in change_set.changes] == [
        "replaced ServiceBlueTargetGroup1A2B3C4D (AWS::ElasticLoadBalancingV2::TargetGroup): Properties.Port (Always)",
        "modified ServiceGreenTargetGroup5E6F7A8B (AWS::ElasticLoadBalancingV2::TargetGroup): "
        "Properties.HealthCheckPath",
    ]
    refusal = release_held_refusal(change_set)
    assert refusal is not None
    assert refusal.startswith(
        "Prod-Service: change set environment-deploy replaced ServiceBlueTargetGroup1A2B3C4D "
        "(AWS::ElasticLoadBalancingV2::TargetGroup): Properties.Port (Always): the release controller holds"
    )
    assert "ServiceGreen" not in refusal


def test_a_new_image_replaces_the_task_definition_and_the_service_follows_in_place_which_is_executed() -> None:
    change_set = read(answer([TASK_DEFINITION, SERVICE_FOLLOWS]))
    task, service = change_set.changes
    assert task == ResourceChange(
        "TaskDefinitionB36D86D9",
        "AWS::ECS::TaskDefinition",
        "replaced",
        ("Properties.ContainerDefinitions (Always, caused by ImageTag)",),
    )
    assert service.action == "modified"
    assert service.causes == ("Properties.TaskDefinition (caused by TaskDefinitionB36D86D9)",)
    assert release_held_refusal(change_set) is None


def test_conditional_replacement_counts_as_a_replacement_and_says_so() -> None:
    change_set = read(answer([LISTENER_CONDITIONAL]))
    (listener,) = change_set.changes
    assert listener.action == "replaced"
    assert listener.causes == (
        "Properties.LoadBalancerArn (Always, caused by Alb.Arn)",
        "Replacement Conditional",
    )
    assert release_held_refusal(change_set) is not None


def test_an_action_that_cannot_be_determined_counts_as_a_replacement_and_says_so() -> None:
    """Action Dynamic: "exact action for the resource can't be determined" (API_ResourceChange)."""
    dynamic = {"Type": "Resource", "ResourceChange": {**LISTENER_CONDITIONAL["ResourceChange"], "Action": "Dynamic"}}
    del dynamic["ResourceChange"]["Replacement"]
    change_set = read(answer([dynamic]))
    (listener,) = change_set.changes
    assert listener.action == "replaced"
    assert listener.causes[-1] == "Action Dynamic"
    assert release_held_refusal(change_set) is not None


def test_the_report_keeps_the_change_set_arn_that_is_executed() -> None:
    assert read(answer([TASK_DEFINITION])).change_set_id == CHANGE_SET_ID


def test_a_removed_target_group_is_refused_and_an_added_resource_is_not() -> None:
    assert release_held_refusal(read(answer([ADDED]))) is None
    refusal = release_held_refusal(read(answer([ADDED, REMOVED])))
    assert refusal is not None and "removed ServiceGreenTargetGroup5E6F7A8B" in refusal


def test_every_page_is_read() -> None:
    change_set = read(answer([TASK_DEFINITION], NextToken="page-2"), answer([TARGET_GROUP_PORT]))
    assert [change.logical_id for change in change_set.changes] == [
        "TaskDefinitionB36D86D9",
        "ServiceBlueTargetGroup1A2B3C4D",
    ]


def test_a_change_set_without_changes_is_empty_and_not_an_error() -> None:
    reason = "The submitted information didn't contain changes. Submit different information to create a change set."
    change_set = read(answer([], status="FAILED", StatusReason=reason))
    assert change_set.empty and change_set.changes == ()
    assert lines(change_set) == ["Prod-Service: change set environment-deploy: no changes"]
    assert release_held_refusal(change_set) is None


def test_a_failed_change_set_is_one_line() -> None:
    client, _ = stubbed(answer([], status="FAILED", StatusReason="Template format error:\n unresolved resource"))
    with pytest.raises(ChangeSetError) as error:
        describe(client, STACK, NAME)
    assert str(error.value) == (
        "Prod-Service: change set environment-deploy is FAILED: Template format error: unresolved resource"
    )


def test_an_aws_error_is_one_line_naming_the_stack_and_the_call() -> None:
    client, _ = stubbed(error="AccessDenied")
    with pytest.raises(AwsCallError) as error:
        describe(client, STACK, NAME)
    assert str(error.value).startswith("Prod-Service: cloudformation DescribeChangeSet: AccessDenied")


def test_the_build_log_shows_a_summary_then_one_line_per_change() -> None:
    assert lines(read(answer([TASK_DEFINITION, SERVICE_FOLLOWS]))) == [
        "Prod-Service: change set environment-deploy: 2 resource change(s), 1 replacement(s) "
        "(CloudFormation's Replacement True or Conditional, or Action Dynamic)",
        "  replaced TaskDefinitionB36D86D9 (AWS::ECS::TaskDefinition): "
        "Properties.ContainerDefinitions (Always, caused by ImageTag)",
        "  modified Service9571FDD8 (AWS::ECS::Service): Properties.TaskDefinition (caused by TaskDefinitionB36D86D9)",
    ]


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"Action": "Move"}, "ResourceChange.Action: expected one of Add, Import, Remove, Modify, Dynamic, got 'Move'"),
        ({}, "ResourceChange.Action: expected one of Add, Import, Remove, Modify, Dynamic, got ''"),
    ],
)
def test_an_unknown_action_is_one_line(change: dict[str, Any], line: str) -> None:
    with pytest.raises(ChangeSetError) as error:
        resource_change(change)
    assert str(error.value) == line
