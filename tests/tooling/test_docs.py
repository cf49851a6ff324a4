"""The generated parts of README.md and docs/: current, deterministic, and saying what the templates say."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from config import Config
from tests.support import ROOT
from tools.docgen import diagrams, findings, pages
from tools.docgen.cli import main
from tools.docgen.mermaid import Flowchart
from tools.docgen.model import AppModel, Resource

PAGES = ("docs/network.md", "docs/ecs-blue-green.md", "docs/deploy.md", "docs/github-oidc.md")
DIAGRAMS = (diagrams.network, diagrams.ecs_blue_green, diagrams.deploy, diagrams.github_oidc, diagrams.overview)


def test_every_generated_block_is_current(model: AppModel) -> None:
    problems = pages.stale(model)
    assert not problems, "\n".join(problems)


def test_each_architecture_page_has_a_diagram_and_both_findings_blocks() -> None:
    for page in PAGES:
        text = (ROOT / page).read_text()
        for name in ("diagram", "nag findings", "checkov skips", "control tower exceptions"):
            assert pages.current(text, name) is not None, f"{page}: no generated {name} block"
    assert pages.current((ROOT / "README.md").read_text(), "overview diagram") is not None
    assert pages.current((ROOT / "docs" / "cost.md").read_text(), "cost") is not None
    assert pages.current((ROOT / "docs" / "security.md").read_text(), "gates") is not None


def test_readme_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in (*PAGES, "docs/cost.md", "docs/security.md"):
        assert f"]({page}" in readme, page


def test_a_changed_block_is_reported_with_the_command_to_run(model: AppModel, tmp_path: Path) -> None:
    for page in {block.page for block in pages.blocks()}:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text((ROOT / page).read_text())
    network = tmp_path / "docs" / "network.md"
    network.write_text(network.read_text().replace("flowchart TB", "flowchart LR", 1))
    assert pages.stale(model, tmp_path) == ["docs/network.md: the 'diagram' block is out of date: run make diagrams"]
    assert pages.write_all(model, tmp_path) == ["docs/network.md"]
    assert pages.stale(model, tmp_path) == []


def test_missing_markers_are_named() -> None:
    with pytest.raises(pages.StaleBlock, match=r"^docs/x.md: no '<!-- BEGIN GENERATED diagram: do not edit"):
        pages.replace("no markers here", "diagram", "x", "docs/x.md")


def test_replacing_a_block_keeps_the_prose_around_it() -> None:
    text = f"before\n{pages.begin_marker('diagram')}\nold\n{pages.end_marker('diagram')}\nafter\n"
    replaced = pages.replace(text, "diagram", "new\nlines", "page.md")
    assert replaced == f"before\n{pages.begin_marker('diagram')}\nnew\nlines\n{pages.end_marker('diagram')}\nafter\n"
    assert pages.current(replaced, "diagram") == "new\nlines"


@pytest.mark.parametrize("draw", DIAGRAMS, ids=lambda f: f.__name__)
def test_diagrams_are_readable_and_free_of_hashes_and_versions(model: AppModel, draw: object) -> None:
    assert callable(draw)
    text = draw(model)
    assert text == draw(model)
    assert text.startswith("```mermaid\nflowchart ")
    nodes = re.findall(r'^\s*[A-Za-z0-9_]+(?:\["|\("|\[\("|\(\[")', text, re.M)
    assert 5 <= len(nodes) <= 40
    assert not re.search(r"[0-9a-f]{64}|[A-Za-z]+[0-9A-F]{8}\b|BootstrapVersion|2\.\d{3}\.\d", text)


def test_network_diagram_shows_no_default_route_from_task_subnets(model: AppModel) -> None:
    text = diagrams.network(model)
    route_tables = re.findall(r'_(LoadBalancer|Tasks)Subnet\d_RouteTable\["route table<br/>([^"]*)"\]', text)
    assert len(route_tables) == 6  # prod: three AZs, a public and a task subnet in each
    for tier, routes in route_tables:
        if tier == "Tasks":
            assert routes == "local<br/>s3 prefix list → gateway endpoint<br/>no 0.0.0.0/0 route"
        else:
            assert routes == "local<br/>0.0.0.0/0 → InternetGateway"
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager"):
        assert f'["{service}<br/>' in text
    for service in ("codedeploy", "ec2"):  # the hook's invoker calls them from outside the VPC
        assert f'["{service}<br/>' not in text
    assert "NatGateway" not in text
    assert text.count('-->|"ENI"| Prod_Network_InterfaceEndpoints') == 3


def test_service_diagram_wires_listeners_target_groups_and_alarms(model: AppModel) -> None:
    text = diagrams.ecs_blue_green(model)
    for listener in ("ProductionListener<br/>HTTP :80", "TestListener<br/>HTTP :9000"):
        assert listener in text
    assert "Prod_Service_Service_DeploymentGroup --> Prod_Service_RollbackAlarms" in text
    assert "Prod_Service_Service_AlarmTarget5xxGreen --> Prod_Service_Service_GreenTargetGroup" in text
    assert '-->|"family"| Prod_Service_Service_TaskDefinition' in text
    assert "desired 3, controller CODE_DEPLOY" in text
    assert (
        "Prod_Service_Service_DeploymentGroup_ServiceRole "
        '-.->|"IAM policy"| Prod_Service_Service_TestTrafficHook_Function' in text
    )


def test_pipeline_diagram_follows_the_stages_and_the_assumed_roles(model: AppModel) -> None:
    text = diagrams.deploy(model)
    stages = re.findall(r"Tools_Pipeline_Stage_(\w+) --> Tools_Pipeline_Stage_(\w+)", text)
    assert stages == [
        ("Source", "Build"),
        ("Build", "UpdatePipeline"),
        ("UpdatePipeline", "Deploy_Dev"),
        ("Deploy_Dev", "Deploy_Staging"),
        ("Deploy_Staging", "Approve_Prod"),
        ("Approve_Prod", "Deploy_Prod"),
    ]
    for env in ("Dev", "Staging", "Prod"):
        assert f'Tools_Pipeline_Stage_Deploy_{env} -->|"assumes"| {env}_DeployRole_DeployRole_Role' in text
        assert f'Tools_PipelineRole_PipelineRole -.->|"sts:AssumeRole"| {env}_DeployRole_DeployRole_Role' in text
        assert f'{env}_Service_Service_ExecutionRole -->|"pulls"| Tools_Pipeline_Images_Repository' in text


def test_oidc_diagram_shows_each_trusted_subject_and_its_role(model: AppModel, config: Config) -> None:
    text = diagrams.github_oidc(model)
    for role in config.oidc.roles:
        for subject in role.subjects:
            assert f"<br/>{subject}" in text
    # The diff role: the template reader of four accounts; the deploy role: the tools account only.
    assert text.count('-->|"sts:AssumeRole"|') == 5
    assert 'GithubDeployRole_Role -->|"sts:AssumeRole"| bootstrap_111111111111_cdk_hnb659fds_deploy_role' in text
    assert not re.search(r'GithubDeployRole_Role -->\|"sts:AssumeRole"\| bootstrap_(2|3|4)', text)


def test_overview_puts_each_stack_in_its_account(model: AppModel, config: Config) -> None:
    text = diagrams.overview(model)
    for stack in model.stacks.values():
        block = text.split(f"subgraph account_{model.environment_of(stack.account)}[", 1)[1].split("  end", 1)[0]
        assert f'["{stack.name}"]' in block
    assert text.count('-->|"releases as') == 3


def _resource(kind: str, properties: dict[str, object], path: str = "Service/Thing") -> Resource:
    return Resource(stack="Prod-Service", logical_id="Thing", type=kind, path=path, properties=properties, metadata={})


#: One hand-made resource per label of ``diagrams.LABELS`` (and per default a label falls back to).
LABEL_CASES = [
    pytest.param(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {},
        "Application Load Balancer<br/>internet-facing",
        id="load-balancer-without-scheme-is-internet-facing",
    ),
    pytest.param(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Scheme": "internal"},
        "Application Load Balancer<br/>internal",
        id="load-balancer-says-its-scheme",
    ),
    pytest.param(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Protocol": "HTTP", "Port": 9000},
        "Service/Thing<br/>HTTP :9000",
        id="listener-says-protocol-and-port",
    ),
    pytest.param(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"TargetType": "ip", "HealthCheckPath": "/health"},
        "Service/Thing<br/>ip targets, health /health",
        id="target-group-says-target-type-and-health-check",
    ),
    pytest.param(
        "AWS::ECS::Service",
        {"LaunchType": "FARGATE", "DesiredCount": 3, "DeploymentController": {"Type": "CODE_DEPLOY"}},
        "ECS service, FARGATE<br/>desired 3, controller CODE_DEPLOY",
        id="service-says-launch-type-count-and-controller",
    ),
    pytest.param(
        "AWS::ECS::Service",
        {"LaunchType": "FARGATE", "DesiredCount": 1},
        "ECS service, FARGATE<br/>desired 1, controller ECS",
        id="service-without-controller-is-ecs-controlled",
    ),
    pytest.param(
        "AWS::ECS::TaskDefinition",
        {"Family": "web", "Cpu": "512", "Memory": "1024"},
        "task definition web<br/>512 CPU units, 1024 MiB",
        id="task-definition-says-family-and-size",
    ),
    pytest.param("AWS::ECS::Cluster", {"ClusterName": "x"}, "ECS cluster", id="cluster-is-just-the-cluster"),
    pytest.param("AWS::IAM::Role", {"RoleName": "deploy"}, "IAM role deploy", id="named-role-shows-its-name"),
    pytest.param("AWS::IAM::Role", {}, "IAM role Service/Thing", id="unnamed-role-shows-its-construct-path"),
    pytest.param("AWS::SecretsManager::Secret", {"Name": "app"}, "secret app", id="named-secret-shows-its-name"),
    pytest.param("AWS::SecretsManager::Secret", {}, "secret Service/Thing", id="unnamed-secret-shows-its-path"),
    pytest.param(
        "AWS::KMS::Key",
        {"EnableKeyRotation": True},
        "KMS key Service/Thing<br/>rotation on",
        id="key-says-rotation-on",
    ),
    pytest.param("AWS::KMS::Key", {}, "KMS key Service/Thing<br/>no rotation", id="key-says-no-rotation"),
    pytest.param(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/ecs/web", "RetentionInDays": 30},
        "log group /ecs/web<br/>30 days",
        id="log-group-says-name-and-retention",
    ),
    pytest.param(
        "AWS::Logs::LogGroup",
        {},
        "log group Service/Thing<br/>no days",
        id="log-group-that-never-expires-says-no-days",
    ),
    pytest.param(
        "AWS::CodeDeploy::Application",
        {"ApplicationName": "web"},
        "CodeDeploy application<br/>web",
        id="codedeploy-application-shows-its-name",
    ),
    pytest.param(
        "AWS::CodeDeploy::DeploymentGroup",
        {"DeploymentGroupName": "web-prod", "DeploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes"},
        "deployment group web-prod<br/>ECSCanary10Percent5Minutes",
        id="deployment-group-drops-the-codedeploydefault-prefix",
    ),
    pytest.param(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "HTTPCode_Target_5XX_Count", "Statistic": "Sum"},
        "Service/Thing<br/>HTTPCode_Target_5XX_Count Sum",
        id="alarm-says-metric-and-statistic",
    ),
    pytest.param(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "TargetResponseTime", "ExtendedStatistic": "p99"},
        "Service/Thing<br/>TargetResponseTime p99",
        id="alarm-on-a-percentile-says-the-percentile",
    ),
    pytest.param("AWS::Lambda::Function", {"FunctionName": "hook"}, "Lambda hook", id="function-shows-its-name"),
    pytest.param("AWS::Events::Rule", {"Name": "x"}, "EventBridge rule Service/Thing", id="rule-shows-its-path"),
    pytest.param("AWS::SNS::Topic", {"TopicName": "x"}, "SNS topic Service/Thing", id="topic-shows-its-path"),
    pytest.param("AWS::S3::Bucket", {"BucketName": "artifacts"}, "S3 bucket artifacts", id="bucket-shows-its-name"),
    pytest.param(
        "AWS::ECR::Repository",
        {"ImageTagMutability": "IMMUTABLE"},
        "ECR repository Service/Thing<br/>tags immutable",
        id="repository-says-tags-immutable",
    ),
    pytest.param(
        "AWS::ECR::Repository",
        {},
        "ECR repository Service/Thing<br/>tags mutable",
        id="repository-without-setting-has-mutable-tags",
    ),
    pytest.param(
        "AWS::CodeBuild::Project",
        {"Environment": {"ComputeType": "BUILD_GENERAL1_SMALL"}},
        "CodeBuild Service/Thing<br/>BUILD_GENERAL1_SMALL",
        id="build-project-says-compute-type",
    ),
    pytest.param("AWS::SQS::Queue", {"QueueName": "x"}, "Queue Service/Thing", id="other-type-is-short-type-and-path"),
]


@pytest.mark.parametrize(("kind", "properties", "expected"), LABEL_CASES)
def test_label_of_each_resource_type(kind: str, properties: dict[str, object], expected: str) -> None:
    assert diagrams.label(_resource(kind, properties)) == expected


def test_every_label_of_the_table_has_a_case_and_every_drawn_type_has_a_label() -> None:
    assert {case.values[0] for case in LABEL_CASES} >= set(diagrams.LABELS)
    # The service and pipeline diagrams draw these types with label(): none falls back to the default.
    assert set(diagrams.SERVICE_TYPES) | set(diagrams.PIPELINE_TYPES) <= set(diagrams.LABELS)


def _tiny_model(config: Config, acknowledgements: list[tuple[str, str, str, str]]) -> AppModel:
    from tools.docgen.model import Acknowledgement, Stack

    stacks = {}
    for name in ("Dev-Service", "Staging-Service", "Prod-Service"):
        account = config.environment(name.split("-")[0].lower()).account
        stack = Stack(name=name, account=account, region=config.region, dependencies=(), template={})
        stack.resources["Bucket"] = Resource(
            stack=name,
            logical_id="Bucket",
            type="AWS::S3::Bucket",
            path="Service/AccessLogs",
            properties={},
            metadata={"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "It is the access-log bucket | itself."}]}},
        )
        stacks[name] = stack
    acks = [Acknowledgement(stack=s, path=p, rule_id=r, reason=why) for s, p, r, why in acknowledgements]
    return AppModel(config=config, stacks=stacks, acknowledgements=acks)


def test_findings_in_every_environment_are_one_row(config: Config) -> None:
    model = _tiny_model(
        config,
        [
            (s, "Service/AppSecret", "AwsSolutions-SMG4", "Nothing checks it, so there is nothing to rotate.")
            for s in ("Dev-Service", "Staging-Service", "Prod-Service")
        ]
        + [("Prod-Service", "Service/Key", "AwsSolutions-KMS5", "Prod only | with a pipe in the reason text.")],
    )
    table = findings.nag_table(model, lambda stack: True)
    assert table.splitlines()[0] == "2 acknowledged cdk-nag findings, read from the synthesized app:"
    assert (
        "| `AwsSolutions-SMG4` | `Service/AppSecret` | `<Env>-Service` (dev, staging, prod) "
        "| Nothing checks it, so there is nothing to rotate. |"
    ) in table
    assert "| `AwsSolutions-KMS5` | `Service/Key` | `Prod-Service` | Prod only \\| with a pipe" in table


def test_no_findings_is_said_in_a_sentence(config: Config) -> None:
    model = _tiny_model(config, [])
    assert findings.nag_table(model, lambda stack: True).startswith("No cdk-nag finding is acknowledged")
    assert findings.checkov_table(model, lambda stack: False) == "No checkov check is skipped for these stacks."


def test_checkov_skips_come_from_the_resource_metadata(config: Config) -> None:
    model = _tiny_model(config, [])
    table = findings.checkov_table(model, lambda stack: True)
    assert table.splitlines()[0] == "1 checkov checks skipped on single resources (template metadata):"
    assert (
        "| `CKV_AWS_18` | `Service/AccessLogs` | `<Env>-Service` (dev, staging, prod) "
        "| It is the access-log bucket \\| itself. |"
    ) in table


def test_a_bad_configuration_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.toml"
    path.write_text('project = "delivery-ref"\n')
    assert main(["--check", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(str(path))


def test_every_mermaid_diagram_parses_with_mermaid_itself(tmp_path: Path) -> None:
    """The generator's escaping is only as good as the parser that reads it: Mermaid's (package.json).

    One run of the checker (loading Mermaid takes about a second) over the pages and, last, a
    broken diagram that must be reported: the pages' own lines must show no error.
    """
    files = ["README.md", *PAGES, "docs/cost.md"]
    broken = tmp_path / "broken.md"
    broken.write_text('```mermaid\nflowchart LR\n  a["x"] -->\n  subgraph end\n```\n')
    checker = ["node", "tools/docgen/check_mermaid.mjs"]
    result = subprocess.run([*checker, *files, str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = result.stdout.splitlines()
    errors = [line for line in lines if ": diagram " in line]
    assert result.returncode == 1 and len(errors) == 1, result.stdout + result.stderr
    assert errors[0].startswith(f"{broken}: diagram 1: Parse error")
    counts = dict(line.rsplit(": ", 1) for line in lines if line not in errors)
    assert counts["README.md"] == "1 diagrams" and all(counts[page] == "1 diagrams" for page in PAGES)
    assert sorted(counts) == sorted([*files, str(broken)]), "every file was read"


def test_make_help_lists_the_diagrams_target() -> None:
    result = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert any(line.split()[:2] == ["make", "diagrams"] for line in result.stdout.splitlines())
    planned = subprocess.run(
        ["make", "--dry-run", "diagrams"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "python -m tools.docgen" in planned


def test_flowchart_escapes_quotes_and_refuses_unknown_or_duplicate_ids() -> None:
    chart = Flowchart("LR")
    group = chart.group("g", 'a "group"')
    chart.node("a", 'say "hi"<br/>there', group)
    chart.node("b", "b", shape="db")
    chart.edge("a", "b", 'uses "it"')
    chart.edge("a", "b", 'uses "it"')  # the same edge twice is drawn once
    assert chart.render() == "\n".join(
        [
            "```mermaid",
            "flowchart LR",
            '  b[("b")]',
            '  subgraph g["a #quot;group#quot;"]',
            '    a["say #quot;hi#quot;<br/>there"]',
            "  end",
            '  a -->|"uses #quot;it#quot;"| b',
            "```",
        ]
    )
    with pytest.raises(ValueError, match="duplicate diagram id a"):
        chart.node("a", "again")
    chart.edge("a", "nowhere")
    with pytest.raises(ValueError, match="edges to unknown diagram ids: nowhere"):
        chart.render()


def test_cross_stack_references_place_the_service_in_the_network_stack_s_subnets(model: AppModel) -> None:
    text = diagrams.ecs_blue_green(model)
    tasks = text.split('subgraph Prod_Service_Tasks_subnets_of_Prod_Network["Tasks subnets of Prod-Network"]')[1]
    tasks = tasks.split("    end", 1)[0]
    assert "ECS service, FARGATE" in tasks and "Lambda delivery-ref-web-release-hook" in tasks
    balancers = text.split('["LoadBalancer subnets of Prod-Network"]')[1].split("    end", 1)[0]
    assert "Application Load Balancer<br/>internet-facing" in balancers


def test_the_security_page_has_one_row_per_gate_with_version_rules_fixes_and_exceptions(model: AppModel) -> None:
    from tools.docgen import security

    table = security.gates(model).splitlines()
    assert table[0] == "| Gate | Runs in | Version | Rules | Findings fixed | Exceptions |"
    gates = [row.split(" | ")[0].removeprefix("| ") for row in table[2:]]
    assert gates == [
        "cdk-nag AwsSolutions",
        "cdk-nag NIST 800-53 R5",
        "checkov",
        "cfn-lint",
        "Control Tower",
        "IAM wildcard test",
        "pull-request exposure test",
    ]
    for row in table[2:]:
        cells = row.strip("| ").split(" | ")
        assert len(cells) == 6 and all(cells), row
        assert re.match(r"\d+", cells[3]), f"{cells[0]}: a rule count"
    assert set(security.FIXED) == set(gates)
