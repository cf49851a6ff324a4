"""Mermaid diagrams of each architecture, read from the synthesized templates.

Each function picks the resources that tell its design and draws an arrow for every
reference between them (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::GetStackOutput``), plus
the relationships that a template states by name rather than by reference: an IAM trust
policy naming a role ARN, a pipeline action's role ARN, a task definition family.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stacks import names as stack_names
from stacks.names import StackKind
from tools.docgen.mermaid import Flowchart, Group, node_id
from tools.docgen.model import AppModel, Resource, Stack

ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(.+)$")
BOOTSTRAP_ROLE = re.compile(r"^(cdk-[a-z0-9]+-[a-z-]+?-role)-\d{12}-[a-z0-9-]+$")
#: Each architecture's diagram shows the production environment, the largest one.
SHOWN_ENVIRONMENT = "prod"


def _reference_edges(
    model: AppModel, chart: Flowchart, shown: Mapping[tuple[str, str], str], skip: Iterable[str] = ()
) -> None:
    """An arrow from each shown resource to each shown resource its properties reference.

    References through the properties in ``skip`` are left out (the diagram shows them as
    placement, or draws them in the other direction).
    """
    for (stack_name, logical_id), source in sorted(shown.items(), key=lambda item: item[1]):
        resource = model.stack(stack_name).resources.get(logical_id)
        if resource is None:
            continue
        for reference in model.references(resource):
            target = shown.get((reference.stack, reference.logical_id))
            if target is not None and reference.via not in skip:
                chart.edge(source, target)


def _policy_edges(model: AppModel, chart: Flowchart, shown: Mapping[tuple[str, str], str], stack: Stack) -> None:
    """A dashed arrow from a shown role to each shown resource its attached IAM policies name."""
    for policy in stack.of_type("AWS::IAM::Policy"):
        references = model.references(policy)
        roles = [
            shown[(r.stack, r.logical_id)] for r in references if r.via == "Roles" and (r.stack, r.logical_id) in shown
        ]
        targets = [
            shown[(r.stack, r.logical_id)]
            for r in references
            if r.via == "PolicyDocument" and (r.stack, r.logical_id) in shown
        ]
        for role in roles:
            for target in targets:
                chart.edge(role, target, "IAM policy", "-.->")


def _collapse_into_group(chart: Flowchart, group: Group) -> None:
    """Replace arrows from one node to every member of ``group`` by one arrow to the group."""
    members = {id_ for id_, _, _ in group.nodes}
    if len(members) < 2:
        return
    by_source: dict[tuple[str, str, str], set[str]] = {}
    for source, target, label, style in chart.edges:
        if target in members and source not in members:
            by_source.setdefault((source, label, style), set()).add(target)
    for (source, label, style), targets in by_source.items():
        if targets == members:
            chart.edges = [e for e in chart.edges if not (e[0] == source and e[1] in members and e[2] == label)]
            chart.edge(source, group.id, label, style)


def _account_label(model: AppModel, account: str, stacks: Iterable[str]) -> str:
    return f"{model.environment_of(account)} account {account}: {', '.join(stacks)}"


def flatten(value: Any, region: str) -> str:
    """A string property as text: ``Fn::Join`` joined, the region and URL suffix filled in."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(flatten(part, region) for part in parts)
    if isinstance(value, dict) and value.get("Ref") == "AWS::Region":
        return region
    if isinstance(value, dict) and value.get("Ref") == "AWS::URLSuffix":
        return "amazonaws.com"
    return "?"


def _service_short_name(endpoint: Resource, region: str) -> str:
    """``ecr.api`` for ``com.amazonaws.eu-west-1.ecr.api``."""
    name = flatten(endpoint.properties.get("ServiceName", ""), region)
    return name.split(f".{region}.", 1)[-1]


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- network -------------------------------------------------------------------------------------


