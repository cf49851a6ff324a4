"""The <Env>-Service stacks: Fargate on isolated subnets, released blue/green by CodeDeploy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Match, Template

from components.ecs_blue_green.hook import handler as release_hook
from components.ecs_blue_green.hook_prober import handler as hook_prober
from components.ecs_blue_green.lifecycle_hook import PROBER_WAIT_SECONDS
from components.ecs_blue_green.release_inputs import appspec, write_release_inputs
from components.ecs_blue_green.task_spec import IMAGE_PLACEHOLDER, SECRET_VARIABLE, TaskSpec
from components.naming import Names
from config import Config, EnvironmentConfig
from stacks.network_stack import NetworkStack
from stacks.service_stack import ServiceStack
from tests.support import SynthesizedApp, logical_id, new_app

ENVIRONMENTS = ["dev", "staging", "prod"]

if TYPE_CHECKING:
    from tests.architecture.conftest import CertificateApp


def service_template(synthesized: SynthesizedApp, config: Config, name: str) -> Template:
    return synthesized.template(f"{config.environment(name).title}-Service")


def only_resource(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {len(resources)}"
    return next(iter(resources.items()))


def build_service_stack(tmp_path: Path, config: Config, environment: EnvironmentConfig) -> dict[str, Any]:
    """A small app with one network and one service stack, for configurations the sandbox lacks."""
    app = new_app(str(tmp_path))
    network = NetworkStack(app, "Network", config=config, environment=environment)
    ServiceStack(app, "Service", config=config, environment=environment, network=network.network)
    return dict(app.synth().get_stack_by_name("Service").template)


# -- cluster, roles, task definition ----------------------------------------------------------


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_cluster_has_container_insights(synthesized: SynthesizedApp, config: Config, name: str) -> None:
    service_template(synthesized, config, name).has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_task_role_is_separate_from_execution_role_and_has_no_permissions(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "dev")
    names = Names(config)
    roles = template.find_resources("AWS::IAM::Role")
    by_name = {r["Properties"].get("RoleName"): logical_id for logical_id, r in roles.items()}
    task_role, execution_role = by_name[names.task_role], by_name[names.execution_role]
    assert task_role != execution_role
    attached = {
        role["Ref"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for role in policy["Properties"]["Roles"]
    }
    assert task_role not in attached, "the task role starts empty: the app gets no AWS permission by default"
    assert "ManagedPolicyArns" not in roles[task_role]["Properties"]
    assert execution_role in attached


def test_configured_task_policies_attach_to_the_task_role_only(tmp_path: Path, config: Config) -> None:
    service = dataclasses.replace(config.service, task_policy_names=("web-orders-table", "web-events-bus"))
    configured = dataclasses.replace(config, service=service)
    template = Template.from_json(build_service_stack(tmp_path, configured, configured.environment("dev")))
    account = config.accounts.dev
    roles = {
        r["Properties"]["RoleName"]: r["Properties"]
        for r in template.find_resources("AWS::IAM::Role").values()
        if "RoleName" in r["Properties"]
    }
    assert json.dumps(roles[Names(config).task_role]["ManagedPolicyArns"]).count(f":iam::{account}:policy/web-") == 2
    assert "web-orders-table" in json.dumps(roles[Names(config).task_role]["ManagedPolicyArns"])
    assert "ManagedPolicyArns" not in roles[Names(config).execution_role]


def test_execution_role_pulls_from_the_tools_repository_reads_logs_and_the_secret_only(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "dev")
    names = Names(config)
    policy_id = logical_id(
        synthesized.stack("Dev-Service")
        .service.tasks.execution_role.node.find_child("DefaultPolicy")
        .node.default_child
    )
    statements = template.to_json()["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    by_resource = {json.dumps(s["Resource"], sort_keys=True): sorted(_as_list(s["Action"])) for s in statements}
    assert by_resource[json.dumps(names.ecr_repository_arn())] == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert by_resource['"*"'] == ["ecr:GetAuthorizationToken"]
    secret = json.dumps(names.secret_partial_arn(config.accounts.dev) + "-??????")
    assert by_resource[secret] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    stack = synthesized.stack("Dev-Service")
    key_arn = json.dumps({"Fn::GetAtt": [logical_id(stack.service.key.node.default_child), "Arn"]})
    decrypt = next(s for s in statements if json.dumps(s["Resource"], sort_keys=True) == key_arn)
    assert decrypt["Action"] == "kms:Decrypt", "the secret is encrypted with the stack's key"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{config.region}.amazonaws.com"}}
    assert len(statements) == 5, "pull, token, logs, secret and its key: nothing else"


def test_roles_trust_ecs_tasks_of_this_account_only(synthesized: SynthesizedApp, config: Config) -> None:
    template = service_template(synthesized, config, "dev")
    for role_name in (Names(config).task_role, Names(config).execution_role):
        template.has_resource_properties(
            "AWS::IAM::Role",
            {
                "RoleName": role_name,
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": config.accounts.dev},
                                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{config.region}:{config.accounts.dev}:*"},
                            },
                        }
                    ]
                },
            },
        )


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_container_is_hardened_and_reads_its_image_from_the_tools_account(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    _, task_definition = only_resource(service_template(synthesized, config, name), "AWS::ECS::TaskDefinition")
    (container,) = task_definition["Properties"]["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] is True
    assert container["Privileged"] is False
    assert container["User"] == "10001:10001"
    assert container["PortMappings"] == [{"ContainerPort": config.service.container_port, "Protocol": "tcp"}]
    image = json.dumps(container["Image"])
    assert f"{config.accounts.tools}.dkr.ecr.{config.region}." in image
    # The tag is the stack's ImageTag parameter: the pre-deploy guard sets it to the released one.
    assert image.endswith(f'/{Names(config).ecr_repository}:", {{"Ref": "ImageTag"}}]]}}')
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert config.service.health_check_path in " ".join(container["HealthCheck"]["Command"])


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_secret_is_injected_by_ecs_and_never_in_plain_text(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    template = service_template(synthesized, config, name)
    environment = config.environment(name)
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": config.service.secret_name,
            "GenerateSecretString": Match.object_like({}),
            "KmsKeyId": Match.any_value(),
        },
    )
    _, task_definition = only_resource(template, "AWS::ECS::TaskDefinition")
    (container,) = task_definition["Properties"]["ContainerDefinitions"]
    assert container["Secrets"] == [
        {"Name": SECRET_VARIABLE, "ValueFrom": Names(config).secret_partial_arn(environment.account)}
    ]
    for variable in container["Environment"]:
        assert not any(word in variable["Name"].upper() for word in ("SECRET", "PASSWORD", "TOKEN", "KEY"))
    assert '"SecretString":' not in json.dumps(template.to_json()), "no literal secret value in the template"


# -- load balancer ---------------------------------------------------------------------------


def test_load_balancer_drops_invalid_headers_and_logs_to_a_locked_bucket(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "prod")
    _, load_balancer = only_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in load_balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert load_balancer["Properties"]["Scheme"] == "internet-facing"
    bucket_id = attributes["access_logs.s3.bucket"]["Ref"]
    bucket = template.to_json()["Resources"][bucket_id]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


def test_production_listener_is_http_without_a_certificate_and_the_test_listener_is_private(
    synthesized: SynthesizedApp, config: Config
) -> None:
    environment = config.environment("dev")
    template = service_template(synthesized, config, "dev")
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::Listener", {"Port": 80, "Protocol": "HTTP"})
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": environment.test_listener_port, "Protocol": "HTTP"}
    )
    _, security_group = next(
        (i, r)
        for i, r in template.find_resources("AWS::EC2::SecurityGroup").items()
        if "Load balancer" in r["Properties"]["GroupDescription"]
    )
    ingress = {(rule["FromPort"], rule["CidrIp"]) for rule in security_group["Properties"]["SecurityGroupIngress"]}
    assert ingress == {(80, "0.0.0.0/0"), (environment.test_listener_port, environment.vpc_cidr)}


CERTIFICATE = "certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


@pytest.fixture(scope="module")
def internal_dev_with_a_certificate(tmp_path_factory: pytest.TempPathFactory, config: Config) -> dict[str, Any]:
    """Dev-Service with an internal load balancer and a certificate: one build for the tests that need it."""
    certificate = f"arn:aws:acm:{config.region}:{config.accounts.dev}:{CERTIFICATE}"
    environment = dataclasses.replace(config.environment("dev"), certificate_arn=certificate, alb_internet_facing=False)
    return build_service_stack(tmp_path_factory.mktemp("internal"), config, environment)


def test_production_listener_is_https_with_a_tls12_policy_when_a_certificate_is_configured(
    internal_dev_with_a_certificate: dict[str, Any], config: Config
) -> None:
    certificate = f"arn:aws:acm:{config.region}:{config.accounts.dev}:{CERTIFICATE}"
    template = Template.from_json(internal_dev_with_a_certificate)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": certificate}],
            "SslPolicy": Match.string_like_regexp(r"TLS13-1-2|TLS-1-2"),
        },
    )
    template.has_resource_properties("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"})


def test_with_a_certificate_port_80_only_redirects_to_https(
    config: Config, dev_with_a_certificate: CertificateApp
) -> None:
    """Users who type http:// reach HTTPS, and no plain-HTTP request reaches a task."""
    environment = config.environment("dev")
    template = Template.from_json(dev_with_a_certificate.template)
    listeners = template.find_resources("AWS::ElasticLoadBalancingV2::Listener", {"Properties": {"Port": 80}})
    assert len(listeners) == 1
    (redirect,) = listeners.values()
    assert redirect["Properties"]["Protocol"] == "HTTP"
    assert redirect["Properties"]["DefaultActions"] == [
        {"Type": "redirect", "RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}}
    ]
    _, security_group = next(
        (i, r)
        for i, r in template.find_resources("AWS::EC2::SecurityGroup").items()
        if "Load balancer" in r["Properties"]["GroupDescription"]
    )
    ingress = {(rule["FromPort"], rule["CidrIp"]) for rule in security_group["Properties"]["SecurityGroupIngress"]}
    assert ingress == {(443, "0.0.0.0/0"), (80, "0.0.0.0/0"), (environment.test_listener_port, environment.vpc_cidr)}


def test_two_ip_target_groups_with_health_checks(synthesized: SynthesizedApp, config: Config) -> None:
    template = service_template(synthesized, config, "dev")
    template.resource_properties_count_is(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "TargetType": "ip",
            "Port": config.service.container_port,
            "HealthCheckPath": config.service.health_check_path,
        },
        2,
    )


