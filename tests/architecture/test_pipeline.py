"""Tools-Pipeline: the image repository, the artifact store, the builds and the release pipeline."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from components.naming import Names
from config import TARGET_ENVIRONMENTS, Config
from pipelines.image_repository import RELEASE_TAG_PREFIX
from stacks.tools_pipeline_stack import build_parameter_name
from tests.support import ROOT, SynthesizedApp, logical_id

STACK = "Tools-Pipeline"
BUILDSPEC = (ROOT / "pipelines" / "buildspec.yml").read_text()
SCAN_BUILDSPEC = (ROOT / "pipelines" / "scan_buildspec.yml").read_text()
#: The buildspec without its comments: what CodeBuild runs.
BUILDSPEC_CODE = "\n".join(line for line in BUILDSPEC.splitlines() if not line.lstrip().startswith("#"))
PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


@pytest.fixture(scope="module")
def template(synthesized: SynthesizedApp) -> Template:
    return synthesized.template(STACK)


@pytest.fixture(scope="module")
def raw(synthesized: SynthesizedApp) -> dict[str, Any]:
    return synthesized.raw_template(STACK)


def resources(raw: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in raw["Resources"].items() if v["Type"] == resource_type}


def only(raw: dict[str, Any], resource_type: str, **match: Any) -> dict[str, Any]:
    found = [p for p in resources(raw, resource_type).values() if all(p.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {resource_type} with {match}, found {len(found)}"
    return found[0]


def target_roots(config: Config) -> list[str]:
    return [f"arn:aws:iam::{config.environment(name).account}:root" for name in TARGET_ENVIRONMENTS]


def target_role_arns(config: Config, role_name: str) -> list[str]:
    names = Names(config)
    return [names.role_arn(config.environment(name).account, role_name) for name in TARGET_ENVIRONMENTS]


def all_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every policy document in the template (identity and resource policies)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("Statement"), list):
                found.extend(node["Statement"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(raw["Resources"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def artifact_key_id(raw: dict[str, Any], config: Config) -> str:
    alias = only(raw, "AWS::KMS::Alias", AliasName=Names(config).artifact_key_alias)
    return str(alias["TargetKeyId"]["Fn::GetAtt"][0])


# -- resource policies: who outside the tools account gets what ------------------------------------


def test_no_allow_statement_has_a_wildcard_principal(raw: dict[str, Any]) -> None:
    for statement in all_statements(raw):
        if statement["Effect"] == "Allow" and "Principal" in statement:
            principal = statement["Principal"]
            assert principal != "*", statement
            assert "*" not in as_list(principal.get("AWS", [])), statement


def test_no_resource_policy_names_a_target_account_role_as_principal(raw: dict[str, Any], config: Config) -> None:
    """S3, KMS and ECR reject a principal that does not exist yet; the target roles are created later."""
    for statement in all_statements(raw):
        for principal in (
            as_list(statement.get("Principal", {}).get("AWS", []))
            if isinstance(statement.get("Principal"), dict)
            else []
        ):
            if isinstance(principal, str) and ":role/" in principal:
                assert principal.split(":")[4] == config.accounts.tools, statement


def test_repository_is_immutable_scanned_on_push_and_kms_encrypted(template: Template, config: Config) -> None:
    template.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryName": Names(config).ecr_repository,
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "KMS"},
        },
    )


def test_repository_lifecycle_keeps_release_images_by_prefix_and_expires_untagged(
    raw: dict[str, Any], config: Config
) -> None:
    repository = only(raw, "AWS::ECR::Repository", RepositoryName=Names(config).ecr_repository)
    rules = {
        rule["rulePriority"]: rule for rule in json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    }
    assert rules[1]["selection"] == {
        "tagStatus": "tagged",
        "tagPrefixList": [RELEASE_TAG_PREFIX],
        "countType": "imageCountMoreThan",
        "countNumber": config.pipeline.release_images_to_keep,
    }
    assert rules[2]["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 7,
        "countUnit": "days",
    }
    assert all(rule["action"] == {"type": "expire"} for rule in rules.values())


def test_repository_policy_lets_only_target_execution_roles_pull(raw: dict[str, Any], config: Config) -> None:
    repository = only(raw, "AWS::ECR::Repository", RepositoryName=Names(config).ecr_repository)
    (statement,) = repository["RepositoryPolicyText"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == PULL_ACTIONS
    assert sorted(statement["Principal"]["AWS"]) == target_roots(config)
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": target_role_arns(config, Names(config).execution_role)}
    }
    assert "Resource" not in statement


def test_artifact_key_rotates_and_gives_target_deploy_roles_decrypt_only(raw: dict[str, Any], config: Config) -> None:
    key = raw["Resources"][artifact_key_id(raw, config)]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    foreign = [s for s in allowed if s["Principal"] != {"AWS": "arn:aws:iam::111111111111:root"}]
    # Besides the allows, only the refusal of grants that are not for AWS resources (CT.KMS.PR.3).
    assert [s["Sid"] for s in statements if s["Effect"] != "Allow"] == ["DenyGrantsExceptForAwsResources"]
    assert len(foreign) == 1
    (statement,) = foreign
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    assert sorted(statement["Principal"]["AWS"]) == target_roots(config)
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": target_role_arns(config, Names(config).deploy_role)}
    }


def test_pipeline_role_may_use_the_artifact_key(raw: dict[str, Any], config: Config) -> None:
    key_id = artifact_key_id(raw, config)
    # The role comes from Tools-PipelineRole; its grants are policies here, attached by name.
    policies = [p for p in resources(raw, "AWS::IAM::Policy").values() if Names(config).pipeline_role in p["Roles"]]
    granted = {
        action
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Resource") == {"Fn::GetAtt": [key_id, "Arn"]}
        for action in as_list(statement["Action"])
    }
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} <= granted


def test_artifact_bucket_is_private_versioned_logged_and_expires_old_artifacts(
    template: Template, raw: dict[str, Any], config: Config
) -> None:
    key_id = artifact_key_id(raw, config)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Names(config).artifact_bucket,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                            }
                        }
                    )
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "artifacts/"},
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {
                            "ExpirationInDays": config.pipeline.artifact_retention_days,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            "Status": "Enabled",
                        }
                    )
                ]
            },
        },
    )


def test_artifact_bucket_policy_is_tls_only_and_read_only_for_target_deploy_roles(
    raw: dict[str, Any], config: Config
) -> None:
    bucket_id = next(
        k for k, v in raw["Resources"].items() if v["Properties"].get("BucketName") == Names(config).artifact_bucket
    )
    policy = only(raw, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket_id})
    statements = policy["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert sorted(allow[0]["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert sorted(allow[0]["Principal"]["AWS"]) == target_roots(config)
    assert allow[0]["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": target_role_arns(config, Names(config).deploy_role)}
    }


def test_access_log_bucket_is_separate_private_and_tls_only(raw: dict[str, Any], config: Config) -> None:
    artifact = only(raw, "AWS::S3::Bucket", BucketName=Names(config).artifact_bucket)
    log_bucket_id = artifact["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    log_bucket = raw["Resources"][log_bucket_id]["Properties"]
    assert log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert all(log_bucket["PublicAccessBlockConfiguration"].values())
    policy = only(raw, "AWS::S3::BucketPolicy", Bucket={"Ref": log_bucket_id})
    assert any(s["Effect"] == "Deny" for s in policy["PolicyDocument"]["Statement"])


# -- builds -------------------------------------------------------------------------------------------


def test_build_is_privileged_cached_encrypted_and_reads_the_repository_buildspec(
    template: Template, raw: dict[str, Any], config: Config
) -> None:
    template.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Name": f"{config.project}-image-build",
            "Source": {"Type": "CODEPIPELINE", "BuildSpec": "pipelines/buildspec.yml"},
            "Environment": Match.object_like({"PrivilegedMode": True}),
            "Cache": {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE"]},
            "EncryptionKey": {"Fn::GetAtt": [artifact_key_id(raw, config), "Arn"]},
        },
    )


def test_build_role_pushes_to_the_service_repository_and_can_see_existing_tags(
    raw: dict[str, Any], synthesized: SynthesizedApp
) -> None:
    """buildspec.yml skips the push when the release tag exists: that needs ecr:DescribeImages."""
    stack = synthesized.stack("Tools-Pipeline")
    repository = logical_id(stack.images.repository.node.default_child)
    role = logical_id(stack.build.project.role.node.default_child)
    ecr_actions = {
        action
        for policy in raw["Resources"].values()
        if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == {"Fn::GetAtt": [repository, "Arn"]}
        for action in as_list(statement["Action"])
        if action.startswith("ecr:")
    }
    assert "ecr:DescribeImages" in ecr_actions
    assert {"ecr:PutImage", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"} <= ecr_actions
    assert not {"ecr:DeleteRepository", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy"} & ecr_actions


def test_scan_gate_is_an_unprivileged_project_with_the_configured_threshold(template: Template, config: Config) -> None:
    template.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Name": f"{config.project}-scan-gate",
            "Source": {"Type": "CODEPIPELINE", "BuildSpec": "pipelines/scan_buildspec.yml"},
            "Environment": Match.object_like(
                {
                    "PrivilegedMode": False,
                    "EnvironmentVariables": Match.array_with(
                        [
                            {
                                "Name": "SCAN_FAIL_SEVERITY",
                                "Type": "PLAINTEXT",
                                "Value": config.pipeline.scan_fail_severity,
                            }
                        ]
                    ),
                }
            ),
        },
    )


def test_build_projects_carry_no_secret_in_plaintext(raw: dict[str, Any]) -> None:
    for project in resources(raw, "AWS::CodeBuild::Project").values():
        for variable in project["Environment"].get("EnvironmentVariables", []):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY", variable["Name"]), variable


def test_build_logs_are_kms_encrypted(raw: dict[str, Any], config: Config) -> None:
    """One log group per CodeBuild project, and the bake functions' (one per baking environment): all with a KMS key."""
    groups = resources(raw, "AWS::Logs::LogGroup")
    bakes = [f"/aws/lambda/{Names(config).bake_function(e.name)}" for e in config.environments if e.bake_minutes]
    assert sorted(
        g["LogGroupName"] for g in groups.values() if g.get("LogGroupName", "").startswith("/aws/lambda/")
    ) == (sorted(bakes))
    assert len(groups) == len(resources(raw, "AWS::CodeBuild::Project")) + len(bakes)
    assert all("KmsKeyId" in group for group in groups.values())