def _route_lines(stack: Stack, route_table: Resource, model: AppModel) -> list[str]:
    lines = ["local"]
    for route in stack.of_type("AWS::EC2::Route"):
        if any(r.logical_id == route_table.logical_id for r in model.references(route) if r.via == "RouteTableId"):
            target = next(
                (
                    model.resolve(r)
                    for r in model.references(route)
                    if r.via in ("GatewayId", "NatGatewayId", "TransitGatewayId")
                ),
                None,
            )
            destination = route.properties.get("DestinationCidrBlock", "?")
            lines.append(f"{destination} → {target.short_type if target else 'target'}")
    for endpoint in stack.of_type("AWS::EC2::VPCEndpoint"):
        if any(r.logical_id == route_table.logical_id for r in model.references(endpoint) if r.via == "RouteTableIds"):
            lines.append(f"{_service_short_name(endpoint, stack.region)} prefix list → gateway endpoint")
    if not any(line.startswith("0.0.0.0/0") for line in lines):
        lines.append("no 0.0.0.0/0 route")
    return lines


def network(model: AppModel) -> str:
    environment = model.config.environment(SHOWN_ENVIRONMENT)
    stack = model.stack(stack_names.network(environment))
    chart = Flowchart("TB")
    account = chart.group("account", _account_label(model, stack.account, [stack.name]))
    vpc = stack.one("AWS::EC2::VPC")
    vpc_group = chart.group(node_id(stack.name, vpc.path), f"VPC {vpc.properties.get('CidrBlock')}", account)
    shown: dict[tuple[str, str], str] = {(stack.name, vpc.logical_id): vpc_group.id}

    def add(resource: Resource, label: str, parent: Group | None, shape: str = "box") -> str:
        id_ = chart.node(node_id(stack.name, resource.path), label, parent, shape)
        shown[(stack.name, resource.logical_id)] = id_
        return id_

    for gateway in stack.of_type("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway"):
        add(gateway, f"{gateway.short_type}<br/>{gateway.path}", account, "round")
    subnets = stack.of_type("AWS::EC2::Subnet")
    zones = sorted({str(s.properties.get("AvailabilityZone")) for s in subnets})
    associations = stack.of_type("AWS::EC2::SubnetRouteTableAssociation")
    route_tables = {r.logical_id: r for r in stack.of_type("AWS::EC2::RouteTable")}
    endpoints = stack.of_type("AWS::EC2::VPCEndpoint")
    interface = [e for e in endpoints if e.properties.get("VpcEndpointType") == "Interface"]
    for zone in zones:
        zone_group = chart.group(node_id(stack.name, vpc.path, zone), zone, vpc_group)
        for subnet in (s for s in subnets if s.properties.get("AvailabilityZone") == zone):
            kind = (subnet.tag("aws-cdk:subnet-type") or "?").lower()
            name = subnet.tag("aws-cdk:subnet-name") or subnet.path
            public_ip = "maps" if subnet.properties.get("MapPublicIpOnLaunch") else "no"
            add(
                subnet,
                f"{name} subnet {subnet.properties.get('CidrBlock')}<br/>{kind}, {public_ip} public IP on launch",
                zone_group,
            )
            for association in associations:
                refs = {r.via: r.logical_id for r in model.references(association)}
                if refs.get("SubnetId") == subnet.logical_id and refs.get("RouteTableId") in route_tables:
                    table = route_tables[refs["RouteTableId"]]
                    add(table, "route table<br/>" + "<br/>".join(_route_lines(stack, table, model)), zone_group)
    endpoint_group = chart.group(
        node_id(stack.name, "InterfaceEndpoints"),
        "interface endpoints: private DNS, one ENI in each task subnet",
        vpc_group,
    )
    for endpoint in interface:
        policy = "endpoint policy" if endpoint.properties.get("PolicyDocument") else "default policy"
        add(endpoint, f"{_service_short_name(endpoint, stack.region)}<br/>{policy}", endpoint_group)
    for endpoint in endpoints:
        if endpoint not in interface:
            add(
                endpoint,
                f"{_service_short_name(endpoint, stack.region)} gateway endpoint<br/>endpoint policy",
                vpc_group,
            )
    for group in stack.of_type("AWS::EC2::SecurityGroup"):
        ingress = [
            f"{rule.get('IpProtocol')} {rule.get('FromPort')} from {rule.get('CidrIp')}"
            for rule in group.properties.get("SecurityGroupIngress", [])
        ]
        add(group, f"security group {group.path.rsplit('/', 1)[-1]}<br/>in: {', '.join(ingress) or 'none'}", vpc_group)
    for resource in stack.of_type("AWS::EC2::FlowLog"):
        add(resource, f"flow log<br/>{resource.properties.get('TrafficType')} traffic", account)
    for resource in stack.of_type("Custom::VpcRestrictDefaultSG"):
        add(resource, "custom resource<br/>removes the default security group's rules", account)
    for resource in stack.of_type("AWS::Logs::LogGroup"):
        add(
            resource, f"log group<br/>{resource.path}, {resource.properties.get('RetentionInDays')} days", account, "db"
        )
    for resource in stack.of_type("AWS::KMS::Key"):
        add(resource, label(resource), account, SHAPE[resource.type])

    # Drawn as placement (subgraphs) or in the other direction below: the VPC, subnets and
    # security groups an endpoint names, the route tables of a gateway endpoint.
    placement = {"VpcId", "SubnetIds", "SecurityGroupIds", "RouteTableIds"}
    _reference_edges(model, chart, shown, skip=placement)
    for endpoint in endpoints:
        for reference in model.references(endpoint):
            target = shown.get((reference.stack, reference.logical_id))
            if target and reference.via == "SecurityGroupIds":
                chart.edge(target, shown[(stack.name, endpoint.logical_id)])
            elif target and reference.via == "RouteTableIds":
                chart.edge(target, shown[(stack.name, endpoint.logical_id)], "prefix-list route")
    for route in stack.of_type("AWS::EC2::Route"):
        drawn = {r.via: shown.get((r.stack, r.logical_id)) for r in model.references(route)}
        table_id, gateway_id = drawn.get("RouteTableId"), drawn.get("GatewayId") or drawn.get("NatGatewayId")
        if table_id and gateway_id:
            chart.edge(table_id, gateway_id, str(route.properties.get("DestinationCidrBlock", "")))
    # Subnet -> route table arrows come from the associations, which are not drawn themselves.
    for association in associations:
        refs = {r.via: r.logical_id for r in model.references(association)}
        subnet_id, table_id = shown.get((stack.name, refs["SubnetId"])), shown.get((stack.name, refs["RouteTableId"]))
        if subnet_id and table_id:
            chart.edge(subnet_id, table_id)
    # Interface endpoints put one network interface in each of their subnets.
    for endpoint in interface:
        for reference in model.references(endpoint):
            if reference.via == "SubnetIds" and (reference.stack, reference.logical_id) in shown:
                chart.edge(
                    shown[(reference.stack, reference.logical_id)], shown[(stack.name, endpoint.logical_id)], "ENI"
                )
    # Edges point from the referring resource; the gateway endpoint reads better as a route target.
    _collapse_into_group(chart, endpoint_group)
    return chart.render()


