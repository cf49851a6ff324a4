"""Bad configuration: each case gives exactly one line naming the file, the key and what is expected."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from config import ConfigError, load_config
from config.settings import CRON_EXPECTED
from tests.support import ROOT

SANDBOX = (ROOT / "config" / "sandbox.toml").read_text()

ZONES = 'availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]'
PROD_CODEDEPLOY = (
    'release_controller = "codedeploy"\ndeployment_config = "CANARY_10PERCENT_5MINUTES"\ntermination_wait_minutes = 60'
)

# (case id, text in sandbox.toml, replacement, expected error after "<file>: ")
CASES = [
    (
        "account-id-too-short",
        'dev = "222222222222"',
        'dev = "22222222222"',
        "accounts.dev: expected a 12-digit AWS account id, got '22222222222'",
    ),
    (
        "account-id-not-a-string",
        'dev = "222222222222"',
        "dev = 222222222222",
        "accounts.dev: expected a 12-digit AWS account id, got 222222222222",
    ),
    (
        "account-ids-not-distinct",
        'prod = "444444444444"',
        'prod = "333333333333"',
        "accounts.prod: expected an account id different from accounts.staging, got '333333333333'",
    ),
    (
        "account-missing",
        'tools = "111111111111"\n',
        "",
        "accounts.tools: expected a 12-digit AWS account id, got nothing (the key is missing)",
    ),
    (
        "unknown-region",
        'region = "eu-west-1"',
        'region = "eu-west-9"',
        "region: expected an AWS region name such as 'eu-west-1', got 'eu-west-9'",
    ),
    (
        # The project writes its ARNs and service principals for the standard partition.
        "region-outside-the-aws-partition",
        'region = "eu-west-1"',
        'region = "cn-north-1"',
        "region: expected an AWS region name such as 'eu-west-1', got 'cn-north-1'",
    ),
    (
        "unknown-top-level-key",
        'owner = "platform-team"',
        'owner = "platform-team"\nregoin = "eu-west-1"',
        "regoin: unknown key (did you mean 'region'?)",
    ),
    (
        # The misspelt key hides the key it should have been: report the typo, not a missing region.
        "misspelt-key-instead-of-a-required-one",
        'region = "eu-west-1"',
        'regoin = "eu-west-1"',
        "regoin: unknown key (did you mean 'region'?)",
    ),
    (
        "unknown-key-like-no-other",
        'owner = "platform-team"',
        'owner = "platform-team"\ncolour = "blue"',
        "colour: unknown key (expected one of: accounts, environments, github, oidc, owner, pipeline, project, "
        "region, service)",
    ),
    (
        "typo-in-environment-key",
        "desired_count = 2\n",
        "desired_cuont = 2\n",
        "environments.staging.desired_cuont: unknown key (did you mean 'desired_count'?)",
    ),
    (
        "project-name-not-usable-in-bucket-names",
        'project = "delivery-ref"',
        'project = "Delivery_Ref"',
        "project: expected 3 to 24 lowercase letters, digits or single hyphens, starting with a letter, "
        "got 'Delivery_Ref'",
    ),
    (
        "github-owner-with-slash",
        'owner = "example-org"',
        'owner = "example/org"',
        "github.owner: expected a GitHub user or organization name (letters, digits, single hyphens), "
        "got 'example/org'",
    ),
    (
        "branch-with-wildcard",
        'branch = "main"',
        'branch = "release/*"',
        "github.branch: expected a git branch name without wildcards, got 'release/*'",
    ),
    (
        "service-name-with-uppercase",
        'name = "web"',
        'name = "Web"',
        "service.name: expected 1 to 24 lowercase letters, digits or single hyphens, starting with a letter, got 'Web'",
    ),
    (
        "task-policy-name-with-space",
        "task_policy_names = []",
        'task_policy_names = ["orders table access"]',
        "service.task_policy_names[0]: expected names of customer managed IAM policies "
        "(letters, digits, +=,.@_-; up to 128), got 'orders table access'",
    ),
    (
        # Secrets Manager would take arn:...:secret:web/app-secret for a full ARN of "web/app".
        "secret-name-that-looks-like-a-full-arn",
        'secret_name = "web/application"',
        'secret_name = "web/app-secret"',
        "service.secret_name: expected a Secrets Manager secret name that does not end in a hyphen and "
        "six characters, got 'web/app-secret'",
    ),
    (
        "container-port-out-of-range",
        "container_port = 8080",
        "container_port = 70000",
        "service.container_port: expected a whole number from 1024 to 65535, got 70000",
    ),
    (
        "initial-image-tag-latest",
        'initial_image_tag = "bootstrap"',
        'initial_image_tag = "latest"',
        "service.initial_image_tag: expected an image tag other than 'latest' (letters, digits, _ . -), got 'latest'",
    ),
    (
        "environment-unknown",
        "[environments.dev]",
        '[environments.qa]\nvpc_cidr = "10.40.0.0/20"\n\n[environments.dev]',
        "environments.qa: unknown environment (expected one of: dev, staging, prod)",
    ),
    (
        "cidr-not-private",
        'vpc_cidr = "10.10.0.0/20"',
        'vpc_cidr = "8.8.0.0/20"',
        "environments.dev.vpc_cidr: expected a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24, "
        "got '8.8.0.0/20'",
    ),
    (
        "cidr-too-large",
        'vpc_cidr = "10.10.0.0/20"',
        'vpc_cidr = "10.0.0.0/8"',
        "environments.dev.vpc_cidr: expected a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24, "
        "got '10.0.0.0/8'",
    ),
    (
        # Two subnets per AZ in 3 AZs would be /28s: too small for an ALB (it needs /27).
        "cidr-too-small",
        'vpc_cidr = "10.30.0.0/20"',
        'vpc_cidr = "10.30.0.0/25"',
        "environments.prod.vpc_cidr: expected a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24, "
        "got '10.30.0.0/25'",
    ),
    (
        "cidr-without-prefix-length",
        'vpc_cidr = "10.20.0.0/20"',
        'vpc_cidr = "10.20.0.0"',
        "environments.staging.vpc_cidr: expected a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24, "
        "got '10.20.0.0'",
    ),
    (
        "cidr-host-bits-set",
        'vpc_cidr = "10.10.0.0/20"',
        'vpc_cidr = "10.10.0.1/20"',
        "environments.dev.vpc_cidr: expected a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24, "
        "got '10.10.0.1/20'",
    ),
    (
        "cidrs-overlap",
        'vpc_cidr = "10.20.0.0/20"',
        'vpc_cidr = "10.10.8.0/21"',
        "environments.staging.vpc_cidr: expected a CIDR that does not overlap environments.dev.vpc_cidr "
        "(10.10.0.0/20), got '10.10.8.0/21'",
    ),
    (
        "prod-all-at-once",
        'deployment_config = "CANARY_10PERCENT_5MINUTES"\ntermination_wait_minutes = 60',
        'deployment_config = "ALL_AT_ONCE"\ntermination_wait_minutes = 60',
        "environments.prod.deployment_config: expected a canary or linear configuration in prod "
        "(all-at-once shifts every user at once), got 'ALL_AT_ONCE'",
    ),
    (
        "controller-that-does-not-exist",
        PROD_CODEDEPLOY,
        'release_controller = "argo"',
        "environments.prod.release_controller: expected one of 'codedeploy', 'ecs', got 'argo'",
    ),
    (
        "ecs-controller-without-its-table",
        PROD_CODEDEPLOY,
        'release_controller = "ecs"',
        "environments.prod.ecs_release: expected a table, got nothing (the key is missing)",
    ),
    (
        "ecs-table-under-codedeploy",
        "log_retention_days = 365",
        'log_retention_days = 365\n[environments.prod.ecs_release]\nstrategy = "CANARY"',
        "environments.prod.ecs_release: expected no [ecs_release] table when release_controller is 'codedeploy' "
        "(set release_controller = 'ecs' to use it)",
    ),
    (
        "max-count-below-desired-count",
        "desired_count = 3\n",
        "desired_count = 3\nmax_count = 2\n",
        "environments.prod.max_count: expected at least desired_count (3), got 2",
    ),
    (
        "rollback-on-alarm-without-alarms",
        "log_retention_days = 365",
        "log_retention_days = 365\nalarms = []\nrollback_on_alarm = true",
        "environments.prod.alarms: expected at least one alarm when rollback_on_alarm is true, got []",
    ),
    (
        "fargate-memory-for-cpu",
        "memory_mib = 1024",
        "memory_mib = 768",
        "environments.prod.memory_mib: expected a Fargate memory size for cpu 512 (1024, 2048, 3072, 4096), got 768",
    ),
    (
        "certificate-from-another-region",
        "test_listener_port = 9000\nlog_retention_days = 30",
        "test_listener_port = 9000\nlog_retention_days = 30\n"
        'certificate_arn = "arn:aws:acm:us-east-1:222222222222:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"',
        "environments.dev.certificate_arn: expected an ACM certificate ARN of region eu-west-1 and account "
        "222222222222, got 'arn:aws:acm:us-east-1:222222222222:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'",
    ),
    (
        "test-listener-open-to-the-internet",
        "test_listener_port = 9000\nlog_retention_days = 30",
        'test_listener_port = 9000\nlog_retention_days = 30\ntest_listener_cidr = "0.0.0.0/1"',
        "environments.dev.test_listener_cidr: expected a private IPv4 CIDR (the plain-HTTP test listener is "
        "never public), got '0.0.0.0/1'",
    ),
    (
        # /24 over 3 AZs leaves /27 task subnets: 19 addresses each besides endpoints and the hook.
        "desired-count-beyond-the-task-subnets",
        f'vpc_cidr = "10.30.0.0/20"\nmax_azs = 3\n{ZONES}\ndesired_count = 3',
        f'vpc_cidr = "10.30.0.0/24"\nmax_azs = 3\n{ZONES}\ndesired_count = 30',
        "environments.prod.desired_count: expected at most 27 tasks for vpc_cidr 10.30.0.0/24 over 3 AZs "
        "(a release runs the blue and green task sets side by side), got 30",
    ),
    (
        "endpoint-zones-beyond-the-vpc-zones",
        "endpoint_azs = 1\ndesired_count = 1",
        "endpoint_azs = 3\ndesired_count = 1",
        "environments.dev.endpoint_azs: expected at most max_azs (2): the endpoints sit in the VPC's zones, got 3",
    ),
    (
        "no-endpoint-zone",
        "endpoint_azs = 1\ndesired_count = 1",
        "endpoint_azs = 0\ndesired_count = 1",
        "environments.dev.endpoint_azs: expected a whole number from 1 to 3, got 0",
    ),
    (
        "fewer-endpoint-zones-in-prod",
        'vpc_cidr = "10.30.0.0/20"\nmax_azs = 3\n',
        'vpc_cidr = "10.30.0.0/20"\nmax_azs = 3\nendpoint_azs = 2\n',
        "environments.prod.endpoint_azs: expected max_azs (3) in prod (a zone failure must not cut the other "
        "zones' tasks off ECR, logs and secrets), got 2",
    ),
    (
        "test-listener-on-production-port",
        "test_listener_port = 9000\nlog_retention_days = 30",
        "test_listener_port = 80\nlog_retention_days = 30",
        "environments.dev.test_listener_port: expected a port other than the production listener's port 80, got 80",
    ),
    (
        "test-listener-on-the-https-redirect-port",
        "test_listener_port = 9000\nlog_retention_days = 30",
        "test_listener_port = 80\nlog_retention_days = 30\n"
        'certificate_arn = "arn:aws:acm:eu-west-1:222222222222:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"',
        "environments.dev.test_listener_port: expected a port other than 443 (the production listener) and 80 "
        "(its redirect to HTTPS), got 80",
    ),
    (
        "staging-without-rollback-on-failure",
        "bake_minutes = 5",
        "bake_minutes = 5\nrollback_on_failure = false",
        "environments.staging.rollback_on_failure: expected true in staging and prod (a failed release there rolls "
        "back by itself), got False",
    ),
    (
        "bake-longer-than-one-lambda-invocation",
        "bake_minutes = 14",
        "bake_minutes = 30",
        "environments.prod.bake_minutes: expected a whole number from 0 to 14, got 30",
    ),
    (
        "bake-alarms-without-a-bake",
        "rollback_on_failure = false\nbake_minutes = 0",
        'rollback_on_failure = false\nbake_minutes = 0\nbake_alarm_names = ["dev-queue-depth"]',
        "environments.dev.bake_minutes: expected at least 1 when bake_alarm_names is not empty, got 0",
    ),
    (
        "bake-alarm-name-not-a-string",
        "bake_alarm_names = []",
        "bake_alarm_names = [42]",
        "environments.prod.bake_alarm_names[0]: expected CloudWatch alarm names of this environment's account "
        "(1 to 255 printable characters), got 42",
    ),
    (
        "window-cron-with-five-fields",
        'cron = "* * 9-16 ? * MON-FRI"',
        'cron = "* 9-16 ? * MON-FRI"',
        f"environments.prod.deployment_window.cron: expected {CRON_EXPECTED}, got '* 9-16 ? * MON-FRI'",
    ),
    (
        "window-cron-hour-out-of-range",
        'cron = "* * 9-16 ? * MON-FRI"',
        'cron = "* * 9-24 ? * MON-FRI"',
        f"environments.prod.deployment_window.cron: expected {CRON_EXPECTED}, got '* * 9-24 ? * MON-FRI'",
    ),
    (
        # The rule reference allows only * in the seconds field.
        "window-cron-with-seconds",
        'cron = "* * 9-16 ? * MON-FRI"',
        'cron = "0 * 9-16 ? * MON-FRI"',
        f"environments.prod.deployment_window.cron: expected {CRON_EXPECTED}, got '0 * 9-16 ? * MON-FRI'",
    ),
    (
        "window-unknown-time-zone",
        'time_zone = "Europe/Dublin"',
        'time_zone = "Europe/Dublinn"',
        "environments.prod.deployment_window.time_zone: expected an IANA time zone name such as 'Europe/Dublin', "
        "or 'UTC', got 'Europe/Dublinn'",
    ),
    (
        "window-time-zone-as-offset",
        'time_zone = "Europe/Dublin"',
        'time_zone = "+01:00"',
        "environments.prod.deployment_window.time_zone: expected an IANA time zone name such as 'Europe/Dublin', "
        "or 'UTC', got '+01:00'",
    ),
    (
        "window-typo-in-key",
        'deployment_window = { cron = "* * 9-16 ? * MON-FRI", time_zone = "Europe/Dublin" }',
        'deployment_window = { cron = "* * 9-16 ? * MON-FRI", timezone = "Europe/Dublin" }',
        "environments.prod.deployment_window.timezone: unknown key (did you mean 'time_zone'?)",
    ),
    (
        "window-not-a-table",
        'deployment_window = { cron = "* * 9-16 ? * MON-FRI", time_zone = "Europe/Dublin" }',
        'deployment_window = "* * 9-16 ? * MON-FRI"',
        "environments.prod.deployment_window: expected a table, got '* * 9-16 ? * MON-FRI'",
    ),
    (
        "connection-arn-not-codestar",
        'connection_arn = "arn:aws:codeconnections:eu-west-1:111111111111:connection/'
        '6f1c2a0e-7b3d-4c59-9a1e-2d8f0b4c7e11"',
        'connection_arn = "arn:aws:iam::111111111111:role/github"',
        "pipeline.connection_arn: expected a CodeStar/CodeConnections connection ARN "
        "(arn:aws:codeconnections:REGION:ACCOUNT:connection/ID), got 'arn:aws:iam::111111111111:role/github'",
    ),
    (
        # A synth without them would ask AWS (the CDK's availability-zones lookup) instead of failing here.
        "availability-zones-missing",
        f"{ZONES}\n# How many zones",
        "# How many zones",
        "environments.dev.availability_zones: expected the names of account 222222222222's availability zones in "
        'eu-west-1, at least max_azs (2): add availability_zones = ["eu-west-1a", "eu-west-1b", ...] '
        "(python -m config.availability_zones --config <file> prints them), got nothing (the key is missing)",
    ),
    (
        "availability-zone-of-another-region",
        ZONES,
        'availability_zones = ["us-east-2a", "us-east-2b"]',
        "environments.dev.availability_zones[0]: expected availability zone names of eu-west-1 (eu-west-1 and a "
        "letter), got 'us-east-2a'",
    ),
    (
        "availability-zone-twice",
        ZONES,
        'availability_zones = ["eu-west-1a", "eu-west-1a"]',
        "environments.dev.availability_zones: expected a list of availability zone names of eu-west-1 (eu-west-1 "
        "and a letter) without duplicates, got ['eu-west-1a', 'eu-west-1a']",
    ),
    (
        "fewer-availability-zones-than-max-azs",
        f"max_azs = 3\n{ZONES}",
        'max_azs = 3\navailability_zones = ["eu-west-1a", "eu-west-1b"]',
        "environments.prod.availability_zones: expected at least max_azs (3) availability zone names, "
        "got ['eu-west-1a', 'eu-west-1b']",
    ),
    (
        "connection-of-another-account",
        "arn:aws:codeconnections:eu-west-1:111111111111:",
        "arn:aws:codeconnections:eu-west-1:222222222222:",
        "pipeline.connection_arn: expected a connection of the tools account 111111111111 (accounts.tools), where "
        "the pipeline runs; this one is of account 222222222222, got "
        "'arn:aws:codeconnections:eu-west-1:222222222222:connection/6f1c2a0e-7b3d-4c59-9a1e-2d8f0b4c7e11'",
    ),
    (
        "oidc-subject-of-another-repository",
        'subjects = ["repo:example-org/delivery-reference:pull_request"]',
        'subjects = ["repo:example-org/other-repo:pull_request"]',
        "oidc.roles[1].subjects[0]: expected a subject of the repository in [github] "
        "(repo:example-org/delivery-reference:...), got 'repo:example-org/other-repo:pull_request'",
    ),
    (
        # The immutable form names the owner and the repository too, each followed by its numeric id.
        "oidc-subject-of-another-owner",
        'subjects = ["repo:example-org/delivery-reference:environment:tools"]',
        'subjects = ["repo:fork-owner@1234/delivery-reference@5678:environment:tools"]',
        "oidc.roles[0].subjects[0]: expected a subject of the repository in [github] "
        "(repo:example-org/delivery-reference:...), "
        "got 'repo:fork-owner@1234/delivery-reference@5678:environment:tools'",
    ),
    (
        "approval-email-invalid",
        'approval_email = "release-approvers@example.com"',
        'approval_email = "release-approvers.example.com"',
        "pipeline.approval_email: expected an email address, got 'release-approvers.example.com'",
    ),
]


ECS_NATIVE = (ROOT / "config" / "ecs-native.toml").read_text()
PROD_LINEAR = "linear_step_percent = 20\nlinear_interval_minutes = 3\nbake_minutes = 20"

# The same table for config/ecs-native.toml, where every environment releases through ECS.
ECS_CASES = [
    (
        "strategy-that-does-not-exist",
        'strategy = "LINEAR"',
        'strategy = "ROLLING"',
        "environments.prod.ecs_release.strategy: expected one of 'BLUE_GREEN', 'CANARY', 'LINEAR', got 'ROLLING'",
    ),
    (
        "prod-all-at-once-under-ecs",
        f'strategy = "LINEAR"\n{PROD_LINEAR}',
        'strategy = "BLUE_GREEN"\nbake_minutes = 20',
        "environments.prod.ecs_release.strategy: expected 'CANARY' or 'LINEAR' in prod "
        "(BLUE_GREEN shifts every user at once), got 'BLUE_GREEN'",
    ),
    (
        "linear-without-its-step",
        PROD_LINEAR,
        "linear_interval_minutes = 3\nbake_minutes = 20",
        "environments.prod.ecs_release.linear_step_percent: expected a whole number from 3 to 50, "
        "got nothing (the key is missing)",
    ),
    (
        "canary-without-its-percent",
        "canary_percent = 10\n",
        "",
        "environments.staging.ecs_release.canary_percent: expected a whole number from 1 to 99, "
        "got nothing (the key is missing)",
    ),
    (
        "setting-of-another-strategy",
        PROD_LINEAR,
        f"{PROD_LINEAR}\ncanary_percent = 10",
        "environments.prod.ecs_release.canary_percent: expected no canary_percent with strategy 'LINEAR' "
        "(it belongs to 'CANARY'), got 10",
    ),
    (
        "bake-longer-than-cloudformation-waits",
        PROD_LINEAR,
        "linear_step_percent = 20\nlinear_interval_minutes = 120\nbake_minutes = 1400",
        "environments.prod.ecs_release.bake_minutes: expected at most 1380 minutes: CloudFormation, which runs "
        "the release, rejects an ECS strategy longer than 1980 minutes, and this release shifts traffic for "
        "600 minutes, got 1400",
    ),
    (
        # The steps alone (34 of 3 %, an hour apart) pass CloudFormation's limit: the interval is the key to change.
        "linear-interval-longer-than-cloudformation-waits",
        PROD_LINEAR,
        "linear_step_percent = 3\nlinear_interval_minutes = 60\nbake_minutes = 20",
        "environments.prod.ecs_release.linear_interval_minutes: expected at most 58 minutes for 34 steps of 3 %: "
        "CloudFormation, which runs the release, rejects an ECS strategy longer than 1980 minutes, got 60",
    ),
    (
        "codedeploy-setting-under-ecs",
        'release_controller = "ecs"\nalb_internet_facing = true\ntest_listener_port = 9000\nlog_retention_days = 365',
        'release_controller = "ecs"\ntermination_wait_minutes = 60\nalb_internet_facing = true\n'
        "test_listener_port = 9000\nlog_retention_days = 365",
        "environments.prod.termination_wait_minutes: expected no CodeDeploy setting when release_controller is "
        "'ecs' (set [environments.prod.ecs_release] instead), got 60",
    ),
]


def write_config(tmp_path: Path, old: str, new: str, base: str = SANDBOX) -> Path:
    assert base.count(old) >= 1, f"the configuration no longer contains {old!r}"
    path = tmp_path / "bad.toml"
    path.write_text(base.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"), [case[1:] for case in ECS_CASES], ids=[case[0] for case in ECS_CASES]
)
def test_bad_ecs_release_gives_one_exact_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_config(tmp_path, old, new, base=ECS_NATIVE)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {expected}"


def test_ecs_native_configuration_releases_every_environment_through_ecs() -> None:
    config = load_config(ROOT / "config" / "ecs-native.toml")
    releases = {environment.name: environment.ecs_release for environment in config.environments}
    assert {name: release.strategy for name, release in releases.items() if release} == {
        "dev": "BLUE_GREEN",
        "staging": "CANARY",
        "prod": "LINEAR",
    }
    sandbox = load_config(ROOT / "config" / "sandbox.toml")
    assert config.accounts == sandbox.accounts, "the second configuration uses the same sandbox accounts"
    assert all(environment.release_controller == "codedeploy" for environment in sandbox.environments)


@pytest.mark.parametrize(("old", "new", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_value_gives_one_exact_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_config(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {expected.replace('<file>', str(path))}"
    assert "\n" not in str(raised.value)


def test_missing_file_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"^.*nope\.toml: cannot read the configuration file: no such file$"):
        load_config(path)


def test_invalid_toml_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('project = "delivery-ref\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: not valid TOML: ")
    assert "\n" not in str(raised.value)


def test_sandbox_configuration_is_valid_and_complete(config) -> None:  # type: ignore[no-untyped-def]
    assert config.accounts.all == ("111111111111", "222222222222", "333333333333", "444444444444")
    assert [environment.name for environment in config.environments] == ["dev", "staging", "prod"]
    assert config.environment("prod").termination_wait_minutes == 60


def test_endpoint_zones_default_to_every_zone_and_the_sandbox_keeps_one_in_dev_and_staging(
    config,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    assert {e.name: (e.endpoint_azs, e.max_azs) for e in config.environments} == {
        "dev": (1, 2),
        "staging": (1, 2),
        "prod": (3, 3),
    }
    without = load_config(write_config(tmp_path, "endpoint_azs = 1\ndesired_count = 1", "desired_count = 1"))
    assert without.environment("dev").endpoint_azs == 2, "a file without the key keeps one endpoint per zone"


def test_a_valid_key_read_later_is_not_taken_for_a_typo_of_an_optional_one(tmp_path: Path) -> None:
    """test_listener_cidr looks like test_listener_port; without the port it is still a valid key."""
    path = write_config(
        tmp_path,
        "test_listener_port = 9000\nlog_retention_days = 30",
        'log_retention_days = 30\ntest_listener_cidr = "10.10.0.0/24"',
    )
    assert load_config(path).environment("dev").test_listener_cidr == "10.10.0.0/24"


def test_sandbox_stage_conditions_bake_longer_towards_prod_and_window_prod(config) -> None:  # type: ignore[no-untyped-def]
    dev, staging, prod = (config.environment(name) for name in ("dev", "staging", "prod"))
    assert (dev.rollback_on_failure, staging.rollback_on_failure, prod.rollback_on_failure) == (False, True, True)
    assert dev.bake_minutes == 0 < staging.bake_minutes < prod.bake_minutes
    assert dev.deployment_window is None and staging.deployment_window is None
    assert prod.deployment_window is not None and prod.deployment_window.time_zone == "Europe/Dublin"


def test_prod_gets_a_window_and_a_bake_when_the_file_names_none(tmp_path: Path) -> None:
    """A configuration written before stage conditions existed still gets the safe prod defaults."""
    text = SANDBOX
    for line in (
        "bake_minutes = 14\n",
        'deployment_window = { cron = "* * 9-16 ? * MON-FRI", time_zone = "Europe/Dublin" }\n',
        "bake_alarm_names = []\n",
    ):
        assert line in text
        text = text.replace(line, "", 1)
    path = tmp_path / "older.toml"
    path.write_text(text)
    prod = load_config(path).environment("prod")
    assert prod.bake_minutes == 14 and prod.rollback_on_failure
    assert prod.deployment_window is not None and prod.deployment_window.time_zone == "UTC"


def test_a_byte_order_mark_is_read_as_nothing(tmp_path: Path) -> None:
    """Windows editors may start a UTF-8 file with one; it is not a key, and the file reads as without it."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SANDBOX.encode())
    assert dataclasses.replace(load_config(path), source="") == dataclasses.replace(
        load_config(ROOT / "config" / "sandbox.toml"), source=""
    )


def test_a_connection_created_in_another_region_is_accepted(tmp_path: Path) -> None:
    """A connection is global: the region in its ARN is where it was created, and any region may use it."""
    path = write_config(
        tmp_path, "arn:aws:codeconnections:eu-west-1:111111111111:", "arn:aws:codeconnections:us-east-1:111111111111:"
    )
    assert load_config(path).pipeline.connection_arn.split(":")[3] == "us-east-1"


def test_oidc_subjects_name_the_github_repository_in_any_case(tmp_path: Path) -> None:
    """GitHub's owner and repository names are not case-sensitive, so a subject may spell them as GitHub does."""
    path = write_config(
        tmp_path,
        'subjects = ["repo:example-org/delivery-reference:pull_request"]',
        'subjects = ["repo:Example-Org/Delivery-Reference:pull_request"]',
    )
    assert load_config(path).oidc.roles[1].subjects == ("repo:Example-Org/Delivery-Reference:pull_request",)


def test_each_environment_reads_its_availability_zones(config) -> None:  # type: ignore[no-untyped-def]
    zones = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert {environment.name: environment.availability_zones for environment in config.environments} == {
        "dev": zones,
        "staging": zones,
        "prod": zones,
    }