def test_buildspec_tags_the_image_with_the_digest_of_its_inputs_and_never_latest() -> None:
    """An infrastructure-only commit gets the tag already released, so no ECS deployment starts (app_digest)."""
    assert (
        'IMAGE_TAG="$(python -m pipelines.app_digest --context service_app --base-image-digest "$BASE_IMAGE_DIGEST")"'
        in BUILDSPEC
    )
    assert BUILDSPEC_CODE.index("pytest tests/handlers") < BUILDSPEC_CODE.index("docker build")
    # The base image is pulled once, before its digest is read, and the build uses that pull (no --pull).
    assert BUILDSPEC_CODE.index('docker pull --quiet "$BASE_IMAGE"') < BUILDSPEC_CODE.index("BASE_IMAGE_DIGEST=")
    assert "--pull" not in BUILDSPEC_CODE
    assert 'export IMAGE_URI="${REPOSITORY_URI}:${IMAGE_TAG}"' in BUILDSPEC_CODE
    assert BUILDSPEC_CODE.count("docker push") == 1 and 'docker push "$IMAGE_URI"' in BUILDSPEC_CODE
    assert BUILDSPEC_CODE.count("--tag ") == 1 and '--tag "$IMAGE_URI"' in BUILDSPEC_CODE
    assert "latest" not in BUILDSPEC_CODE.lower()
    assert RELEASE_TAG_PREFIX == "release-"