# -- service and CodeDeploy ------------------------------------------------------------------


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_service_runs_on_isolated_subnets_without_public_ip_under_codedeploy(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    _, service = only_resource(service_template(synthesized, config, name), "AWS::ECS::Service")
    properties = service["Properties"]
    assert properties["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert properties["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert properties["DesiredCount"] == config.environment(name).desired_count
    subnets = json.dumps(properties["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"])
    network_stack = synthesized.stack(f"{config.environment(name).title}-Network")
    for subnet in network_stack.network.vpc.isolated_subnets:
        assert logical_id(subnet.node.default_child) in subnets
    assert "Public" not in subnets


def test_service_names_its_task_definition_by_family_so_cdk_never_fights_codedeploy(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "dev")
    task_definition_id, _ = only_resource(template, "AWS::ECS::TaskDefinition")
    _, service = only_resource(template, "AWS::ECS::Service")
    assert service["Properties"]["TaskDefinition"] == Names(config).task_family
    assert task_definition_id in service["DependsOn"], "the first revision must exist before the service"


def test_changing_the_task_definition_in_cdk_leaves_the_service_resource_unchanged(
    tmp_path: Path, config: Config
) -> None:
    """What makes `cdk deploy` safe to re-run after releases: only the task definition moves."""
    before = build_service_stack(tmp_path / "before", config, config.environment("dev"))
    changed = dataclasses.replace(config.environment("dev"), cpu=512, memory_mib=1024)
    after = build_service_stack(tmp_path / "after", config, changed)

    def resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
        (found,) = [r for r in template["Resources"].values() if r["Type"] == resource_type]
        return found

    assert resource(before, "AWS::ECS::TaskDefinition") != resource(after, "AWS::ECS::TaskDefinition")
    assert resource(before, "AWS::ECS::Service") == resource(after, "AWS::ECS::Service")


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_deployment_group_is_blue_green_with_alarm_rollback(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    environment = config.environment(name)
    template = service_template(synthesized, config, name)
    _, group = only_resource(template, "AWS::CodeDeploy::DeploymentGroup")
    properties = group["Properties"]
    assert properties["DeploymentStyle"] == {"DeploymentOption": "WITH_TRAFFIC_CONTROL", "DeploymentType": "BLUE_GREEN"}
    assert properties["DeploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert sorted(properties["AutoRollbackConfiguration"]["Events"]) == [
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    ]
    termination = properties["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"]
    assert termination == {"Action": "TERMINATE", "TerminationWaitTimeInMinutes": environment.termination_wait_minutes}
    pair = properties["LoadBalancerInfo"]["TargetGroupPairInfoList"][0]
    assert len(pair["TargetGroups"]) == 2
    assert pair["ProdTrafficRoute"]["ListenerArns"] != pair["TestTrafficRoute"]["ListenerArns"]
    assert properties["AlarmConfiguration"]["Enabled"] is True
    alarms = properties["AlarmConfiguration"]["Alarms"]
    assert len(alarms) == 2 * len(environment.alarms) + 1, "both target groups and the load balancer"


def test_prod_waits_an_hour_before_terminating_blue(config: Config, synthesized: SynthesizedApp) -> None:
    _, group = only_resource(service_template(synthesized, config, "prod"), "AWS::CodeDeploy::DeploymentGroup")
    termination = group["Properties"]["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"]
    assert termination["TerminationWaitTimeInMinutes"] == 60


def test_alarms_watch_5xx_and_unhealthy_hosts_of_both_target_groups(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """CodeDeploy alternates the groups: the next release's new task set starts in today's blue."""
    template = service_template(synthesized, config, "dev")
    stack = synthesized.stack("Dev-Service")
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    for target_group in (
        stack.service.load_balancing.blue_target_group,
        stack.service.load_balancing.green_target_group,
    ):
        group_id = logical_id(target_group.node.default_child)
        watched = {
            a["Properties"]["MetricName"]
            for a in alarms.values()
            if group_id in json.dumps(a["Properties"]["Dimensions"])
        }
        assert watched == {"HTTPCode_Target_5XX_Count", "UnHealthyHostCount"}, group_id
    _, group = only_resource(template, "AWS::CodeDeploy::DeploymentGroup")
    attached = {alarm["Name"]["Ref"] for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]}
    assert attached == set(alarms), "every alarm can stop and roll back a release"


# -- lifecycle hook --------------------------------------------------------------------------


def _function(template: Template, name: str) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == name
    ]
    return function


def _statements(template: Template, role: Any) -> list[dict[str, Any]]:
    policy_id = logical_id(role.node.find_child("DefaultPolicy").node.default_child)
    return list(template.to_json()["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"])


def test_hook_invoker_runs_outside_the_vpc_and_may_only_invoke_the_prober_find_the_alb_and_report(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """The function CodeDeploy calls reaches AWS's public APIs without a VPC endpoint, with the hook's grants only."""
    template = service_template(synthesized, config, "dev")
    names = Names(config)
    hook = synthesized.stack("Dev-Service").service.hook
    invoker = _function(template, names.hook_function)
    assert "VpcConfig" not in invoker
    prober_id = logical_id(hook.prober.node.default_child)
    assert invoker["Environment"]["Variables"]["PROBER_FUNCTION_NAME"] == {"Ref": prober_id}
    assert invoker["Environment"]["Variables"]["TEST_LISTENER_PORT"] == str(
        config.environment("dev").test_listener_port
    )
    statements = [{k: v for k, v in s.items() if k != "Effect"} for s in _statements(template, hook.role)]
    log_group = logical_id(hook.log_group.node.default_child)
    assert statements == [
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": [log_group, "Arn"]}},
        {"Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": [prober_id, "Arn"]}, "Sid": "InvokeTheProber"},
        {
            "Action": "codedeploy:PutLifecycleEventHookExecutionStatus",
            "Resource": f"arn:aws:codedeploy:{config.region}:{config.accounts.dev}:deploymentgroup:"
            f"{names.codedeploy_application}/{names.deployment_group}",
            "Sid": "ReportHookStatus",
        },
        # The load balancer is internet-facing: its private addresses are looked up for the prober.
        {"Action": "ec2:DescribeNetworkInterfaces", "Resource": "*", "Sid": "FindTheLoadBalancerAddresses"},
    ]


def test_with_an_internal_load_balancer_the_invoker_has_no_ec2_permission_and_no_address_lookup(
    internal_dev_with_a_certificate: dict[str, Any], config: Config
) -> None:
    """Its DNS name resolves to the private addresses the prober reaches: nothing to look up."""
    template = Template.from_json(internal_dev_with_a_certificate)
    invoker = _function(template, Names(config).hook_function)
    assert "LOAD_BALANCER_ENI_DESCRIPTION" not in invoker["Environment"]["Variables"]
    invoker_role = {
        "Ref": next(
            iter(
                template.find_resources(
                    "AWS::IAM::Role",
                    {"Properties": {"Description": "AfterAllowTestTraffic hook: report the test result to CodeDeploy"}},
                )
            )
        )
    }
    (policy,) = [
        p for p in template.find_resources("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [invoker_role]
    ]
    actions = {a for st in policy["Properties"]["PolicyDocument"]["Statement"] for a in _as_list(st["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "lambda:InvokeFunction",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
    }
    assert "checkov" not in policy.get("Metadata", {}), "no wildcard left to acknowledge"


def test_hook_prober_runs_in_the_task_subnets_with_no_aws_permission_but_its_network_interfaces(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "dev")
    stack = synthesized.stack("Dev-Service")
    hook = stack.service.hook
    prober = _function(template, f"{Names(config).hook_function}-probe")
    assert prober["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [logical_id(hook.security_group.node.default_child), "GroupId"]}
    ]
    assert (
        prober["VpcConfig"]["SubnetIds"]
        == template.to_json()["Resources"][logical_id(stack.service.service.node.default_child)]["Properties"][
            "NetworkConfiguration"
        ]["AwsvpcConfiguration"]["Subnets"]
    ), "the tasks' subnets"
    assert "Environment" not in prober, "it is told what to request by the invoker, nothing else"
    prober_role = hook.prober.role
    assert prober_role is not None
    actions = {a for s in _statements(template, prober_role) for a in _as_list(s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }


def test_hook_prober_reaches_only_the_test_listener(synthesized: SynthesizedApp, config: Config) -> None:
    environment = config.environment("dev")
    stack = synthesized.stack("Dev-Service")
    template = service_template(synthesized, config, "dev")
    hook_group = logical_id(stack.service.hook.security_group.node.default_child)
    load_balancer_group = logical_id(stack.service.load_balancing.security_group.node.default_child)
    # No inline rule, not even CDK's placeholder that matches no traffic: CDK drops it once a separate egress
    # rule exists, because CloudFormation strips the group's default allow-all rule when another rule is added
    # (https://github.com/aws/aws-cdk/pull/998). The one way out is the rule below.
    assert "SecurityGroupEgress" not in template.to_json()["Resources"][hook_group]["Properties"]
    separate = [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [hook_group, "GroupId"]}
    ]
    assert len(separate) == 1, "one rule: to the load balancer"
    assert separate[0]["DestinationSecurityGroupId"] == {"Fn::GetAtt": [load_balancer_group, "GroupId"]}
    assert separate[0]["FromPort"] == separate[0]["ToPort"] == environment.test_listener_port


def test_hook_retries_long_enough_for_green_to_become_healthy_and_stops_before_its_timeout(
    synthesized: SynthesizedApp, config: Config
) -> None:
    template = service_template(synthesized, config, "dev")
    function = _function(template, Names(config).hook_function)
    prober = _function(template, f"{Names(config).hook_function}-probe")
    variables = function["Environment"]["Variables"]
    attempts, timeout, delay = (int(variables[k]) for k in ("ATTEMPTS", "TIMEOUT_SECONDS", "RETRY_DELAY_SECONDS"))
    shortest = (attempts - 1) * delay
    assert shortest >= 60, "green needs a start period and two passing health checks before it answers"
    assert timeout <= release_hook.MAX_REQUEST_TIMEOUT_SECONDS == hook_prober.TIMEOUT_BOUNDS[1]
    assert hook_prober.TIMEOUT_BOUNDS[1] + 2 <= prober["Timeout"], "the prober answers before Lambda stops it"
    lambda_config = release_hook._CLIENT_CONFIG["lambda"]
    wait = lambda_config.read_timeout
    assert wait == release_hook.PROBER_WAIT_SECONDS == PROBER_WAIT_SECONDS > prober["Timeout"], (
        "a prober that hangs is answered by Lambda"
    )
    assert lambda_config.retries == {"total_max_attempts": 1}, "the hook's attempts are the retries"
    attempt = lambda_config.connect_timeout + wait
    assert attempt == release_hook.ATTEMPT_SECONDS
    for service in ("ec2", "codedeploy"):
        config = release_hook._CLIENT_CONFIG[service]
        assert config.connect_timeout + config.read_timeout <= 10, f"{service}: no botocore default of 60 s"
        assert config.retries["total_max_attempts"] <= 2, f"{service}: bounded retries"
    lookup, report = release_hook.worst_call_seconds("ec2"), release_hook.worst_call_seconds("codedeploy")
    assert report == release_hook.REPORT_SECONDS
    # Every call as slow as its client allows: the EC2 lookup, every attempt and pause, and the report.
    longest = lookup + attempts * attempt + (attempts - 1) * delay + report
    assert longest == 422, "the arithmetic in lifecycle_hook.py's FUNCTION_TIMEOUT comment"
    assert longest + 30 <= function["Timeout"], "the handler must report before Lambda stops it"


def test_codedeploy_may_invoke_the_hook(synthesized: SynthesizedApp, config: Config) -> None:
    stack = synthesized.stack("Dev-Service")
    function_id = logical_id(stack.service.hook.function.node.default_child)
    service_template(synthesized, config, "dev").has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": logical_id(stack.service.release.deployment_group.role.node.default_child)}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": [function_id, "Arn"]}}
                        )
                    ]
                )
            },
        },
    )


