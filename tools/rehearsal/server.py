#!/usr/bin/env python3
"""The rehearsal's moto server: the pinned moto, with eleven narrow extensions to its CloudFormation and ECS.

``python tools/rehearsal/server.py -p PORT`` serves moto on 127.0.0.1:PORT, as
``python -m moto.server`` does, after extending moto's CloudFormation emulation so that every stack
of the app deploys without changing a template (docs/rehearsal.md explains each one):

1. ``Fn::GetStackOutput`` {StackName, OutputName, Region[, RoleArn]} resolves to the output of the
   named stack in the same account (or in the account of RoleArn) and region, and fails the stack,
   as CloudFormation does, when the stack or the output does not exist.
2. A resource type moto does not model is accepted as a *placeholder*: its Ref is a generated
   physical id, each of its attributes a well-formed ARN built from it. Nothing is created.
3. A custom resource (``Custom::*``, ``AWS::CloudFormation::CustomResource``) is answered at once
   with SUCCESS and no data, without running its Lambda function (moto would run it in Docker),
   except ``Custom::LiveTraffic``: its real handler (components/ecs_blue_green/live_traffic/handler.py)
   runs in this process, on Create and on every Update, with boto3 clients pointed at this server
   for the stack's account and region; its Data become the resource's attributes, and its FAILED
   answer fails the resource with the handler's one line.

Two smaller ones fill gaps in moto's models of types it does create:

4. ``Fn::GetAtt`` on a target group (TargetGroupFullName, TargetGroupName), which moto's
   FakeTargetGroup does not answer;
5. deleting, when their stack is deleted, what moto creates from a template but never deletes
   (ECS services, clusters and task definitions, target groups, VPC endpoints, route tables and
   their associations, internet gateways and their attachments, flow logs, managed policies);
   each does what CloudFormation does (a service is deleted with force, a task definition
   deregistered, a gateway detached).

Five more let the day-2 phase (tools/rehearsal/day2.py) run the release guard against what a
release leaves behind:

6. a listener's ``DefaultActions`` forward given as a weighted ``ForwardConfig`` (no
   ``TargetGroupArn``), which moto's CloudFormation listener fails on with a KeyError;
7. ``DeploymentController`` of an ``AWS::ECS::Service``, which moto's CloudFormation drops (a
   CODE_DEPLOY service then has task sets and no ECS deployments, as on AWS);
8. UpdateService of a new task definition on a service with the ECS controller: moto keeps the
   PRIMARY deployment on the old revision; here the PRIMARY deployment is the new revision,
   COMPLETED, as ECS leaves a finished deployment;
9. UpdateStack with ``UsePreviousValue`` for a parameter the stack was created without (the CDK CLI
   sends it for ``BootstrapVersion``): moto fails with HTTP 500 (KeyError); here the parameter is left
   out, so that its default applies, which was its previous value;
10. UpdateStack of a resource whose moto model has no update (a target group, a placeholder): moto
    drops it from the stack, which then loses its physical id and never deletes it; here it stays
    in the stack as it was (the change itself is not modelled).

And one that gives the day-2 phase CloudFormation's rollback:

11. a stack update that fails (a resource raised, or a failure the rehearsal armed) rolls back, as
    CloudFormation does: moto would leave the new template, the old parameters and whatever it had
    written so far, and answer UpdateStack with an error. Here the stack goes through
    ``UPDATE_ROLLBACK_IN_PROGRESS`` (which the LiveTraffic handler reads), the previous template is
    applied again with the previous parameter values, and the stack ends ``UPDATE_ROLLBACK_COMPLETE``
    (``UPDATE_ROLLBACK_FAILED`` if that fails too), with the failed resource's reason in its events.

Placeholders and custom resources are recorded in a ledger, served as JSON on ``GET /rehearsal/ledger``,
so that the rehearsal can say, per stack, what was modelled and what was only accepted.
``POST /rehearsal/hooks`` arms what the day-2 phase cannot do through an AWS API (:class:`Hooks`): a
failure of the next update of a stack, a release that starts while it updates, and its end.

Six of them (4, 5, 6, 7, 9, 10) work around moto bugs: each has an upstream report with a
reproduction in tools/rehearsal/upstream/ (tools/rehearsal/tests/test_upstream.py fails, naming the
extension to drop, once moto is fixed). The others simulate what moto does not model (2, 3, 8, 11)
or an intrinsic it does not know yet (1): they are not bugs, and their comments say so.

The extensions are written against one moto version (``MOTO_VERSION``, the pin of
tools/rehearsal/requirements.txt); any other version stops the server with one line and exit code 1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MOTO_VERSION = "5.2.5"
LEDGER_PATH = "/rehearsal/ledger"
PLACEHOLDER = "placeholder"
CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"
CUSTOM = "custom"


@dataclass
class Entry:
    """One resource that moto accepted without modelling it."""

    account: str
    region: str
    stack_id: str
    stack_name: str
    logical_id: str
    type: str
    kind: str  # PLACEHOLDER or CUSTOM
    physical_id: str
    deleted: bool = False


class Ledger:
    """Placeholders and custom resources, in creation order; safe across the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def mark_deleted(self, stack_id: str, logical_id: str) -> None:
        with self._lock:
            for entry in self._entries:
                if entry.stack_id == stack_id and entry.logical_id == logical_id:
                    entry.deleted = True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[Entry]:
        with self._lock:
            return [Entry(**asdict(entry)) for entry in self._entries]

    def as_json(self) -> bytes:
        return json.dumps([asdict(entry) for entry in self.entries()]).encode()