# --- labels --------------------------------------------------------------------------------------


#: The types other resources name in an ARN written out by hand (``arn:...:role/<RoleName>``), with
#: the property that holds the fixed name and the part of the ARN just before it.
NAMED_IN_ARNS = {"AWS::IAM::Role": ("RoleName", ":role/"), "AWS::SecretsManager::Secret": ("Name", ":secret:")}


def _named_edges(model: AppModel, chart: Flowchart, shown: Mapping[tuple[str, str], str]) -> None:
    """Arrows for references written as ARNs with a fixed name instead of ``Ref``/``GetAtt``."""
    names: dict[str, str] = {}
    for (stack_name, logical_id), id_ in shown.items():
        resource = model.stack(stack_name).resources.get(logical_id)
        if resource is None or resource.type not in NAMED_IN_ARNS:
            continue
        name_key, arn_part = NAMED_IN_ARNS[resource.type]
        name = resource.properties.get(name_key)
        if isinstance(name, str):
            names[arn_part + name] = id_
    for (stack_name, logical_id), source in sorted(shown.items(), key=lambda item: item[1]):
        resource = model.stack(stack_name).resources.get(logical_id)
        if resource is None:
            continue
        text = json.dumps(resource.properties)
        for token, target in sorted(names.items()):
            if re.search(re.escape(token) + r'(?:["-]|$)', text):
                chart.edge(source, target)