def test_deployment_state_changes_reach_an_encrypted_topic(synthesized: SynthesizedApp, config: Config) -> None:
    template = service_template(synthesized, config, "dev")
    stack = synthesized.stack("Dev-Service")
    key_id = logical_id(stack.service.key.node.default_child)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    key_statements = template.to_json()["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s["Principal"] == {"Service": "events.amazonaws.com"}
        and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        for s in key_statements
    ), "EventBridge must be able to publish to the encrypted topic"
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.codedeploy"],
                "detail-type": ["CodeDeploy Deployment State-change Notification"],
                "detail": {
                    "application": [Names(config).codedeploy_application],
                    "state": ["FAILURE", "STOP", "SUCCESS"],
                },
            },
            "Targets": [Match.object_like({"Arn": Match.any_value()})],
        },
    )


# -- release inputs --------------------------------------------------------------------------


def _lower_keys(value: Any, *, keep: bool = False) -> Any:
    """CloudFormation's PascalCase task definition in the RegisterTaskDefinition form."""
    if isinstance(value, dict):
        return {
            (key if keep or key == "Ref" or key.startswith("Fn::") else key[0].lower() + key[1:]): _lower_keys(
                item, keep=key == "Options"
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_release_task_definition_template_matches_the_synthesized_one_except_the_image(
    synthesized: SynthesizedApp, config: Config, name: str
) -> None:
    template = service_template(synthesized, config, name)
    _, task_definition = only_resource(template, "AWS::ECS::TaskDefinition")
    resources = template.to_json()["Resources"]
    synthesized_form = _lower_keys(task_definition["Properties"])
    synthesized_form.pop("tags", None)
    container = synthesized_form["containerDefinitions"][0]
    log_group_ref = container["logConfiguration"]["options"]["awslogs-group"]["Ref"]
    container["logConfiguration"]["options"]["awslogs-group"] = resources[log_group_ref]["Properties"]["LogGroupName"]
    container["image"] = IMAGE_PLACEHOLDER

    release_form = TaskSpec.build(config, config.environment(name)).register_task_definition_input()
    assert synthesized_form == release_form


def test_appspec_names_the_container_port_and_the_deployed_hook(synthesized: SynthesizedApp, config: Config) -> None:
    environment = config.environment("staging")
    spec = appspec(config, environment)
    load_balancer_info = spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]
    assert load_balancer_info == {"ContainerName": "web", "ContainerPort": config.service.container_port}
    service_template(synthesized, config, "staging").has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ContainerDefinitions": [Match.object_like({"Name": load_balancer_info["ContainerName"]})]},
    )
    (hook,) = spec["Hooks"]
    function_name = Names(config).hook_function
    assert hook == {
        "AfterAllowTestTraffic": f"arn:aws:lambda:{config.region}:{environment.account}:function:{function_name}"
    }
    service_template(synthesized, config, "staging").has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": function_name}
    )