LEDGER = Ledger()

HOOKS_PATH = "/rehearsal/hooks"
#: The next update of the stack fails after moto has written every resource of it (extension 11).
FAIL_UPDATE = "fail-update"
#: A release starts just before the LiveTraffic handler answers the next forward update of the stack.
RELEASE_DURING_UPDATE = "release-during-update"
#: The release started by RELEASE_DURING_UPDATE ends (it is stopped); nothing stays armed.
CLEAR = "clear"
#: The reason of an armed failure: it stands for an AWS error on the last resource of the update.
INJECTED_FAILURE = "rehearsal: armed failure, after every resource of the update was written"


class Hooks:
    """What the day-2 phase armed per stack (account, region, stack name), and what a hook started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[tuple[str, str, str], str] = {}
        self._releases: dict[tuple[str, str, str], Callable[[], str]] = {}

    def arm(self, key: tuple[str, str, str], hook: str) -> None:
        with self._lock:
            self._armed[key] = hook

    def take(self, key: tuple[str, str, str], hook: str) -> bool:
        """True once if ``hook`` is armed for the stack (it is disarmed)."""
        with self._lock:
            if self._armed.get(key) != hook:
                return False
            del self._armed[key]
            return True

    def started(self, key: tuple[str, str, str], stop: Callable[[], str]) -> None:
        with self._lock:
            self._releases[key] = stop

    def clear(self, key: tuple[str, str, str]) -> str:
        """Disarm the stack's hooks and stop the release one started; says what it stopped."""
        with self._lock:
            self._armed.pop(key, None)
            stop = self._releases.pop(key, None)
        return stop() if stop is not None else "nothing to stop"


HOOKS = Hooks()


class ExtensionError(Exception):
    """The installed moto is not the one the extensions were written for."""


def check_moto_version(installed: str | None = None) -> None:
    """Raise unless the installed moto is exactly ``MOTO_VERSION``."""
    if installed is None:
        try:
            installed = metadata.version("moto")
        except metadata.PackageNotFoundError:
            raise ExtensionError(
                "moto is not installed: `make rehearse` installs tools/rehearsal/requirements.txt"
            ) from None
    if installed != MOTO_VERSION:
        raise ExtensionError(
            f"moto {installed} is installed, the rehearsal's CloudFormation extensions are written for "
            f"moto {MOTO_VERSION} (tools/rehearsal/requirements.txt): reinstall the pin or review the extensions"
        )


def placeholder_arn(resource_type: str, region: str, account: str, physical_id: str) -> str:
    """A well-formed ARN for an unmodelled resource: AWS::CodeBuild::Project -> arn:aws:codebuild:…:project/<id>."""
    _, service, kind = resource_type.split("::")
    return f"arn:aws:{service.lower()}:{region}:{account}:{kind.lower()}/{physical_id}"


def moto_module(name: str) -> Any:
    """A module of the pinned moto, untyped: the extensions patch its internals on purpose."""
    return importlib.import_module(f"moto.{name}")


_installed = False