#: The label of each resource type: what a reader needs to recognise it (its kind, its name or
#: construct path, its key settings). Each function gets the resource's properties and its
#: construct path inside the stack (``Service/BlueTargetGroup``), which is what to search the code for.
LABELS: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda p, path: (
        f"Application Load Balancer<br/>{p.get('Scheme', 'internet-facing')}"
    ),
    "AWS::ElasticLoadBalancingV2::Listener": lambda p, path: f"{path}<br/>{p.get('Protocol')} :{p.get('Port')}",
    "AWS::ElasticLoadBalancingV2::TargetGroup": lambda p, path: (
        f"{path}<br/>{p.get('TargetType')} targets, health {p.get('HealthCheckPath')}"
    ),
    "AWS::ECS::Service": lambda p, path: (
        f"ECS service, {p.get('LaunchType')}<br/>"
        f"desired {p.get('DesiredCount')}, controller {p.get('DeploymentController', {}).get('Type', 'ECS')}"
    ),
    "AWS::ECS::TaskDefinition": lambda p, path: (
        f"task definition {p.get('Family')}<br/>{p.get('Cpu')} CPU units, {p.get('Memory')} MiB"
    ),
    "AWS::ECS::Cluster": lambda p, path: "ECS cluster",
    "AWS::IAM::Role": lambda p, path: f"IAM role {p.get('RoleName') or path}",
    "AWS::SecretsManager::Secret": lambda p, path: f"secret {p.get('Name') or path}",
    "AWS::KMS::Key": lambda p, path: (
        f"KMS key {path}<br/>{'rotation on' if p.get('EnableKeyRotation') else 'no rotation'}"
    ),
    "AWS::Logs::LogGroup": lambda p, path: (
        f"log group {p.get('LogGroupName') or path}<br/>{p.get('RetentionInDays', 'no')} days"
    ),
    "AWS::CodeDeploy::Application": lambda p, path: f"CodeDeploy application<br/>{p.get('ApplicationName') or path}",
    "AWS::CodeDeploy::DeploymentGroup": lambda p, path: (
        f"deployment group {p.get('DeploymentGroupName', '')}<br/>"
        + str(p.get("DeploymentConfigName", "")).removeprefix("CodeDeployDefault.")
    ),
    "AWS::CloudWatch::Alarm": lambda p, path: (
        f"{path}<br/>{p.get('MetricName')} {p.get('Statistic') or p.get('ExtendedStatistic')}"
    ),
    "AWS::Lambda::Function": lambda p, path: f"Lambda {p.get('FunctionName') or path}",
    "AWS::Events::Rule": lambda p, path: f"EventBridge rule {path}",
    "AWS::SNS::Topic": lambda p, path: f"SNS topic {path}",
    "AWS::S3::Bucket": lambda p, path: f"S3 bucket {p.get('BucketName') or path}",
    "AWS::ECR::Repository": lambda p, path: (
        f"ECR repository {path}<br/>tags {str(p.get('ImageTagMutability', 'MUTABLE')).lower()}"
    ),
    "AWS::CodeBuild::Project": lambda p, path: f"CodeBuild {path}<br/>{p.get('Environment', {}).get('ComputeType')}",
}


def label(resource: Resource) -> str:
    """The resource's line of :data:`LABELS`; ``<short type> <construct path>`` for any other type."""
    describe = LABELS.get(resource.type)
    if describe is None:
        return f"{resource.short_type} {resource.path}"
    return describe(resource.properties, resource.path)


SHAPE = {
    "AWS::Logs::LogGroup": "db",
    "AWS::S3::Bucket": "db",
    "AWS::ECR::Repository": "db",
    "AWS::SecretsManager::Secret": "db",
    "AWS::KMS::Key": "round",
    "AWS::IAM::Role": "stadium",
}