def test_buildspec_runs_the_unit_tests_with_a_junit_report_group() -> None:
    assert "python -m pytest tests/handlers --junitxml=reports/unit-tests.xml" in BUILDSPEC
    report = BUILDSPEC[BUILDSPEC.index("\nreports:") :]
    assert "unit-tests:" in report and "file-format: JUNITXML" in report and "base-directory: reports" in report


def test_report_group_is_the_one_the_buildspec_writes_to(template: Template, config: Config) -> None:
    template.has_resource_properties(
        "AWS::CodeBuild::ReportGroup", {"Name": f"{config.project}-image-build-unit-tests", "Type": "TEST"}
    )


def test_buildspec_builds_from_the_service_dockerfile_and_writes_the_release_inputs() -> None:
    assert "--file service_app/Dockerfile service_app" in BUILDSPEC
    assert (
        'python -m pipelines.release_inputs --config "$CONFIG_FILE" --out release --image-uri "$IMAGE_URI"' in BUILDSPEC
    )
    assert """printf '{"ImageURI":"%s"}\\n' "$IMAGE_URI" > imageDetail.json""" in BUILDSPEC
    artifacts = BUILDSPEC[BUILDSPEC.index("\nartifacts:") :]
    assert "- imageDetail.json" in artifacts and "- release/**/*" in artifacts