LIVE_TRAFFIC_TYPE = "Custom::LiveTraffic"
LIVE_TRAFFIC_HANDLER = Path(__file__).resolve().parents[2] / "components/ecs_blue_green/live_traffic/handler.py"


def live_traffic_handler() -> Any:
    """The deployed handler's own module, loaded from its file (it is deployed from its folder alone)."""
    module = sys.modules.get("rehearsal_live_traffic_handler")
    if module is None:
        spec = importlib.util.spec_from_file_location("rehearsal_live_traffic_handler", LIVE_TRAFFIC_HANDLER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def live_traffic_clients(stack_id: str) -> Any:
    """The handler's four clients, against this server, as the stack's account (an assumed role, as moto
    tells accounts apart by the caller's credentials) in the stack's region."""
    import boto3

    region, account = stack_id.split(":")[3:5]
    endpoint = f"http://127.0.0.1:{os.environ['MOTO_PORT']}"
    keys = {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
    sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, **keys)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="live-traffic"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    clients = {
        name: session.client(name, endpoint_url=endpoint) for name in ("cloudformation", "elbv2", "ecs", "codedeploy")
    }
    return live_traffic_handler().Clients(**clients)


class StackReader:
    """The two CloudFormation reads of the handler, answered from the stack in this process.

    moto creates a stack's resources lazily: a DescribeStackResource over HTTP while the stack is
    being created would create the rest of the stack (the reader again among them). This answers from
    the resources created so far, and "does not exist" for the others, as CloudFormation does for a
    resource it has not created yet (DescribeStackResource, AWS CloudFormation API reference).
    """

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackName": self.stack.name, "StackStatus": self.stack.status}]}

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        resource = self.stack.resource_map._parsed_resources.get(LogicalResourceId)
        physical = getattr(resource, "physical_resource_id", None) if resource is not None else None
        if not isinstance(physical, str):
            message = f"Resource {LogicalResourceId} does not exist for stack {self.stack.name}"
            raise ClientError({"Error": {"Code": "ValidationError", "Message": message}}, "DescribeStackResource")
        return {"StackResourceDetail": {"LogicalResourceId": LogicalResourceId, "PhysicalResourceId": physical}}


def install() -> None:
    """Apply the eleven extensions to moto (once per process)."""
    global _installed
    if _installed:
        return
    check_moto_version()

    parsing = moto_module("cloudformation.parsing")
    CustomModel = moto_module("cloudformation.custom_model").CustomModel
    ValidationError = moto_module("cloudformation.exceptions").ValidationError
    UnformattedGetAttTemplateException = moto_module("cloudformation.exceptions").UnformattedGetAttTemplateException
    cloudformation_backends = moto_module("cloudformation.models").cloudformation_backends
    CloudFormationModel = moto_module("core.common_models").CloudFormationModel
    mock_random = moto_module("moto_api._internal").mock_random

    def stack_name_of(stack_id: str, account: str, region: str) -> str:
        return str(cloudformation_backends[account][region].get_stack(stack_id).name)

    def record(kind: str, resource_name: str, account_id: str, region_name: str, kwargs: dict[str, Any]) -> Entry:
        """Put a resource moto accepted without modelling it in the ledger."""
        entry = Entry(
            account=account_id,
            region=region_name,
            stack_id=kwargs["StackId"],
            stack_name=stack_name_of(kwargs["StackId"], account_id, region_name),
            logical_id=kwargs["LogicalId"],
            type=kwargs["ResourceType"],
            kind=kind,
            physical_id=resource_name,
        )
        LEDGER.add(entry)
        return entry

    # -- 1. Fn::GetStackOutput ------------------------------------------------------------------
    # Not a moto bug: Fn::GetStackOutput is an intrinsic moto does not know yet (a feature request at most),
    # so there is no upstream report.

    def get_stack_output(arguments: Any, resources_map: Any) -> str:
        arguments = original_clean_json(arguments, resources_map)
        if not isinstance(arguments, dict) or not {"StackName", "OutputName", "Region"} <= set(arguments):
            raise ValidationError(
                message=f"Template error: Fn::GetStackOutput needs StackName, OutputName and Region, got {arguments}"
            )
        account = resources_map._account_id
        if arguments.get("RoleArn"):
            account = str(arguments["RoleArn"]).split(":")[4]
        name, output, region = arguments["StackName"], arguments["OutputName"], arguments["Region"]
        backend = cloudformation_backends[account][region]
        stack = next((s for s in backend.stacks.values() if s.name == name), None)
        if stack is None:
            raise ValidationError(
                message=f"Template error: Fn::GetStackOutput: stack {name} does not exist in {account}/{region}"
            )
        values = {o["OutputKey"]: o["OutputValue"] for o in stack.outputs or []}
        if output not in values:
            raise ValidationError(message=f"Template error: Fn::GetStackOutput: stack {name} has no output {output}")
        return str(values[output])

    original_clean_json: Callable[[Any, Any], Any] = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetStackOutput" in resource_json:
            return get_stack_output(resource_json["Fn::GetStackOutput"], resources_map)
        return original_clean_json(resource_json, resources_map)

    # -- 2. placeholders for the types moto does not model ---------------------------------------
    # Not a moto bug: a simulation. moto does not model these types; a placeholder lets the stack deploy.

    class Placeholder(CloudFormationModel):  # type: ignore[valid-type,misc]
        """A resource of a type moto does not model: accepted, given ids, created nowhere."""

        # moto files every model under the service named by its module (moto.<service>....).
        __module__ = "moto.cloudformation.rehearsal"

        def __init__(self, entry: Entry) -> None:
            self.entry = entry

        @property
        def physical_resource_id(self) -> str:
            return self.entry.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "?"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return placeholder_arn(self.entry.type, self.entry.region, self.entry.account, self.entry.physical_id)

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Placeholder:
            return cls(record(PLACEHOLDER, resource_name, account_id, region_name, kwargs))

        def delete(self, account_id: str, region_name: str) -> None:
            LEDGER.mark_deleted(self.entry.stack_id, self.entry.logical_id)

    original_resource_class_from_type: Callable[[str], Any] = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in parsing.NULL_MODELS:  # wait conditions: moto's own no-op, kept
            return None
        if resource_type == CUSTOM_RESOURCE_TYPE:  # the long form of Custom::*, which moto does not know
            return CustomModel
        if resource_type.startswith("Custom::") or resource_type in parsing.get_model_map():
            return original_resource_class_from_type(resource_type)
        return Placeholder

    # -- 3. custom resources answered without their Lambda function ------------------------------
    # Not a moto bug: a simulation. moto would run each custom resource's Lambda function in Docker.

    def create_custom_resource(
        cls: type[Any],
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        get_lambda_backend = moto_module("awslambda.utils").get_backend

        service_token = cloudformation_json["Properties"]["ServiceToken"]
        try:  # the provider must exist, as CloudFormation invokes it
            get_lambda_backend(account_id, region_name).get_function(service_token)
        except Exception:
            raise ValidationError(
                message=f"Custom resource {kwargs['LogicalId']}: ServiceToken {service_token} names no Lambda function"
            ) from None
        custom = CustomModel(region_name, str(mock_random.uuid4()), kwargs["LogicalId"], resource_name)
        cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"]).add_custom_resource(custom)
        if kwargs.get("ResourceType") == LIVE_TRAFFIC_TYPE:
            custom.set_data(answer_live_traffic("Create", kwargs["StackId"], kwargs["LogicalId"], cloudformation_json))
        else:
            custom.set_data({})  # SUCCESS, no Data: what the rehearsal's answer means is in docs/rehearsal.md
        custom.rehearsal_stack_id = kwargs["StackId"]
        record(CUSTOM, resource_name, account_id, region_name, kwargs)
        return custom

    def answer_live_traffic(
        request_type: str, stack_id: str, logical_id: str, cloudformation_json: dict[str, Any]
    ) -> dict[str, str]:
        """The real LiveTraffic handler's answer (its Data), or a ValidationError with its FAILED line."""
        handler = live_traffic_handler()
        clients = live_traffic_clients(stack_id)
        region, account = stack_id.split(":")[3:5]
        stack = cloudformation_backends[account][region].get_stack(stack_id)
        forward = request_type == "Update" and not stack.status.endswith("ROLLBACK_IN_PROGRESS")
        if forward and HOOKS.take((account, region, stack.name), RELEASE_DURING_UPDATE):
            start_release(stack, account, region)
        clients.cloudformation = StackReader(stack)
        status, reason, data = handler.respond(
            {
                "RequestType": request_type,
                "StackId": stack_id,
                "LogicalResourceId": logical_id,
                "ResourceProperties": cloudformation_json.get("Properties", {}),
            },
            clients,
        )
        print(f"rehearsal server: {stack_id.split('/')[1]} {logical_id} {request_type}: {status} {reason}", flush=True)
        if status != "SUCCESS":
            failure = ValidationError(message=reason)
            failure.rehearsal_resource = (logical_id, LIVE_TRAFFIC_TYPE)  # the UPDATE_FAILED event (extension 11)
            raise failure
        answer: dict[str, str] = data  # the handler is loaded from its asset folder, so mypy sees Any
        return answer

    def start_release(stack: Any, account: str, region: str) -> None:
        """A release of the stack's service starts, as its controller starts one (RELEASE_DURING_UPDATE)."""
        (service,) = [r for r in stack.resource_map._parsed_resources.values() if isinstance(r, ecs_models.Service)]
        if service.deployment_controller["type"] == "ECS":
            # ECS: a new deployment, PRIMARY and IN_PROGRESS; the one it replaces stays ACTIVE until it ends.
            previous = service.deployments[0]
            deployment = dict(previous, id=f"ecs-svc/{mock_random.randint(0, 32**12)}", rolloutState="IN_PROGRESS")
            deployment["rolloutStateReason"] = "ECS deployment in progress."
            previous["status"] = "ACTIVE"
            service.deployments.insert(0, deployment)
            started = f"ECS deployment {deployment['id']}, IN_PROGRESS"

            def stop() -> str:
                service.deployments.remove(deployment)
                previous["status"] = "PRIMARY"
                return f"{started}: removed, {previous['id']} PRIMARY again"

        else:
            # CodeDeploy: the replacement task set, ACTIVE beside the PRIMARY one while traffic shifts
            # (CodeDeploy user guide, "What happens during an Amazon ECS deployment").
            backend = ecs(account, region)
            primary = next(t for t in service.task_sets if t.status == "PRIMARY")
            task_set = backend.create_task_set(
                service.name,
                service.cluster_name,
                primary.task_definition,
                load_balancers=primary.load_balancers,
                launch_type="FARGATE",
            )
            started = f"task set {task_set.id} ACTIVE beside the PRIMARY {primary.id}"

            def stop() -> str:
                backend.delete_task_set(service.cluster_name, service.name, task_set.task_set_arn)
                return f"{started}: deleted"

        HOOKS.started((account, region, stack.name), stop)
        print(f"rehearsal server: {stack.name}: a release started during the update: {started}", flush=True)

    def delete_custom_resource(self: Any, account_id: str, region_name: str) -> None:
        LEDGER.mark_deleted(self.rehearsal_stack_id, self.logical_id)

    # -- 4. the target group attributes moto's model does not answer ------------------------------
    # A moto bug, reported in tools/rehearsal/upstream/04-target-group-getatt.md.

    FakeTargetGroup = moto_module("elbv2.models").FakeTargetGroup

    def target_group_attribute(self: Any, attribute_name: str) -> Any:
        attributes = {
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "TargetGroupFullName": self.arn.split(":")[-1],  # targetgroup/<name>/<id>, as in CloudWatch dimensions
            "LoadBalancerArns": list(self.load_balancer_arns),
        }
        if attribute_name not in attributes:
            raise UnformattedGetAttTemplateException()
        return attributes[attribute_name]

    if hasattr(FakeTargetGroup, "get_cfn_attribute"):
        raise ExtensionError("moto's FakeTargetGroup answers Fn::GetAtt itself now: drop extension 4")
    FakeTargetGroup.get_cfn_attribute = target_group_attribute

    # -- 5. stack deletion of the modelled types moto never deletes --------------------------------
    # A moto bug, reported in tools/rehearsal/upstream/05-stack-deletion-leaves-resources.md.

    DependencyViolationError = moto_module("ec2.exceptions").DependencyViolationError
    ec2_backends = moto_module("ec2.models").ec2_backends
    ecs_models, iam_models = moto_module("ecs.models"), moto_module("iam.models")
    ecs_backends, iam_backends = ecs_models.ecs_backends, iam_models.iam_backends
    elbv2_backends = moto_module("elbv2.models").elbv2_backends

    def ec2(account_id: str, region_name: str) -> Any:
        return ec2_backends[account_id][region_name]

    def ecs(account_id: str, region_name: str) -> Any:
        return ecs_backends[account_id][region_name]

    def delete_route_table(self: Any, account_id: str, region_name: str) -> None:
        # CloudFormation deletes a gateway endpoint before the route tables it names (they are its
        # dependencies); moto's deletion ignores dependencies, and its endpoint deletion fails on a
        # route table that is gone. So a table still named by a live endpoint waits for the next pass.
        backend = ec2(account_id, region_name)
        users = [
            e.id
            for e in backend.vpc_end_points.values()
            if e.state != "deleted" and self.id in (e.route_table_ids or [])
        ]
        if users:
            raise DependencyViolationError(f"route table {self.id} is still used by {', '.join(users)}")
        backend.delete_route_table(self.id)

    # Each does what CloudFormation does on stack deletion. moto retries a deletion that fails
    # (a route table still used, a cluster with a service) after the others, as CloudFormation
    # orders them by dependency. Routes and security group rules go with their table or group.
    deletions: dict[Any, Callable[[Any, str, str], Any]] = {
        ecs_models.Service: lambda self, a, r: ecs(a, r).delete_service(self.cluster_name, self.name, force=True),
        ecs_models.Cluster: lambda self, a, r: ecs(a, r).delete_cluster(self.arn),
        ecs_models.TaskDefinition: lambda self, a, r: ecs(a, r).deregister_task_definition(self.arn),
        FakeTargetGroup: lambda self, a, r: elbv2_backends[a][r].delete_target_group(self.arn),
        moto_module("ec2.models.vpcs").VPCEndPoint: lambda self, a, r: ec2(a, r).delete_vpc_endpoints([self.id]),
        moto_module("ec2.models.subnets").SubnetRouteTableAssociation: lambda self, a, r: ec2(
            a, r
        ).subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None),
        moto_module("ec2.models.route_tables").RouteTable: delete_route_table,
        moto_module("ec2.models.vpn_gateway").VPCGatewayAttachment: lambda self, a, r: ec2(
            a, r
        ).detach_internet_gateway(self.gateway_id, self.vpc_id),
        moto_module("ec2.models.internet_gateways").InternetGateway: lambda self, a, r: ec2(
            a, r
        ).delete_internet_gateway(self.id),
        moto_module("ec2.models.flow_logs").FlowLogs: lambda self, a, r: ec2(a, r).delete_flow_logs([self.id]),
        iam_models.ManagedPolicy: lambda self, a, r: iam_backends[a][self.partition].delete_policy(self.arn),
    }
    for model, delete in deletions.items():
        if hasattr(model, "delete"):
            raise ExtensionError(f"moto's {model.__name__} deletes itself now: drop it from extension 5")
        model.delete = delete

    # -- 6. a listener's weighted forward default action ---------------------------------------------
    # A moto bug, reported in tools/rehearsal/upstream/06-listener-weighted-forward.md.

    ELBv2Backend = moto_module("elbv2.models").ELBv2Backend
    original_listener_actions: Callable[[Any, dict[str, Any]], list[dict[str, Any]]] = (
        ELBv2Backend.convert_and_validate_properties
    )

    def listener_actions(self: Any, properties: dict[str, Any]) -> list[dict[str, Any]]:
        # A forward with a ForwardConfig and no TargetGroupArn is kept whole, as moto keeps the
        # actions of a listener rule; every other action goes through moto's own conversion.
        weighted = [a for a in properties["DefaultActions"] if a.get("Type") == "forward" and "ForwardConfig" in a]
        if not weighted:
            return original_listener_actions(self, properties)
        others = [a for a in properties["DefaultActions"] if a not in weighted]
        converted = original_listener_actions(self, {"DefaultActions": others}) if others else []
        return [*converted, *weighted]

    try:
        probe = {"DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": []}}]}
        original_listener_actions(None, probe)
    except KeyError:
        pass
    else:
        raise ExtensionError("moto's listener takes a weighted forward from CloudFormation now: drop extension 6")
    ELBv2Backend.convert_and_validate_properties = listener_actions

    # -- 7. the deployment controller of a service created by CloudFormation -------------------------
    # A moto bug, reported in tools/rehearsal/upstream/07-ecs-service-deployment-controller.md.

    EcsService = ecs_models.Service
    create_service_from_cloudformation = EcsService.create_from_cloudformation_json.__func__

    def service_with_controller(
        cls: type[Any],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        service = create_service_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name)
        controller = (cloudformation_json["Properties"].get("DeploymentController") or {}).get("Type")
        if controller and controller != service.deployment_controller["type"]:
            service.deployment_controller = {"type": controller}
            if controller != "ECS":  # CODE_DEPLOY and EXTERNAL services have task sets, not ECS deployments
                service.deployments = []
        return service

    if "DeploymentController" in inspect.getsource(create_service_from_cloudformation):
        raise ExtensionError("moto's ECS service keeps DeploymentController from CloudFormation now: drop extension 7")
    EcsService.create_from_cloudformation_json = classmethod(service_with_controller)

    # -- 8. a finished ECS deployment of the new task definition -------------------------------------
    # Not a moto bug: a simulation. moto models no ECS deployments; this writes the state a finished one leaves.

    EcsBackend = ecs_models.EC2ContainerServiceBackend
    original_update_service: Callable[[Any, dict[str, Any]], Any] = EcsBackend.update_service

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        service = original_update_service(self, service_properties)
        if service.deployment_controller["type"] != "ECS" or not service.deployments:
            return service
        primary = service.deployments[0]
        if primary.get("taskDefinition") != service.task_definition:
            # ECS would start a deployment of the new revision and, once it is done, leave it as the
            # one PRIMARY deployment, COMPLETED; moto models neither, so the finished state is written.
            deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
            primary.update(
                id=deployment_id,
                taskDefinition=service.task_definition,
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment_id} completed.",
                status="PRIMARY",
            )
        return service

    if 'deployments[0]["taskDefinition"]' in inspect.getsource(original_update_service):
        raise ExtensionError("moto's UpdateService moves the ECS deployment to the new revision now: drop extension 8")
    EcsBackend.update_service = update_service

    # -- 9. UsePreviousValue of a parameter that was never given ------------------------------------
    # A moto bug, reported in tools/rehearsal/upstream/09-use-previous-value-of-a-default.md.

    CloudFormationBackend = moto_module("cloudformation.models").CloudFormationBackend
    original_update_parameters = CloudFormationBackend._resolve_update_parameters

    def update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, str]]) -> dict[str, str]:
        # A parameter created from its default has no stored value: leaving it out applies the default again.
        known = [
            p for p in incoming_params if not p.get("UsePreviousValue") or p["ParameterKey"] in instance.parameters
        ]
        return dict(original_update_parameters(self, instance, known))

    if 'instance.parameters[parameter["ParameterKey"]]' not in inspect.getsource(original_update_parameters):
        raise ExtensionError("moto's UpdateStack resolves UsePreviousValue differently now: review extension 9")
    CloudFormationBackend._resolve_update_parameters = update_parameters

    # -- 10. an update of a resource moto cannot update keeps it ---------------------------------------
    # A moto bug, reported in tools/rehearsal/upstream/10-update-drops-resources-without-update.md.

    original_update_resource: Callable[..., Any] = parsing.parse_and_update_resource

    def update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        if resource_json.get("Type") == LIVE_TRAFFIC_TYPE and logical_id in resources_map._parsed_resources:
            # CloudFormation sends the reader an Update on every deploy (its Nonce changes) and on the
            # rollback of a failed update (with the previous properties): the handler runs again.
            live_traffic = resources_map._parsed_resources[logical_id]
            resolved = parsing.clean_json(resource_json, resources_map)
            live_traffic.set_data(answer_live_traffic("Update", resources_map.stack_id, logical_id, resolved))
            return live_traffic
        updated = original_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
        model = resource_class_from_type(resource_json["Type"])
        cannot_update = model is not None and hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")
        if updated is None and cannot_update and logical_id in resources_map._parsed_resources:
            return resources_map._parsed_resources[logical_id]
        return updated

    if "else:\n        return None" not in inspect.getsource(original_update_resource):
        raise ExtensionError("moto's stack update handles a model without an update now: review extension 10")
    parsing.parse_and_update_resource = update_resource

    # -- 11. a failed stack update rolls back --------------------------------------------------------
    # Not a moto bug: a simulation. moto does not model CloudFormation's rollback of a failed update.

    cloudformation_models = moto_module("cloudformation.models")
    Stack, Event = cloudformation_models.Stack, cloudformation_models.Event
    original_stack_update: Callable[..., None] = Stack.update

    def stack_update(
        self: Any,
        template: str,
        role_arn: str | None = None,
        parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        # What CloudFormation restores on rollback: the previous template and parameter values
        # ("Monitor the progress of a stack update", AWS CloudFormation user guide:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html).
        previous = (self.template, self.role_arn, dict(self.parameters or {}))
        previous_input = dict(self.resource_map.input_parameters or {})
        self.status = "UPDATE_IN_PROGRESS"
        try:
            original_stack_update(self, template, role_arn, parameters, tags)
            if HOOKS.take((self.account_id, self.region_name, self.name), FAIL_UPDATE):
                raise ValidationError(message=INJECTED_FAILURE)
        except Exception as error:
            roll_back(self, error, previous, previous_input)

    def roll_back(
        stack: Any, error: Exception, previous: tuple[str, str | None, dict[str, Any]], previous_input: dict[str, Any]
    ) -> None:
        reason = str(getattr(error, "message", None) or error)
        logical_id, resource_type = getattr(error, "rehearsal_resource", (stack.name, "AWS::CloudFormation::Stack"))
        # moto logs UPDATE_COMPLETE before an armed failure; a rolled-back update never completed.
        stack.events = [
            e for i, e in enumerate(stack.events) if i < len(stack.events) - 1 or e.resource_status != "UPDATE_COMPLETE"
        ]
        if logical_id != stack.name:
            stack.events.append(
                Event(stack.stack_id, stack.name, logical_id, logical_id, resource_type, "UPDATE_FAILED", reason, None)
            )
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack.status_reason = reason
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        print(f"rehearsal server: {stack.name} update failed, rolling back: {reason}", flush=True)
        template, role_arn, parameters = previous
        before = len(stack.events)
        try:
            original_stack_update(stack, template, role_arn, previous_input or None, None)
        except Exception as failure:
            del stack.events[before:]
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack.status_reason = str(getattr(failure, "message", None) or failure)
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=stack.status_reason)
            return
        del stack.events[before:]  # moto's own UPDATE_IN_PROGRESS / UPDATE_COMPLETE of the re-applied template
        stack.parameters = parameters
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        print(f"rehearsal server: {stack.name} UPDATE_ROLLBACK_COMPLETE", flush=True)

    if "ROLLBACK" in inspect.getsource(original_stack_update):
        raise ExtensionError("moto's stack update rolls back by itself now: drop extension 11")
    Stack.update = stack_update

    parsing.clean_json = clean_json
    parsing.resource_class_from_type = resource_class_from_type
    CustomModel.create_from_cloudformation_json = classmethod(create_custom_resource)
    CustomModel.delete = delete_custom_resource
    _installed = True