def _subnet_group(model: AppModel, resource: Resource) -> str | None:
    """``Tasks subnets`` if the resource is placed in subnets of a network stack."""
    names = set()
    for reference in model.references(resource):
        target = model.resolve(reference)
        if target is not None and target.type == "AWS::EC2::Subnet":
            names.add(f"{target.tag('aws-cdk:subnet-name') or 'other'} subnets of {target.stack}")
    return "/".join(sorted(names)) or None


# --- ECS blue/green ------------------------------------------------------------------------------

SERVICE_TYPES = (
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ECS::Cluster",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::IAM::Role",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::Function",
    "AWS::Events::Rule",
    "AWS::SNS::Topic",
    "AWS::S3::Bucket",
)


def ecs_blue_green(model: AppModel) -> str:
    environment = model.config.environment(SHOWN_ENVIRONMENT)
    stack = model.stack(stack_names.service(environment))
    chart = Flowchart("LR")
    account = chart.group("account", _account_label(model, stack.account, [stack.name]))
    groups: dict[str, Group] = {}
    alarms = chart.group(node_id(stack.name, "RollbackAlarms"), "rollback alarms, on both target groups", account)
    shown: dict[tuple[str, str], str] = {}
    for resource in stack.of_type(*SERVICE_TYPES):
        parent = account
        placement = _subnet_group(model, resource)
        if placement:
            parent = groups.get(placement) or groups.setdefault(
                placement, chart.group(node_id(stack.name, placement), placement, account)
            )
        if resource.type == "AWS::CloudWatch::Alarm":
            parent = alarms
        id_ = chart.node(node_id(stack.name, resource.path), label(resource), parent, SHAPE.get(resource.type, "box"))
        shown[(stack.name, resource.logical_id)] = id_
    _reference_edges(model, chart, shown, skip={"Subnets", "VpcId", "NetworkConfiguration", "VpcConfig"})
    _named_edges(model, chart, shown)
    _policy_edges(model, chart, shown, stack)
    # An alarm names its load balancer as a metric dimension beside its target group: the
    # target group is what it watches.
    balancers = {shown[(stack.name, r.logical_id)] for r in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")}
    chart.edges = [e for e in chart.edges if not (e[0] in {i for i, _, _ in alarms.nodes} and e[1] in balancers)]
    # The service names its task definition by family, not by reference (CodeDeploy owns revisions).
    families = {
        r.properties.get("Family"): shown[(stack.name, r.logical_id)] for r in stack.of_type("AWS::ECS::TaskDefinition")
    }
    for service in stack.of_type("AWS::ECS::Service"):
        family = service.properties.get("TaskDefinition")
        if isinstance(family, str) and family in families:
            chart.edge(shown[(stack.name, service.logical_id)], families[family], "family")
    _collapse_into_group(chart, alarms)
    return chart.render()


# --- pipeline and cross-account deploy roles -----------------------------------------------------

PIPELINE_TYPES = (
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::ECR::Repository",
    "AWS::CodeBuild::Project",
    "AWS::SNS::Topic",
)


def _roles_by_arn(model: AppModel) -> dict[str, Resource]:
    """``arn:aws:iam::<account>:role/<name>`` -> the role resource, for every named role of the app."""
    found = {}
    for stack in model.stacks.values():
        for role in stack.of_type("AWS::IAM::Role"):
            name = role.properties.get("RoleName")
            if isinstance(name, str):
                found[f"arn:aws:iam::{stack.account}:role/{name}"] = role
    return found


def _deployment_groups(model: AppModel, account: str) -> list[Resource]:
    return [
        group
        for stack in model.stacks.values()
        if stack.account == account
        for group in stack.of_type("AWS::CodeDeploy::DeploymentGroup")
    ]


def deploy(model: AppModel) -> str:
    tools = model.stack(stack_names.PIPELINE)
    pipeline = tools.one("AWS::CodePipeline::Pipeline")
    roles = _roles_by_arn(model)
    chart = Flowchart("LR")
    role_stacks = [
        name for name in model.stacks if stack_names.kind_of(name) in (StackKind.DEPLOY_ROLE, StackKind.SERVICE)
    ]
    tools_stacks = [s for s in (stack_names.PIPELINE_ROLE, tools.name) if s in model.stacks]
    tools_group = chart.group("tools", _account_label(model, tools.account, tools_stacks))
    github = chart.node("github", f"GitHub {model.config.github.owner}/{model.config.github.repo}", shape="round")
    stages_group = chart.group(
        node_id(tools.name, "Stages"),
        f"CodePipeline {pipeline.properties.get('PipelineType', '')} {pipeline.properties.get('Name')}",
        tools_group,
    )
    shown: dict[tuple[str, str], str] = {}
    for resource in tools.of_type(*PIPELINE_TYPES):
        id_ = chart.node(
            node_id(tools.name, resource.path),
            label(resource),
            tools_group,
            SHAPE.get(resource.type, "box"),
        )
        shown[(tools.name, resource.logical_id)] = id_
    _reference_edges(model, chart, shown)
    role_ids: dict[str, str] = {}
    account_groups: dict[str, Group] = {}

    def role_node(arn: str) -> str | None:
        role = roles.get(arn)
        if role is None:
            return None
        if arn not in role_ids:
            stack = model.stack(role.stack)
            if stack.account == tools.account:
                parent = tools_group
            else:
                parent = account_groups.get(stack.account) or account_groups.setdefault(
                    stack.account,
                    chart.group(
                        f"account_{model.environment_of(stack.account)}",
                        _account_label(
                            model, stack.account, [s for s in role_stacks if model.stack(s).account == stack.account]
                        ),
                    ),
                )
            role_ids[arn] = chart.node(
                node_id(role.stack, role.path), f"IAM role {role.properties.get('RoleName')}", parent, "stadium"
            )
        return role_ids[arn]

    runs_as = role_node(str(pipeline.properties.get("RoleArn")))
    previous = github
    for stage in pipeline.properties.get("Stages", []):
        actions = sorted(stage.get("Actions", []), key=lambda a: (a.get("RunOrder", 1), a.get("Name")))
        text = "<br/>".join(
            f"{a.get('RunOrder', 1)}. {a.get('Name')} ({a.get('ActionTypeId', {}).get('Provider')})" for a in actions
        )
        text += "".join(f"<br/>{line}" for line in _stage_conditions(stage))
        stage_id = chart.node(
            node_id(tools.name, "Stage", str(stage.get("Name"))), f"{stage.get('Name')}<br/>{text}", stages_group
        )
        chart.edge(previous, stage_id)
        previous = stage_id
        for action in actions:
            for reference in model.references(Resource(tools.name, "", "", "", action, {})):
                target = shown.get((reference.stack, reference.logical_id))
                if target:
                    chart.edge(stage_id, target)
            role_arn = action.get("RoleArn")
            if isinstance(role_arn, str) and role_node(role_arn):
                chart.edge(stage_id, role_ids[role_arn], "assumes")
                account = ROLE_ARN.match(role_arn)
                config = action.get("Configuration", {})
                for group in _deployment_groups(model, account.group(1) if account else ""):
                    if group.properties.get("DeploymentGroupName") == config.get("DeploymentGroupName"):
                        group_id = chart.node(
                            node_id(group.stack, group.path),
                            f"{group.stack}<br/>{label(group)}",
                            account_groups[account.group(1) if account else ""],
                        )
                        chart.edge(role_ids[role_arn], group_id, "CreateDeployment")
    if runs_as:
        chart.edge(stages_group.id, runs_as, "runs as")
    # Cross-account reads named in policies: a deploy role reads the artifact bucket and key,
    # the repository policy lets each account's execution role pull.
    aliases = {
        str(a.properties.get("AliasName")): r.logical_id
        for a in tools.of_type("AWS::KMS::Alias")
        for r in model.references(a)
        if r.via == "TargetKeyId"
    }
    buckets = {
        str(b.properties["BucketName"]): b.logical_id
        for b in tools.of_type("AWS::S3::Bucket")
        if isinstance(b.properties.get("BucketName"), str)
    }
    for arn, id_ in sorted(role_ids.items()):
        role = roles[arn]
        for policy in model.stack(role.stack).of_type("AWS::IAM::Policy"):
            if not any(r.logical_id == role.logical_id for r in model.references(policy) if r.via == "Roles"):
                continue
            text = json.dumps(policy.properties.get("PolicyDocument"))
            for name, logical_id in sorted({**buckets, **aliases}.items()):
                if role.stack != tools.name and (f'{name}"' in text or f"{name}/" in text):
                    chart.edge(id_, shown[(tools.name, logical_id)], "reads")
    for repository in tools.of_type("AWS::ECR::Repository"):
        text = json.dumps(repository.properties.get("RepositoryPolicyText"))
        for arn in sorted(roles):
            if f'"{arn}"' in text and role_node(arn):
                chart.edge(role_ids[arn], shown[(tools.name, repository.logical_id)], "pulls")
    # A deploy role trusts the pipeline role by ARN; the arrow says who may assume whom.
    for arn, id_ in sorted(role_ids.items()):
        role = roles[arn]
        for statement in _statements(role.properties.get("AssumeRolePolicyDocument")):
            for principal in (
                _as_list(statement.get("Principal", {}).get("AWS", []))
                if isinstance(statement.get("Principal"), dict)
                else []
            ):
                if isinstance(principal, str) and principal in role_ids:
                    chart.edge(role_ids[principal], id_, "sts:AssumeRole", "-.->")
    return chart.render()


# --- GitHub OIDC ---------------------------------------------------------------------------------


def github_oidc(model: AppModel) -> str:
    stack = model.stack(stack_names.GITHUB_OIDC)
    chart = Flowchart("LR")
    github = chart.group("github", f"GitHub Actions, {model.config.github.owner}/{model.config.github.repo}")
    tools = chart.group("tools", _account_label(model, stack.account, [stack.name]))
    shown: dict[tuple[str, str], str] = {}
    for provider in stack.of_type("AWS::IAM::OIDCProvider"):
        audiences = ", ".join(provider.properties.get("ClientIdList", []))
        shown[(stack.name, provider.logical_id)] = chart.node(
            node_id(stack.name, provider.path),
            f"OIDC provider {provider.properties.get('Url')}<br/>audience {audiences}",
            tools,
            "round",
        )
    for boundary in stack.of_type("AWS::IAM::ManagedPolicy"):
        shown[(stack.name, boundary.logical_id)] = chart.node(
            node_id(stack.name, boundary.path),
            f"permissions boundary<br/>{boundary.properties.get('ManagedPolicyName')}",
            tools,
        )
    account_groups: dict[str, Group] = {stack.account: tools}
    targets: dict[tuple[str, tuple[str, ...]], str] = {}
    for role in stack.of_type("AWS::IAM::Role"):
        role_id = chart.node(
            node_id(stack.name, role.path),
            f"IAM role {role.properties.get('RoleName')}<br/>"
            f"{role.properties.get('MaxSessionDuration', 3600)} s sessions",
            tools,
            "stadium",
        )
        for reference in model.references(role):
            target = shown.get((reference.stack, reference.logical_id))
            if target and reference.via == "PermissionsBoundary":
                chart.edge(role_id, target, "boundary", "-.->")
        for statement in _statements(role.properties.get("AssumeRolePolicyDocument")):
            principal = statement.get("Principal", {})
            provider_id = (
                shown.get((stack.name, principal.get("Federated", {}).get("Ref", "")))
                if isinstance(principal, dict)
                else None
            )
            for operator, conditions in sorted(statement.get("Condition", {}).items()):
                for key, values in sorted(conditions.items()):
                    if not key.endswith(":sub"):
                        continue
                    for subject in _as_list(values):
                        subject_id = node_id("subject", str(subject))
                        if subject_id not in {n[0] for n in github.nodes}:
                            chart.node(subject_id, f"job token, sub {operator}<br/>{subject}", github, "round")
                        if provider_id:
                            chart.edge(subject_id, provider_id, "AssumeRoleWithWebIdentity")
                            chart.edge(provider_id, role_id, str(subject).rsplit(":", 1)[-1])
        # The roles it may assume, grouped by account: the CDK bootstrap roles of each account.
        by_account: dict[str, list[str]] = {}
        for policy in role.properties.get("Policies", []):
            for statement in _statements(policy.get("PolicyDocument")):
                if "sts:AssumeRole" not in _as_list(statement.get("Action")):
                    continue
                for arn in _as_list(statement.get("Resource")):
                    match = ROLE_ARN.match(str(arn))
                    if match:
                        short = BOOTSTRAP_ROLE.match(match.group(2))
                        by_account.setdefault(match.group(1), []).append(short.group(1) if short else match.group(2))
        for account, names in sorted(by_account.items()):
            group = account_groups.get(account) or account_groups.setdefault(
                account,
                chart.group(
                    f"account_{model.environment_of(account)}", f"{model.environment_of(account)} account {account}"
                ),
            )
            key = (account, tuple(sorted(names)))
            if key not in targets:
                targets[key] = chart.node(
                    node_id("bootstrap", account, key[1][0]), "<br/>".join(key[1]), group, "stadium"
                )
            chart.edge(role_id, targets[key], "sts:AssumeRole")
    return chart.render()


# --- the whole app -------------------------------------------------------------------------------


def overview(model: AppModel) -> str:
    """Stacks by account, what each depends on, and who deploys into which account."""
    chart = Flowchart("LR")
    groups: dict[str, Group] = {}
    ids: dict[str, str] = {}
    for name, stack in model.stacks.items():
        group = groups.get(stack.account) or groups.setdefault(
            stack.account,
            chart.group(
                f"account_{model.environment_of(stack.account)}",
                f"{model.environment_of(stack.account)} account {stack.account}",
            ),
        )
        ids[name] = chart.node(node_id(name), name, group)
    for name, stack in model.stacks.items():
        for dependency in stack.dependencies:
            chart.edge(ids[name], ids[dependency], "needs", "-.->")
    # The pipeline releases into each account as that account's deploy role.
    roles = _roles_by_arn(model)
    for pipeline in (r for s in model.stacks.values() for r in s.of_type("AWS::CodePipeline::Pipeline")):
        for stage in pipeline.properties.get("Stages", []):
            for action in stage.get("Actions", []):
                role = roles.get(str(action.get("RoleArn")))
                if role is None or role.stack == pipeline.stack:
                    continue
                for deployment_group in _deployment_groups(model, model.stack(role.stack).account):
                    chart.edge(
                        ids[pipeline.stack],
                        ids[deployment_group.stack],
                        f"releases as {role.properties.get('RoleName')}",
                    )
    github = chart.node("github", "GitHub Actions", shape="round")
    for role in (r for s in model.stacks.values() for r in s.of_type("AWS::IAM::Role")):
        if not any(
            isinstance(st.get("Principal"), dict) and "Federated" in st["Principal"]
            for st in _statements(role.properties.get("AssumeRolePolicyDocument"))
        ):
            continue
        accounts = sorted(
            {
                m.group(1)
                for policy in role.properties.get("Policies", [])
                for st in _statements(policy.get("PolicyDocument"))
                for arn in _as_list(st.get("Resource"))
                if (m := ROLE_ARN.match(str(arn))) and "-deploy-role-" in str(arn)
            }
        )
        for account in accounts:
            if account in groups:
                chart.edge(github, groups[account].id, f"cdk deploy as {role.properties.get('RoleName')}")
    return chart.render()


def _stage_conditions(stage: dict[str, Any]) -> list[str]:
    """One line per stage condition (CodePipeline V2): when it is checked, its rules and its result."""
    lines = []
    for key, when in (("BeforeEntry", "before entry"), ("OnSuccess", "on success"), ("OnFailure", "on failure")):
        block = stage.get(key)
        if not isinstance(block, dict):
            continue
        conditions = block.get("Conditions") or [{"Result": block.get("Result"), "Rules": []}]
        for condition in conditions:
            rules = ", ".join(
                f"{rule.get('Name')} ({rule.get('RuleTypeId', {}).get('Provider')})"
                for rule in condition.get("Rules", [])
            )
            result = condition.get("Result") or block.get("Result")
            lines.append(f"{when}: {rules + ' else ' if rules else ''}{result}")
    return lines