def test_release_inputs_are_written_for_every_environment(tmp_path: Path, config: Config) -> None:
    written = write_release_inputs(config, tmp_path, "111111111111.dkr.ecr.eu-west-1.amazonaws.com/x:release-1")
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == [
        f"{env}/{file}" for env in sorted(ENVIRONMENTS) for file in ("appspec.yaml", "taskdef.json")
    ]
    taskdef = json.loads((tmp_path / "prod" / "taskdef.json").read_text())
    assert taskdef["containerDefinitions"][0]["image"] == IMAGE_PLACEHOLDER
    assert taskdef["executionRoleArn"].startswith(f"arn:aws:iam::{config.accounts.prod}:role/")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_lifecycle_hook_asset_ships_the_handler_without_its_tests(synthesized: SynthesizedApp) -> None:
    assets = [p for p in Path(synthesized.assembly.directory).glob("asset.*") if (p / "handler.py").is_file()]
    assert assets, "the hook's code asset is staged in the cloud assembly"
    for asset in assets:
        assert not list(asset.glob("test_*.py")), "unit tests are not deployed with the handler"


@pytest.mark.parametrize(("environment_name", "protected"), [("dev", "false"), ("staging", "false"), ("prod", "true")])
def test_only_prods_load_balancer_has_deletion_protection(
    synthesized: SynthesizedApp, environment_name: str, protected: str
) -> None:
    """Control Tower CT.ELASTICLOADBALANCING.PR.5; dev and staging are torn down with cdk destroy."""
    (balancer,) = (
        synthesized.template(f"{environment_name.capitalize()}-Service")
        .find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
        .values()
    )
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes.get("deletion_protection.enabled", "false") == protected
