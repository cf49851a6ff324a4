"""The live-traffic reader (components/ecs_blue_green/live_traffic/handler.py) with stubbed AWS clients.

No AWS account, no network and no CDK: the four clients are botocore clients under a Stubber (which
also checks every request and response against the service's API model), and the response to
CloudFormation is captured instead of PUT to a presigned URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from components.ecs_blue_green.live_traffic import handler as reader

REGION = "eu-west-1"
STACK_ID = "arn:aws:cloudformation:eu-west-1:444444444444:stack/Prod-Service/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
BLUE = "arn:aws:elasticloadbalancing:eu-west-1:444444444444:targetgroup/Blue/0123456789abcdef"
GREEN = "arn:aws:elasticloadbalancing:eu-west-1:444444444444:targetgroup/Green/fedcba9876543210"
LB = "arn:aws:elasticloadbalancing:eu-west-1:444444444444"
PROD_LISTENER = f"{LB}:listener/app/alb/50dc6c495c0c9188/1111111111111111"
TEST_LISTENER = f"{LB}:listener/app/alb/50dc6c495c0c9188/2222222222222222"
PROD_RULE = f"{LB}:listener-rule/app/alb/50dc6c495c0c9188/1111111111111111/aaaaaaaaaaaaaaaa"
TEST_RULE = f"{LB}:listener-rule/app/alb/50dc6c495c0c9188/2222222222222222/bbbbbbbbbbbbbbbb"
SERVICE = "arn:aws:ecs:eu-west-1:444444444444:service/demo-web/demo-web"
CLUSTER = "demo-web"
IDS = {
    "ProductionListener": "ServiceLoadBalancerProductionListenerFE39101E",
    "TestListener": "ServiceLoadBalancerTestListener75EE92E3",
    "ProductionRule": "ServiceProductionRule0A1B2C3D",
    "TestRule": "ServiceTestRule4E5F6A7B",
    "Service": "Service9571FDD8",
}
PHYSICAL = {
    "ProductionListener": PROD_LISTENER,
    "TestListener": TEST_LISTENER,
    "ProductionRule": PROD_RULE,
    "TestRule": TEST_RULE,
    "Service": SERVICE,
}


def event(controller: str, request_type: str = "Update", **extra: Any) -> dict[str, Any]:
    properties = {
        "ServiceToken": "arn:aws:lambda:eu-west-1:444444444444:function:demo-web-live-traffic",
        "ReleaseController": controller,
        "ProductionListener": IDS["ProductionListener"],
        "TestListener": IDS["TestListener"],
        "Service": IDS["Service"],
        "BlueTargetGroupArn": BLUE,
        "GreenTargetGroupArn": GREEN,
        "Nonce": "2b7c0f3e",
    }
    if controller == "ecs":
        properties |= {"ProductionRule": IDS["ProductionRule"], "TestRule": IDS["TestRule"]}
    else:
        properties |= {"CodeDeployApplication": "demo-web", "CodeDeployDeploymentGroup": "demo-web"}
    result = {
        "RequestType": request_type,
        "RequestId": "5d7f2a9e-request",
        "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/presigned",
        "ResourceType": "Custom::LiveTraffic",
        "LogicalResourceId": "ServiceLiveTrafficReader1A2B3C4D",
        "StackId": STACK_ID,
        "ResourceProperties": properties,
        **extra,
    }
    if request_type != "Create":
        result.setdefault("PhysicalResourceId", "Prod-Service-LiveTraffic")
    return result


def forward(blue: int | None, green: int | None) -> list[dict[str, Any]]:
    """A weighted forward, or (one weight None) CodeDeploy's and ECS's single-group shape."""
    if blue is None or green is None:
        group = GREEN if blue is None else BLUE
        return [{"Type": "forward", "TargetGroupArn": group, "Order": 1}]
    return [
        {
            "Type": "forward",
            "Order": 1,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": BLUE, "Weight": blue}, {"TargetGroupArn": GREEN, "Weight": green}]
            },
        }
    ]


@dataclass
class Aws:
    """The four stubbed clients, and the responses the reader sent."""

    clients: reader.Clients
    stubs: dict[str, Stubber]
    sent: list[dict[str, Any]] = field(default_factory=list)

    def stack(self, status: str) -> None:
        self.stubs["cloudformation"].add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "Prod-Service",
                        "StackId": STACK_ID,
                        "CreationTime": "2026-11-01T00:00:00Z",
                        "StackStatus": status,
                    }
                ]
            },
            {"StackName": STACK_ID},
        )

    def resources(self, controller: str, existing: set[str]) -> None:
        names = ["ProductionListener", "TestListener", "Service"]
        if controller == "ecs":
            names += ["ProductionRule", "TestRule"]
        for name in names:
            parameters = {"StackName": STACK_ID, "LogicalResourceId": IDS[name]}
            if name in existing:
                detail = {
                    "LogicalResourceId": IDS[name],
                    "PhysicalResourceId": PHYSICAL[name],
                    "ResourceType": "AWS::Any",
                    "LastUpdatedTimestamp": "2026-11-01T00:00:00Z",
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                self.stubs["cloudformation"].add_response(
                    "describe_stack_resource", {"StackResourceDetail": detail}, parameters
                )
            else:
                self.stubs["cloudformation"].add_client_error(
                    "describe_stack_resource",
                    service_error_code="ValidationError",
                    service_message=f"Resource {IDS[name]} does not exist for stack Prod-Service",
                    expected_params=parameters,
                )

    def listeners(self, production: list[dict[str, Any]], test: list[dict[str, Any]]) -> None:
        self.stubs["elbv2"].add_response(
            "describe_listeners",
            {
                "Listeners": [
                    {"ListenerArn": PROD_LISTENER, "DefaultActions": production},
                    {"ListenerArn": TEST_LISTENER, "DefaultActions": test},
                ]
            },
            {"ListenerArns": [PROD_LISTENER, TEST_LISTENER]},
        )

    def rules(self, production: list[dict[str, Any]], test: list[dict[str, Any]]) -> None:
        self.stubs["elbv2"].add_response(
            "describe_rules",
            {"Rules": [{"RuleArn": PROD_RULE, "Actions": production}, {"RuleArn": TEST_RULE, "Actions": test}]},
            {"RuleArns": [PROD_RULE, TEST_RULE]},
        )

    def service(
        self,
        primary: str = BLUE,
        deployments: list[dict[str, Any]] | None = None,
        task_sets: list[dict[str, Any]] | None = None,
    ) -> None:
        described = {
            "serviceArn": SERVICE,
            "serviceName": "demo-web",
            "status": "ACTIVE",
            "loadBalancers": [{"targetGroupArn": primary, "containerName": "web", "containerPort": 8080}],
            "deployments": deployments
            if deployments is not None
            else [{"id": "ecs-svc/1111", "status": "PRIMARY", "rolloutState": "COMPLETED"}],
        }
        if task_sets is not None:
            described["taskSets"] = task_sets
        self.stubs["ecs"].add_response(
            "describe_services",
            {"services": [described], "failures": []},
            {"cluster": CLUSTER, "services": [SERVICE]},
        )

    def codedeploy(self, deployments: dict[str, str] | None = None, group_exists: bool = True) -> None:
        parameters = {
            "applicationName": "demo-web",
            "deploymentGroupName": "demo-web",
            "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Ready", "Baking"],
        }
        if not group_exists:
            self.stubs["codedeploy"].add_client_error(
                "list_deployments",
                service_error_code="DeploymentGroupDoesNotExistException",
                expected_params=parameters,
            )
            return
        deployments = deployments or {}
        self.stubs["codedeploy"].add_response("list_deployments", {"deployments": list(deployments)}, parameters)
        for deployment_id, status in list(deployments.items())[:1]:
            self.stubs["codedeploy"].add_response(
                "get_deployment",
                {"deploymentInfo": {"deploymentId": deployment_id, "status": status}},
                {"deploymentId": deployment_id},
            )

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        body = reader.run(request, clients=self.clients, send=lambda url, response: self.sent.append(response))
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
        assert self.sent == [body], "exactly one response reaches CloudFormation"
        return body


@pytest.fixture
def aws() -> Iterator[Aws]:
    names = {"cloudformation": "cloudformation", "elbv2": "elbv2", "ecs": "ecs", "codedeploy": "codedeploy"}
    clients = {
        name: boto3.client(service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
        for name, service in names.items()
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield Aws(clients=reader.Clients(**clients), stubs=stubs)
    for stub in stubs.values():
        stub.deactivate()


def weights(body: dict[str, Any]) -> tuple[str, str, str, str]:
    data = body["Data"]
    return data["ProductionBlueWeight"], data["ProductionGreenWeight"], data["TestBlueWeight"], data["TestGreenWeight"]


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("controller", ["codedeploy", "ecs"])
def test_on_the_stacks_first_create_nothing_exists_and_blue_takes_all_traffic(aws: Aws, controller: str) -> None:
    aws.stack("CREATE_IN_PROGRESS")
    aws.resources(controller, existing=set())
    if controller == "codedeploy":
        aws.codedeploy(group_exists=False)
    body = aws.run(event(controller, "Create"))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert weights(body) == ("100", "0", "100", "0")
    assert body["PhysicalResourceId"] == "Prod-Service-LiveTraffic"
    if controller == "ecs":
        assert body["Data"]["ServiceTargetGroupArn"] == BLUE
        assert body["Data"]["ServiceAlternateTargetGroupArn"] == GREEN
    else:
        assert "ServiceTargetGroupArn" not in body["Data"]


def test_after_a_codedeploy_release_green_is_live_and_the_answer_says_so(aws: Aws) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(0, 100), forward(0, 100))
    aws.service(task_sets=[{"id": "ecs-svc/2222", "status": "PRIMARY"}])
    aws.codedeploy({})
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert weights(body) == ("0", "100", "0", "100")
    assert body["PhysicalResourceId"] == "Prod-Service-LiveTraffic", "the same resource: never a replacement"


def test_after_an_ecs_release_the_rules_and_the_services_primary_group_are_green(aws: Aws) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("ecs", existing=set(IDS))
    aws.listeners(forward(100, 0), forward(100, 0))  # ECS shifts the rules only
    aws.rules(forward(0, 100), forward(0, 100))
    aws.service(primary=GREEN)
    body = aws.run(event("ecs"))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert weights(body) == ("0", "100", "0", "100")
    assert body["Data"]["ServiceTargetGroupArn"] == GREEN
    assert body["Data"]["ServiceAlternateTargetGroupArn"] == BLUE


def test_under_ecs_a_rule_added_by_this_update_takes_the_weights_of_its_listener(aws: Aws) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("ecs", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(0, 100), forward(0, 100))
    aws.service(primary=GREEN)
    body = aws.run(event("ecs"))
    assert weights(body) == ("0", "100", "0", "100")


@pytest.mark.parametrize(("blue", "green", "expected"), [(None, 0, ("0", "100")), (0, None, ("100", "0"))])
def test_a_forward_with_a_single_target_group_arn_counts_as_weight_100_on_that_group(
    aws: Aws, blue: int | None, green: int | None, expected: tuple[str, str]
) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(blue, green), forward(blue, green))
    aws.service()
    aws.codedeploy({})
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert weights(body) == (*expected, *expected)


def test_weights_are_percentages_whatever_scale_the_listener_uses() -> None:
    single = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": GREEN, "Weight": 1}]}}]
    assert reader.forward_weights(single, BLUE, GREEN, "the listener") == reader.Weights(blue=0, green=100)
    assert reader.forward_weights(forward(3, 1), BLUE, GREEN, "x") == reader.Weights(blue=75, green=25)


def test_a_forward_to_a_group_that_is_neither_blue_nor_green_fails_with_one_line(aws: Aws) -> None:
    stranger = BLUE.replace("Blue", "Other")
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners([{"Type": "forward", "TargetGroupArn": stranger}], forward(100, 0))
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Prod-Service: LiveTraffic: cannot tell what is live: the production listener forwards to {stranger}, "
        "which is neither the Blue nor the Green target group; fix it, then deploy again"
    )


# -- refusals ----------------------------------------------------------------------------------


def test_split_production_weights_are_refused_on_a_forward_update(aws: Aws) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(90, 10), forward(0, 100))
    aws.service()
    aws.codedeploy({})
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "Prod-Service: LiveTraffic: production traffic is split (Blue 90 / Green 10), a release is shifting it; "
        "wait for it to finish or stop it, then deploy again"
    )
    assert body["Data"] == {}


@pytest.mark.parametrize("status", ["Created", "Queued", "InProgress", "Ready", "Baking"])
def test_a_codedeploy_deployment_that_is_not_over_is_refused(aws: Aws, status: str) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(100, 0), forward(100, 0))
    aws.service()
    aws.codedeploy({"d-ABCDEF123": status})
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Prod-Service: LiveTraffic: a release is in progress (CodeDeploy deployment d-ABCDEF123, {status}); "
        "wait for it to finish or stop it, then deploy again"
    )


@pytest.mark.parametrize(
    ("deployments", "task_sets", "what"),
    [
        (
            [
                {"id": "ecs-svc/2222", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"},
                {"id": "ecs-svc/1111", "status": "ACTIVE", "rolloutState": "COMPLETED"},
            ],
            None,
            "ECS deployment ecs-svc/2222, IN_PROGRESS",
        ),
        (
            [{"id": "ecs-svc/2222", "status": "PRIMARY"}, {"id": "ecs-svc/1111", "status": "ACTIVE"}],
            None,
            "2 ECS deployments PRIMARY or ACTIVE: ecs-svc/2222, ecs-svc/1111",
        ),
        (
            [],
            [{"id": "ecs-svc/3333", "status": "PRIMARY"}, {"id": "ecs-svc/4444", "status": "ACTIVE"}],
            "2 ECS task sets PRIMARY or ACTIVE: ecs-svc/3333, ecs-svc/4444",
        ),
    ],
    ids=["rollout-in-progress", "two-deployments", "two-task-sets"],
)
def test_an_ecs_release_that_is_not_over_is_refused(
    aws: Aws, deployments: list[dict[str, Any]], task_sets: list[dict[str, Any]] | None, what: str
) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("ecs", existing=set(IDS))
    aws.listeners(forward(100, 0), forward(100, 0))
    aws.rules(forward(100, 0), forward(0, 100))
    aws.service(deployments=deployments, task_sets=task_sets)
    body = aws.run(event("ecs"))
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Prod-Service: LiveTraffic: a release is in progress ({what}); "
        "wait for it to finish or stop it, then deploy again"
    )


def test_under_codedeploy_a_second_task_set_without_a_listed_deployment_is_refused_too(aws: Aws) -> None:
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(100, 0), forward(0, 100))
    aws.service(deployments=[], task_sets=[{"id": "a", "status": "PRIMARY"}, {"id": "b", "status": "ACTIVE"}])
    aws.codedeploy({})
    body = aws.run(event("codedeploy"))
    assert body["Status"] == "FAILED"
    assert "(2 ECS task sets PRIMARY or ACTIVE: a, b)" in body["Reason"]


def test_adding_the_reader_to_a_deployed_stack_during_a_release_is_refused(aws: Aws) -> None:
    """The reader's own Create runs the checks: the update that first adds it may meet a release."""
    aws.stack("UPDATE_IN_PROGRESS")
    aws.resources("codedeploy", existing={"ProductionListener", "TestListener", "Service"})
    aws.listeners(forward(100, 0), forward(100, 0))
    aws.service()
    aws.codedeploy({"d-QUEUED0001": "Queued"})
    body = aws.run(event("codedeploy", "Create"))
    assert body["Status"] == "FAILED"
    assert "(CodeDeploy deployment d-QUEUED0001, Queued)" in body["Reason"]