def hook(request: dict[str, Any]) -> dict[str, str]:
    """Arm a hook for a stack, or clear its hooks: ``{"hook": ..., "account": ..., "region": ..., "stack": ...}``."""
    key = (str(request["account"]), str(request["region"]), str(request["stack"]))
    name = request["hook"]
    if name == CLEAR:
        return {"cleared": HOOKS.clear(key)}
    if name not in (FAIL_UPDATE, RELEASE_DURING_UPDATE):
        raise ValueError(f"unknown hook {name!r}")
    HOOKS.arm(key, name)
    return {"armed": name}


def with_ledger(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Serve the ledger on ``GET /rehearsal/ledger`` and the hooks on ``POST /rehearsal/hooks``; everything
    else goes to moto."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == LEDGER_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = LEDGER.as_json()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == HOOKS_PATH and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body, status = json.dumps(hook(json.loads(environ["wsgi.input"].read(length)))).encode(), "200 OK"
            except (KeyError, ValueError) as error:
                body, status = json.dumps({"error": str(error)}).encode(), "400 Bad Request"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wsgi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("-p", "--port", type=int, required=True, help="port to bind")
    args = parser.parse_args(argv)
    # Before moto loads (about a second): a port in use fails at once, in one line (werkzeug says it in three).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as error:
            print(f"rehearsal server: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
            return 1
    try:
        install()
    except ExtensionError as error:
        print(f"rehearsal server: {error}", file=sys.stderr)
        return 1

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # moto builds the ResponseURL of custom resources from these; set as `python -m moto.server` does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    try:
        server = make_server(
            args.host,
            args.port,
            with_ledger(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except OSError as error:
        print(f"rehearsal server: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"rehearsal server: moto {MOTO_VERSION} on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
