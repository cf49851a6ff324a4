"""Read what runs now in one service stack, with boto3: CloudFormation and ECS.

Calls (all read-only): ``cloudformation`` DescribeStacks, GetTemplate (TemplateStage Original),
DescribeStackResources; ``ecs`` DescribeServices, DescribeTaskDefinition. They give the stack's
status and parameters, the deployment controller, whether a release is in progress and the image
the service runs. The load balancer is not read: the forward weights belong to the stack's
``LiveTraffic`` custom resource, which reads and writes them back on every deployment
(:mod:`release_guard.plan`).

Credentials: :func:`session_for` assumes the CDK bootstrap lookup role of the target account
(``cdk-hnb659fds-lookup-role-{account}-{region}``). The bootstrap template gives it the
ReadOnlyAccess managed policy (with kms:Decrypt denied) and trusts the account itself and the
accounts trusted for lookup (``LookupRole`` in the CDK CLI's ``bootstrap-template.yaml``, shipped
as ``node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml``; the roles are described
in https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-bootstrap.html). ``ambient=True`` uses the
ambient credentials instead, e.g. against a local endpoint set with ``AWS_ENDPOINT_URL``, which
boto3 reads itself (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from release_guard.plan import (
    CODE_DEPLOY,
    FIRST_DEPLOY_STATUSES,
    GuardError,
    LiveState,
    references,
    resources,
    service_resource,
)

DEFAULT_ROLE_NAME = "cdk-hnb659fds-lookup-role-{account}-{region}"
SESSION_NAME = "release-guard"
_HINTS = {
    "AccessDenied": "the identity (or the role it assumed) needs read access to this account",
    "AccessDeniedException": "the identity (or the role it assumed) needs read access to this account",
    "UnauthorizedOperation": "the identity (or the role it assumed) needs read access to this account",
    "ExpiredToken": "refresh the credentials",
    "ExpiredTokenException": "refresh the credentials",
    "Throttling": "run the guard again in a minute",
    "ThrottlingException": "run the guard again in a minute",
    "RequestLimitExceeded": "run the guard again in a minute",
}


class AwsCallError(Exception):
    """An AWS call failed (denied, throttled, no credentials, unreachable). The message is one line."""


@dataclass(frozen=True)
class DeployedStack:
    """A stack as CloudFormation has it: status, parameter values, template and logical → physical ids."""

    name: str
    status: str
    parameters: dict[str, str]
    template: dict[str, Any]
    physical_ids: dict[str, str]


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def aws_error(stack: str, client: Any, operation: str, error: Exception) -> AwsCallError:
    """One line naming the stack and the call for a boto3 failure."""
    service = client.meta.service_model.service_name
    name = client.meta.method_to_api_mapping.get(operation, operation)
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "Error"))
        message = _one_line(error.response.get("Error", {}).get("Message", ""))
        hint = _HINTS.get(code, "check the credentials and the account, then run the guard again")
        return AwsCallError(f"{stack}: {service} {name}: {code}: {message}; {hint}")
    if isinstance(error, NoCredentialsError):
        return AwsCallError(
            f"{stack}: {service} {name}: no AWS credentials found; sign in (e.g. aws sso login) "
            "or set AWS_PROFILE, then run the guard again"
        )
    return AwsCallError(f"{stack}: {service} {name}: {_one_line(error)}; check the network and the endpoint")


def call(stack: str, client: Any, operation: str, **kwargs: Any) -> Any:
    """``client.<operation>(**kwargs)``; a failure becomes one :class:`AwsCallError` line naming stack and call."""
    try:
        return getattr(client, operation)(**kwargs)
    except (ClientError, BotoCoreError) as error:
        raise aws_error(stack, client, operation, error) from None


def session_for(
    account: str,
    region: str,
    *,
    role_name: str = DEFAULT_ROLE_NAME,
    ambient: bool = False,
    stack: str = "release_guard",
    base: boto3.Session | None = None,
) -> boto3.Session:
    """A boto3 session for ``account``/``region``: the assumed ``role_name`` (a template with
    ``{account}`` and ``{region}``), or the ambient credentials when ``ambient`` is true."""
    base = base or boto3.Session(region_name=region)
    if ambient:
        return base
    try:
        name = role_name.format(account=account, region=region)
    except (KeyError, IndexError, ValueError):
        raise GuardError(
            f"--role-name: expected a role name with no placeholders but {{account}} and {{region}}, got {role_name!r}"
        ) from None
    partition = base.get_partition_for_region(region)
    sts = base.client("sts", region_name=region)
    role_arn = f"arn:{partition}:iam::{account}:role/{name}"
    answer = call(stack, sts, "assume_role", RoleArn=role_arn, RoleSessionName=SESSION_NAME)
    credentials = answer["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


# -- CloudFormation -------------------------------------------------------------------------


def read_deployed(cloudformation: Any, stack: str) -> DeployedStack | None:
    """The deployed stack, or None when there is none (or only a failed creation the CDK CLI recreates)."""
    try:
        answer = cloudformation.describe_stacks(StackName=stack)
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError" and "does not exist" in str(details.get("Message", "")):
            return None
        raise aws_error(stack, cloudformation, "describe_stacks", error) from None
    except BotoCoreError as error:
        raise aws_error(stack, cloudformation, "describe_stacks", error) from None
    description = answer["Stacks"][0]
    status = str(description["StackStatus"])
    if status in FIRST_DEPLOY_STATUSES:
        return None
    parameters = {
        str(item["ParameterKey"]): str(item.get("ParameterValue", "")) for item in description.get("Parameters", [])
    }
    body = call(stack, cloudformation, "get_template", StackName=stack, TemplateStage="Original")["TemplateBody"]
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            raise GuardError(f"{stack}: deployed template: expected JSON, as the CDK writes it") from None
    if not isinstance(body, Mapping):
        raise GuardError(f"{stack}: deployed template: expected a JSON object, got {type(body).__name__}")
    listed = call(stack, cloudformation, "describe_stack_resources", StackName=stack)["StackResources"]
    physical_ids = {
        str(item["LogicalResourceId"]): str(item["PhysicalResourceId"])
        for item in listed
        if item.get("PhysicalResourceId")
    }
    return DeployedStack(stack, status, parameters, dict(body), physical_ids)


def _physical(deployed: DeployedStack, logical_id: str) -> str:
    physical = deployed.physical_ids.get(logical_id)
    if not physical:
        raise GuardError(f"{deployed.name}: deployed stack: {logical_id} has no physical id in DescribeStackResources")
    return physical


# -- ECS ----------------------------------------------------------------------------------------


def _cluster(deployed: DeployedStack, service: str, service_arn: str) -> str | None:
    path = service_arn.split(":", 5)[-1].split("/")
    if len(path) == 3:  # service/<cluster>/<name>: the long ARN format
        return path[1]
    names = references((resources(deployed.template)[service].get("Properties") or {}).get("Cluster"))[0]
    for name in sorted(names):
        if name in deployed.physical_ids:
            return deployed.physical_ids[name]
    return None


def image_tag(stack: str, image: str) -> str:
    """The tag of ``registry/repository:tag``; a digest or a missing tag is an error."""
    name = image.rsplit("/", 1)[-1]
    if "@" in image or ":" not in name:
        raise GuardError(f"{stack}: live task definition: expected an image with a tag (repository:tag), got {image}")
    return name.rsplit(":", 1)[1]


def _release(controller: str, description: Mapping[str, Any]) -> tuple[bool, str, str, list[Any]]:
    """Whether a release is in progress, what, the live task definition and the load balancers."""
    if controller == CODE_DEPLOY:
        task_sets = list(description.get("taskSets") or [])
        primary = [item for item in task_sets if item.get("status") == "PRIMARY"]
        in_progress = any(item.get("status") != "PRIMARY" for item in task_sets)
        detail = "task sets " + ", ".join(str(item.get("status")) for item in task_sets) if in_progress else ""
        source = primary[0] if primary else description
    else:
        deployments = list(description.get("deployments") or [])
        primary = [item for item in deployments if item.get("status") == "PRIMARY"]
        in_progress = len(deployments) > 1 or any(
            item.get("rolloutState") not in (None, "COMPLETED") for item in deployments
        )
        detail = (
            f"{len(deployments)} ECS deployment{'s' if len(deployments) != 1 else ''}: "
            + ", ".join(f"{item.get('status')} {item.get('rolloutState', '')}".strip() for item in deployments)
            if in_progress
            else ""
        )
        source = primary[0] if primary else description
    task_definition = str(source.get("taskDefinition") or description.get("taskDefinition") or "")
    balancers = list(source.get("loadBalancers") or description.get("loadBalancers") or [])
    return in_progress, detail, task_definition, balancers


def read_live_state(ecs: Any, deployed: DeployedStack) -> LiveState:
    """The live state of the deployed service stack ``deployed`` (see the module docstring)."""
    stack, template = deployed.name, deployed.template
    service = service_resource(stack, template, source="deployed template")
    service_arn = _physical(deployed, service)
    cluster = _cluster(deployed, service, service_arn)
    request: dict[str, Any] = {"services": [service_arn]} | ({"cluster": cluster} if cluster else {})
    described = call(stack, ecs, "describe_services", **request)
    if not described.get("services"):
        raise GuardError(f"{stack}: {service}: ecs DescribeServices found no service {service_arn}")
    description = described["services"][0]
    controller = str((description.get("deploymentController") or {}).get("type", "ECS"))
    in_progress, detail, task_definition, balancers = _release(controller, description)
    containers = call(stack, ecs, "describe_task_definition", taskDefinition=task_definition)["taskDefinition"][
        "containerDefinitions"
    ]
    wanted = next((str(b["containerName"]) for b in balancers if b.get("containerName")), None)
    chosen = [c for c in containers if c.get("name") == wanted] if wanted else containers
    if len(chosen) != 1:
        raise GuardError(
            f"{stack}: live task definition {task_definition}: expected the load-balanced container"
            f"{' ' + wanted if wanted else ''}, found {len(chosen)} candidates"
        )
    return LiveState(
        stack_status=deployed.status,
        controller=controller,
        release_in_progress=in_progress,
        live_image_tag=image_tag(stack, str(chosen[0].get("image", ""))),
        release_detail=detail,
        stack_parameters=dict(deployed.parameters),
    )