@pytest.mark.parametrize("project", ["image-build", "synth"])
def test_builds_read_the_pip_index_from_the_parameter_the_configuration_names(
    raw: dict[str, Any], template: Template, config: Config, project: str
) -> None:
    """A build variable of type PARAMETER_STORE, set by the stack from the project name: no buildspec names it.

    The project may read exactly that parameter (CDK's grant for the variable), nothing else of Parameter Store.
    """
    name = build_parameter_name(config)
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": name, "Type": "String"})
    properties = only(raw, "AWS::CodeBuild::Project", Name=f"{config.project}-{project}")
    variables = properties["Environment"]["EnvironmentVariables"]
    assert {"Name": "PIP_INDEX_URL", "Type": "PARAMETER_STORE", "Value": name} in variables
    role = properties["ServiceRole"]["Fn::GetAtt"][0]
    policies = [p for p in resources(raw, "AWS::IAM::Policy").values() if {"Ref": role} in p["Roles"]]
    ssm_statements = [
        s for p in policies for s in p["PolicyDocument"]["Statement"] if "ssm:" in json.dumps(s["Action"])
    ]
    parameter_arn = f"arn:aws:ssm:{config.region}:{config.accounts.tools}:parameter{name}"
    assert ssm_statements == [{"Action": "ssm:GetParameters", "Effect": "Allow", "Resource": parameter_arn}]


def test_no_buildspec_names_a_parameter_of_its_own() -> None:
    for path in sorted((ROOT / "pipelines").glob("*buildspec.yml")):
        assert "parameter-store:" not in path.read_text(), path.name


def test_buildspec_aborts_on_the_first_failed_phase() -> None:
    assert BUILDSPEC.count("on-failure: ABORT") == 4
    assert 'test "$CODEBUILD_BUILD_SUCCEEDING" = "1"' in BUILDSPEC


def test_scan_buildspec_runs_the_gate_on_the_built_tag() -> None:
    assert (
        'python pipelines/scan_gate.py --repository "$REPOSITORY_NAME" --tag "$IMAGE_TAG" '
        '--fail-severity "$SCAN_FAIL_SEVERITY"' in SCAN_BUILDSPEC
    )


# -- the pipeline -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(raw: dict[str, Any]) -> dict[str, Any]:
    (properties,) = resources(raw, "AWS::CodePipeline::Pipeline").values()
    return properties