# -- rollback and delete -------------------------------------------------------------------------


@pytest.mark.parametrize("controller", ["codedeploy", "ecs"])
def test_during_a_rollback_it_never_refuses_and_answers_what_is_live(aws: Aws, controller: str) -> None:
    """Split weights and a release in progress: a forward update would be refused, the rollback is not."""
    aws.stack("UPDATE_ROLLBACK_IN_PROGRESS")
    existing = set(IDS) if controller == "ecs" else {"ProductionListener", "TestListener", "Service"}
    aws.resources(controller, existing=existing)
    aws.listeners(forward(40, 60), forward(0, 100))
    if controller == "ecs":
        aws.rules(forward(40, 60), forward(0, 100))
    aws.service(
        primary=BLUE,
        deployments=[{"id": "ecs-svc/2222", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"}],
        task_sets=[{"id": "a", "status": "PRIMARY"}, {"id": "b", "status": "ACTIVE"}],
    )
    # No CodeDeploy call: nothing is refused during a rollback.
    body = aws.run(event(controller, "Update", OldResourceProperties={"Nonce": "newer"}))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert weights(body) == ("40", "60", "0", "100")


def test_a_delete_reads_nothing_and_succeeds(aws: Aws) -> None:
    body = aws.run(event("codedeploy", "Delete"))
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {}
    assert body["PhysicalResourceId"] == "Prod-Service-LiveTraffic"


def test_an_aws_error_fails_with_one_line_and_a_response_is_still_sent(aws: Aws) -> None:
    aws.stubs["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="not authorized",
        expected_params={"StackName": STACK_ID},
    )
    body = aws.run(event("ecs"))
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("Prod-Service: LiveTraffic: cannot tell what is live (ClientError: ")
    assert "\n" not in body["Reason"]


def test_a_missing_property_fails_with_its_name(aws: Aws) -> None:
    request = event("ecs")
    del request["ResourceProperties"]["TestRule"]
    body = aws.run(request)
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "Prod-Service: LiveTraffic: cannot tell what is live: property TestRule is missing; fix it, then deploy again"
    )


def test_the_response_echoes_the_request_as_cloudformation_requires(aws: Aws) -> None:
    body = aws.run(event("codedeploy", "Delete"))
    assert {key: body[key] for key in ("StackId", "RequestId", "LogicalResourceId")} == {
        "StackId": STACK_ID,
        "RequestId": "5d7f2a9e-request",
        "LogicalResourceId": "ServiceLiveTrafficReader1A2B3C4D",
    }
    assert len(reader.json.dumps(body)) <= 4096


def test_the_response_is_put_again_when_the_first_put_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self) -> bytes:
            return b""

    def urlopen(request: Any, timeout: float) -> Answer:
        calls.append(request.get_method())
        if len(calls) == 1:
            raise OSError("connection reset")
        return Answer()

    monkeypatch.setattr(reader.urllib.request, "urlopen", urlopen)
    reader.put_response("https://example.invalid/presigned", {"Status": "SUCCESS"}, sleep=lambda seconds: None)
    assert calls == ["PUT", "PUT"]