def test_pipeline_is_v2_with_the_named_role_and_the_encrypted_artifact_store(
    pipeline: dict[str, Any], raw: dict[str, Any], config: Config, synthesized: SynthesizedApp
) -> None:
    names = Names(config)
    assert pipeline["Name"] == names.pipeline
    assert pipeline["PipelineType"] == "V2"
    role = only(synthesized.raw_template("Tools-PipelineRole"), "AWS::IAM::Role", RoleName=names.pipeline_role)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codepipeline.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": config.accounts.tools}}
    assert pipeline["RoleArn"] == names.role_arn(config.accounts.tools, names.pipeline_role)
    bucket_id = next(
        k for k, v in raw["Resources"].items() if v["Properties"].get("BucketName") == names.artifact_bucket
    )
    assert pipeline["ArtifactStore"] == {
        "Type": "S3",
        "Location": {"Ref": bucket_id},
        "EncryptionKey": {"Type": "KMS", "Id": {"Fn::GetAtt": [artifact_key_id(raw, config), "Arn"]}},
    }


def test_scan_gate_runs_after_the_build_on_its_exported_tag(pipeline: dict[str, Any]) -> None:
    (build_stage,) = [s for s in pipeline["Stages"] if s["Name"] == "Build"]
    by_name = {action["Name"]: action for action in build_stage["Actions"]}
    build, scan = by_name["BuildImage"], by_name["ScanGate"]
    assert (build["RunOrder"], scan["RunOrder"]) == (1, 2)
    variables = json.loads(scan["Configuration"]["EnvironmentVariables"])
    assert {"name": "IMAGE_TAG", "type": "PLAINTEXT", "value": f"#{{{build['Namespace']}.IMAGE_TAG}}"} in variables


def test_source_is_the_configured_github_branch_through_the_connection(
    pipeline: dict[str, Any], config: Config
) -> None:
    (source,) = pipeline["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": config.pipeline.connection_arn,
        "FullRepositoryId": f"{config.github.owner}/{config.github.repo}",
        "BranchName": config.github.branch,
    }


@pytest.mark.parametrize("environment_name", TARGET_ENVIRONMENTS)
def test_each_deploy_stage_releases_with_codedeploy_after_its_infrastructure_as_its_deploy_role(
    pipeline: dict[str, Any], config: Config, environment_name: str
) -> None:
    names = Names(config)
    environment = config.environment(environment_name)
    (stage,) = [s for s in pipeline["Stages"] if s["Name"] == f"Deploy-{environment.title}"]
    infrastructure, action = sorted(stage["Actions"], key=lambda a: a["RunOrder"])
    assert (infrastructure["Name"], infrastructure["RunOrder"], action["RunOrder"]) == ("Infrastructure", 1, 2)
    assert action["ActionTypeId"] == {
        "Category": "Deploy",
        "Owner": "AWS",
        "Provider": "CodeDeployToECS",
        "Version": "1",
    }
    assert action["RoleArn"] == names.role_arn(environment.account, names.deploy_role)
    assert action["Configuration"] == {
        "ApplicationName": names.codedeploy_application,
        "DeploymentGroupName": names.deployment_group,
        "TaskDefinitionTemplateArtifact": "Release",
        "TaskDefinitionTemplatePath": f"release/{environment_name}/taskdef.json",
        "AppSpecTemplateArtifact": "Release",
        "AppSpecTemplatePath": f"release/{environment_name}/appspec.yaml",
        "Image1ArtifactName": "Release",
        "Image1ContainerName": "IMAGE1_NAME",
    }


def assumed_roles(statements: list[dict[str, Any]]) -> set[str]:
    return {
        resource
        for statement in statements
        if "sts:AssumeRole" in as_list(statement.get("Action", []))
        for resource in as_list(statement.get("Resource", []))
        if isinstance(resource, str)
    }


def test_pipeline_role_may_assume_exactly_the_three_deploy_roles_across_accounts(
    raw: dict[str, Any], config: Config
) -> None:
    names = Names(config)
    pipeline_role_policies = [
        policy
        for policy in resources(raw, "AWS::IAM::Policy").values()
        if names.pipeline_role in policy.get("Roles", [])
    ]
    assert pipeline_role_policies, "the pipeline role's grants are policies of this stack"
    pipeline_statements = [s for policy in pipeline_role_policies for s in policy["PolicyDocument"]["Statement"]]
    assert assumed_roles(pipeline_statements) == set(target_role_arns(config, names.deploy_role))
    # Besides, only each bake function assumes its own environment's alarm reader role.
    readers = {names.role_arn(e.account, names.alarm_reader_role) for e in config.environments if e.bake_minutes}
    # And each CDK CLI project its one account's bootstrap roles (tests/architecture/test_one_pipeline.py).
    bootstrap = {arn for arn in assumed_roles(all_statements(raw)) if ":role/cdk-hnb659fds-" in arn}
    assert assumed_roles(all_statements(raw)) == set(target_role_arns(config, names.deploy_role)) | readers | bootstrap


def test_no_policy_in_the_tools_account_grants_pass_role(raw: dict[str, Any]) -> None:
    """The deploy roles are imported immutable, so the deploy actions add no iam:PassRole on * anywhere."""
    for statement in all_statements(raw):
        assert "iam:PassRole" not in as_list(statement.get("Action", [])), statement


def test_notification_topic_is_encrypted_with_an_email_subscription(template: Template, config: Config) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": config.pipeline.approval_email}
    )


@pytest.mark.parametrize(
    ("detail_type", "states"),
    [
        ("CodePipeline Pipeline Execution State Change", ["FAILED", "SUCCEEDED", "STOPPED"]),
        ("CodePipeline Action Execution State Change", ["FAILED", "SUCCEEDED"]),
    ],
)
def test_release_outcomes_reach_the_topic(
    template: Template, raw: dict[str, Any], config: Config, detail_type: str, states: list[str]
) -> None:
    (topic_id,) = resources(raw, "AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.codepipeline"],
                    "detail-type": [detail_type],
                    "detail": Match.object_like({"pipeline": [Names(config).pipeline], "state": states}),
                }
            ),
            "Targets": [Match.object_like({"Arn": {"Ref": topic_id}})],
        },
    )


# -- deployment order ---------------------------------------------------------------------------------


def test_deploy_roles_come_between_the_pipeline_role_and_the_pipeline(
    synthesized: SynthesizedApp, config: Config
) -> None:
    """IAM needs the pipeline role before a trust policy names it; CodePipeline needs the deploy
    roles before it is created, because it checks that it can assume each of them."""
    role_stack, pipeline_stack = synthesized.stack("Tools-PipelineRole"), synthesized.stack(STACK)
    order = synthesized.deploy_order
    for environment in config.environments:
        name = f"{environment.title}-DeployRole"
        assert role_stack in synthesized.stack(name).dependencies, name
        assert synthesized.stack(name) in pipeline_stack.dependencies, name
        assert order.index("Tools-PipelineRole") < order.index(name) < order.index(STACK)


def test_source_action_may_use_the_connection_under_its_own_service_prefix(
    raw: dict[str, Any], config: Config, synthesized: SynthesizedApp
) -> None:
    """A codeconnections ARN is authorized by codeconnections:UseConnection, not only codestar-connections."""
    stack = synthesized.stack(STACK)
    role_id = logical_id(stack.release.source_role.node.default_child)
    statements = [
        statement
        for policy in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    prefix = config.pipeline.connection_arn.split(":")[2]
    assert {
        "Sid": "UseTheConnection",
        "Action": f"{prefix}:UseConnection",
        "Effect": "Allow",
        "Resource": config.pipeline.connection_arn,
    } in statements
    source_role = raw["Resources"][role_id]["Properties"]
    assert source_role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": Names(config).role_arn(config.accounts.tools, Names(config).pipeline_role)
    }
