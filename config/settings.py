"""The project's configuration schema and its validation.

One TOML file (``config/sandbox.toml`` by default) becomes one frozen :class:`Config`.
Every rule a value must follow lives here, so ``app.py``, the tests and a user's own
configuration go through the same checks and get the same one-line errors.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import itertools
import json
import math
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from config.oidc import OidcConfig, read_oidc
from config.patterns import (
    ACCOUNT_ID,
    CERTIFICATE_ARN,
    CONNECTION_ARN,
    EMAIL,
    GIT_BRANCH,
    GITHUB_OWNER,
    GITHUB_REPO,
    HEALTH_PATH,
    IAM_POLICY_NAME,
    IMAGE_TAG,
    PROJECT_NAME,
    SECRET_NAME,
    SERVICE_NAME,
    TAG_VALUE,
)
from config.reader import ConfigError, TableReader

DEFAULT_CONFIG_PATH = "config/sandbox.toml"

#: The target accounts, in release order. The tools account is not one of them.
TARGET_ENVIRONMENTS = ("dev", "staging", "prod")

#: CodeDeploy's predefined ECS deployment configurations, by the name used in the config.
DEPLOYMENT_CONFIGS = (
    "CANARY_10PERCENT_5MINUTES",
    "CANARY_10PERCENT_15MINUTES",
    "LINEAR_10PERCENT_EVERY_1MINUTES",
    "LINEAR_10PERCENT_EVERY_3MINUTES",
    "ALL_AT_ONCE",
)
#: Who runs a release: CodeDeploy (the CODE_DEPLOY controller) or Amazon ECS itself (the ECS controller).
RELEASE_CONTROLLERS = ("codedeploy", "ecs")
#: ECS-native strategies (ECS developer guide, deployment-type-blue-green and canary/linear pages).
ECS_STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
#: An ECS-native release runs inside the Infrastructure action's CloudFormation update, which waits
#: for the whole ECS strategy. CloudFormation rejects a canary or linear strategy whose bake and shift
#: times add up to more than 33 hours (CloudFormation template reference, AWS::ECS::Service
#: CanaryConfiguration and LinearConfiguration: "operations time out after 36 hours").
CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES = 33 * 60
#: The longest a CodeBuild build may run (CodeBuild API reference, timeoutInMinutes: 5 to 2160).
CODEBUILD_TIMEOUT_LIMIT_MINUTES = 2160
#: What the Infrastructure action spends besides an ECS release: installing the CLI and updating the
#: environment's other stacks. Its CodeBuild timeout is this plus the environment's longest release.
INFRASTRUCTURE_DEPLOY_MINUTES = 60
#: What an ECS-native release spends besides shifting and baking: the new tasks start and pass
#: two health checks, and the test-traffic hook probes them (at most about four minutes).
ECS_RELEASE_OVERHEAD_MINUTES = 15
#: The alarms a blue/green deployment group can watch; see docs/ecs-blue-green.md.
ALARMS = ("target_5xx", "unhealthy_hosts", "target_response_time")
DEFAULT_ALARMS = ("target_5xx", "unhealthy_hosts")
SCAN_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
#: Where a failed deploy stage must roll back by itself; elsewhere ``rollback_on_failure`` chooses.
ROLLBACK_REQUIRED = ("staging", "prod")
#: Bake minutes by environment when the configuration says nothing: none in dev, short in staging, longer in prod.
DEFAULT_BAKE_MINUTES = {"dev": 0, "staging": 5, "prod": 14}
#: The bake runs inside one invocation of the rule's Lambda function, which Lambda stops after 15 minutes.
MAX_BAKE_MINUTES = 14
#: CloudWatch alarm names: 1 to 255 printable characters (no control characters).
ALARM_NAME = r"[^\x00-\x1f\x7f]{1,255}"
#: Prod is entered on weekdays from 09:00 to 16:59 UTC when the configuration names no window.
DEFAULT_PROD_WINDOW = ("* * 9-16 ? * MON-FRI", "UTC")
CRON_EXPECTED = (
    "a cron expression of 6 or 7 fields (seconds as *, minutes 0-59, hours 0-23, day-of-month 1-31, "
    "month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT, optional year 1970-2199)"
)
TIME_ZONE = r"UTC|[A-Z][A-Za-z_+-]*(?:/[A-Za-z0-9_+-]+){1,2}"
# fmt: off
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# fmt: on
#: Addresses AWS keeps in every subnet.
AWS_RESERVED_ADDRESSES = 5
#: Addresses in each task subnet that are not tasks: one per interface endpoint (six, see
#: components/network) and the lifecycle hook's, plus one spare. tests/architecture/test_network.py keeps it true.
ADDRESSES_BESIDES_TASKS = 8
# Fargate CPU units and the memory sizes (MiB) each one accepts.
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


@dataclass(frozen=True)
class AccountsConfig:
    tools: str
    dev: str
    staging: str
    prod: str

    def target(self, environment: str) -> str:
        return {"dev": self.dev, "staging": self.staging, "prod": self.prod}[environment]

    def named(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The ids of the accounts called ``tools``, ``dev``, ``staging`` or ``prod`` in ``names``."""
        return tuple(self.tools if name == "tools" else self.target(name) for name in names)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.target(name) for name in TARGET_ENVIRONMENTS)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.tools, *self.targets)


@dataclass(frozen=True)
class GithubConfig:
    owner: str
    repo: str
    branch: str


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    container_port: int
    health_check_path: str
    initial_image_tag: str
    secret_name: str
    #: Customer managed IAM policies (by name, present in every target account) for the task role.
    task_policy_names: tuple[str, ...]


@dataclass(frozen=True)
class PipelineConfig:
    connection_arn: str
    approval_email: str
    scan_fail_severity: str
    release_images_to_keep: int
    artifact_retention_days: int


@dataclass(frozen=True)
class EcsReleaseConfig:
    """An ECS-native release: the strategy, its settings, and the bake after the last shift."""

    strategy: str
    canary_percent: int | None
    canary_bake_minutes: int | None
    linear_step_percent: int | None
    linear_interval_minutes: int | None
    bake_minutes: int

    @property
    def shift_minutes(self) -> int:
        """Minutes from the first production shift to the last one."""
        if self.strategy == "CANARY":
            return self.canary_bake_minutes or 0
        if self.strategy == "LINEAR":
            assert self.linear_step_percent and self.linear_interval_minutes is not None
            return math.ceil(100 / self.linear_step_percent) * self.linear_interval_minutes
        return 0

    @property
    def longest_minutes(self) -> int:
        """The longest a release runs before ECS calls it complete: what the Infrastructure action must wait for."""
        return self.shift_minutes + self.bake_minutes + ECS_RELEASE_OVERHEAD_MINUTES


@dataclass(frozen=True)
class DeploymentWindowConfig:
    """When the pipeline may enter an environment's deploy stage: CodePipeline's DeploymentWindow rule."""

    #: Six or seven fields: seconds minutes hours day-of-month month day-of-week [year].
    cron: str
    #: An IANA time zone name (``Europe/Dublin``) or ``UTC``.
    time_zone: str


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    account: str
    vpc_cidr: str
    max_azs: int
    #: The account's availability zone names in the region, in the order the VPC takes them (the
    #: first ``max_azs``). Names map to physical zones per account, and each environment is one account.
    availability_zones: tuple[str, ...]
    #: The interface endpoints' zones: the first endpoint_azs of the max_azs (docs/network.md, "Endpoint zones").
    endpoint_azs: int
    desired_count: int
    cpu: int
    memory_mib: int
    deployment_config: str
    termination_wait_minutes: int
    alb_internet_facing: bool
    certificate_arn: str | None
    test_listener_port: int
    test_listener_cidr: str | None
    log_retention_days: int
    alarms: tuple[str, ...]
    rollback_on_alarm: bool
    #: "codedeploy" or "ecs" (see RELEASE_CONTROLLERS); ecs_release is set exactly when it is "ecs".
    release_controller: str = "codedeploy"
    ecs_release: EcsReleaseConfig | None = None
    #: The most tasks Application Auto Scaling may run; desired_count is the fewest.
    max_count: int = 1
    #: The pipeline stage conditions (pipelines/stage_conditions.py, docs/deploy.md).
    #: A failed deploy stage rolls back to the stage's last successful release.
    rollback_on_failure: bool = True
    #: Minutes the health alarms are watched after the deploy stage succeeded; 0 means no bake.
    bake_minutes: int = 0
    #: Alarms of the environment's account watched during the bake besides the release health alarms.
    bake_alarm_names: tuple[str, ...] = ()
    #: The stage is entered only inside this window; None means at any time.
    deployment_window: DeploymentWindowConfig | None = None

    @property
    def title(self) -> str:
        """The environment's name as used in stack names and construct ids (``Dev``)."""
        return self.name.capitalize()

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def production_port(self) -> int:
        return 443 if self.certificate_arn else 80


@dataclass(frozen=True)
class Config:
    source: str
    project: str
    owner: str
    region: str
    accounts: AccountsConfig
    github: GithubConfig
    service: ServiceConfig
    pipeline: PipelineConfig
    environments: tuple[EnvironmentConfig, ...]
    oidc: OidcConfig

    def environment(self, name: str) -> EnvironmentConfig:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise KeyError(name)


@lru_cache(maxsize=1)
def aws_regions() -> frozenset[str]:
    """Region names of the standard ``aws`` partition, from botocore's endpoint data (offline).

    Only that partition: the project writes its ARNs and service principals for it. The file
    is read directly, because importing boto3 only for this list would cost more than the
    rest of the configuration loading.
    """
    spec = importlib.util.find_spec("botocore")
    assert spec is not None and spec.submodule_search_locations, "botocore is a pinned dependency"
    endpoints = Path(spec.submodule_search_locations[0]) / "data" / "endpoints.json"
    partitions = json.loads(endpoints.read_text())["partitions"]
    return frozenset(
        region for partition in partitions if partition["partition"] == "aws" for region in partition["regions"]
    )


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate one configuration file. Raises :class:`ConfigError` with one line."""
    return parse_config(str(path), read_toml(path))


def load_targets(path: str | Path) -> tuple[str, dict[str, str]]:
    """Only the region and the target accounts by environment name, validated as :func:`load_config` does.

    For ``python -m config.availability_zones``, which fills in the rest of a configuration being written.
    """
    top = TableReader(str(path), "", read_toml(path))
    region = _read_region(top)
    accounts = _read_accounts(top.table("accounts"))
    return region, {name: accounts.target(name) for name in TARGET_ENVIRONMENTS}


def read_toml(path: str | Path) -> dict[str, object]:
    """The file's TOML document, or :class:`ConfigError` with one line."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: cannot read the configuration file: no such file") from None
    except OSError as error:
        raise ConfigError(f"{source}: cannot read the configuration file: {error.strerror}") from None
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is read as nothing, not as a key.
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    return data


def parse_config(source: str, data: dict[str, object]) -> Config:
    top = TableReader(source, "", data)
    project = top.string(
        "project",
        pattern=PROJECT_NAME,
        expected="3 to 24 lowercase letters, digits or single hyphens, starting with a letter",
    )
    owner = top.string(
        "owner", pattern=TAG_VALUE, expected="a tag value (1 to 256 letters, digits, spaces or _.:/=+-@)"
    )
    region = _read_region(top)
    accounts = _read_accounts(top.table("accounts"))
    github = _read_github(top.table("github"))
    service = _read_service(top.table("service"))
    pipeline = _read_pipeline(top.table("pipeline"), accounts)
    environments = _read_environments(top.table("environments"), accounts, region)
    oidc = read_oidc(top.table("oidc"), github_owner=github.owner, github_repo=github.repo)
    top.done()
    return Config(
        source=source,
        project=project,
        owner=owner,
        region=region,
        accounts=accounts,
        github=github,
        service=service,
        pipeline=pipeline,
        environments=environments,
        oidc=oidc,
    )


def _read_region(top: TableReader) -> str:
    return top.string(
        "region",
        pattern=r"[a-z]{2}(?:-[a-z]+)+-\d",
        expected="an AWS region name such as 'eu-west-1'",
        check=lambda value: value in aws_regions(),
    )


def _read_accounts(table: TableReader) -> AccountsConfig:
    expected = "a 12-digit AWS account id"
    ids = {name: table.string(name, pattern=ACCOUNT_ID, expected=expected) for name in ("tools", *TARGET_ENVIRONMENTS)}
    table.done()
    for (first, first_id), (second, second_id) in itertools.combinations(ids.items(), 2):
        if first_id == second_id:
            raise table.error(second, f"an account id different from accounts.{first}", second_id)
    return AccountsConfig(**ids)


def _read_github(table: TableReader) -> GithubConfig:
    github = GithubConfig(
        owner=table.string(
            "owner",
            pattern=GITHUB_OWNER,
            expected="a GitHub user or organization name (letters, digits, single hyphens)",
        ),
        repo=table.string("repo", pattern=GITHUB_REPO, expected="a GitHub repository name (letters, digits, . _ -)"),
        branch=table.string("branch", pattern=GIT_BRANCH, expected="a git branch name without wildcards"),
    )
    table.done()
    return github


def _read_service(table: TableReader) -> ServiceConfig:
    service = ServiceConfig(
        name=table.string(
            "name",
            pattern=SERVICE_NAME,
            expected="1 to 24 lowercase letters, digits or single hyphens, starting with a letter",
        ),
        container_port=table.integer("container_port", minimum=1024, maximum=65535),
        health_check_path=table.string(
            "health_check_path", pattern=HEALTH_PATH, expected="a URL path starting with '/'", default="/healthz"
        ),
        initial_image_tag=table.string(
            "initial_image_tag", pattern=IMAGE_TAG, expected="an image tag other than 'latest' (letters, digits, _ . -)"
        ),
        secret_name=table.string(
            "secret_name",
            pattern=SECRET_NAME,
            expected="a Secrets Manager secret name that does not end in a hyphen and six characters",
        ),
        task_policy_names=table.string_list(
            "task_policy_names",
            pattern=IAM_POLICY_NAME,
            expected="names of customer managed IAM policies (letters, digits, +=,.@_-; up to 128)",
            default=[],
        ),
    )
    table.done()
    return service


def _read_pipeline(table: TableReader, accounts: AccountsConfig) -> PipelineConfig:
    connection_arn = table.string(
        "connection_arn",
        pattern=CONNECTION_ARN,
        expected="a CodeStar/CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)",
    )
    # The pipeline runs in the tools account, and its Source action uses the connection of that account
    # (docs/deploy.md, "Bootstrap"). The ARN's region is only where the connection was created: a connection
    # is a global resource that any region can use (Developer Tools console user guide, "Global resources in
    # AWS CodeConnections": https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections-how-it-works-global.html),
    # so the region is not checked.
    connection_account = connection_arn.split(":")[4]
    if connection_account != accounts.tools:
        raise table.error(
            "connection_arn",
            f"a connection of the tools account {accounts.tools} (accounts.tools), where the pipeline runs; "
            f"this one is of account {connection_account}",
            connection_arn,
        )
    pipeline = PipelineConfig(
        connection_arn=connection_arn,
        approval_email=table.string("approval_email", pattern=EMAIL, expected="an email address"),
        scan_fail_severity=table.choice("scan_fail_severity", SCAN_SEVERITIES, default="CRITICAL"),
        release_images_to_keep=table.integer("release_images_to_keep", minimum=1, maximum=1000, default=30),
        artifact_retention_days=table.integer("artifact_retention_days", minimum=1, maximum=3650, default=90),
    )
    table.done()
    return pipeline


def _read_environments(table: TableReader, accounts: AccountsConfig, region: str) -> tuple[EnvironmentConfig, ...]:
    names = table.keys()
    for name in names:
        if name not in TARGET_ENVIRONMENTS:
            expected = ", ".join(TARGET_ENVIRONMENTS)
            raise ConfigError(f"{table.source}: {table.key(name)}: unknown environment (expected one of: {expected})")
    environments = []
    for name in TARGET_ENVIRONMENTS:
        if name not in names:
            raise table.error(name, f"a table [environments.{name}]")
        environments.append(_read_environment(table.table(name), name, accounts.target(name), region))
    for first, second in itertools.combinations(environments, 2):
        if ipaddress.ip_network(first.vpc_cidr).overlaps(ipaddress.ip_network(second.vpc_cidr)):
            raise ConfigError(
                f"{table.source}: environments.{second.name}.vpc_cidr: expected a CIDR that does not overlap "
                f"environments.{first.name}.vpc_cidr ({first.vpc_cidr}), got {second.vpc_cidr!r}"
            )
    return tuple(environments)


def _is_private_cidr(value: str, *, smallest: int, largest: int) -> bool:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    private_blocks = [ipaddress.ip_network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    return (
        network.version == 4
        and largest <= network.prefixlen <= smallest
        and any(network.subnet_of(block) for block in private_blocks)  # type: ignore[arg-type]
    )


def _most_tasks(vpc_cidr: str, max_azs: int) -> int:
    """The largest desired count whose blue and green task sets both fit in the task subnets.

    The VPC is split evenly into one public and one task subnet per AZ (the CIDR divided by
    the next power of two), AWS reserves five addresses per subnet, and each task subnet
    also holds the interface endpoints' and the lifecycle hook's network interfaces.
    """
    subnets = 2 * max_azs
    prefix = ipaddress.ip_network(vpc_cidr).prefixlen + (subnets - 1).bit_length()
    for_tasks: int = (1 << (32 - prefix)) - AWS_RESERVED_ADDRESSES - ADDRESSES_BESIDES_TASKS
    return max_azs * (for_tasks // 2)


def _read_environment(table: TableReader, name: str, account: str, region: str) -> EnvironmentConfig:
    vpc_cidr = table.string(
        "vpc_cidr",
        pattern=r"[0-9./]+",
        expected="a private IPv4 CIDR (10/8, 172.16/12 or 192.168/16) from /16 to /24",
        check=lambda value: _is_private_cidr(value, smallest=24, largest=16),
    )
    cpu = table.choice("cpu", tuple(FARGATE_MEMORY), default=256)
    memory = table.integer("memory_mib", minimum=512, maximum=30720, default=512)
    if memory not in FARGATE_MEMORY[cpu]:
        allowed = ", ".join(str(m) for m in FARGATE_MEMORY[cpu])
        raise table.error("memory_mib", f"a Fargate memory size for cpu {cpu} ({allowed})", memory)
    release_controller = table.choice("release_controller", RELEASE_CONTROLLERS, default="codedeploy")
    if release_controller == "ecs":
        for codedeploy_only in ("deployment_config", "termination_wait_minutes"):
            if table.has(codedeploy_only):
                raise table.error(
                    codedeploy_only,
                    "no CodeDeploy setting when release_controller is 'ecs' (set [environments."
                    f"{name}.ecs_release] instead)",
                    _raw(table, codedeploy_only),
                )
        ecs_release: EcsReleaseConfig | None = _read_ecs_release(table.table("ecs_release"), name)
    else:
        if table.has("ecs_release"):
            raise ConfigError(
                f"{table.source}: {table.key('ecs_release')}: expected no [ecs_release] table when "
                "release_controller is 'codedeploy' (set release_controller = 'ecs' to use it)"
            )
        ecs_release = None
    deployment_config = table.choice("deployment_config", DEPLOYMENT_CONFIGS, default="CANARY_10PERCENT_5MINUTES")
    if name == "prod" and deployment_config == "ALL_AT_ONCE":
        raise table.error(
            "deployment_config",
            "a canary or linear configuration in prod (all-at-once shifts every user at once)",
            deployment_config,
        )
    certificate_arn = table.optional_string(
        "certificate_arn",
        pattern=CERTIFICATE_ARN,
        # ACM certificates are regional and cannot be used from another account.
        expected=f"an ACM certificate ARN of region {region} and account {account}",
        check=lambda value: value.split(":")[3:5] == [region, account],
    )
    test_listener_port = table.integer("test_listener_port", minimum=1, maximum=65535, default=9000)
    if certificate_arn and test_listener_port in (443, 80):
        # With a certificate, port 80 answers with a redirect to HTTPS on 443.
        raise table.error(
            "test_listener_port",
            "a port other than 443 (the production listener) and 80 (its redirect to HTTPS)",
            test_listener_port,
        )
    if not certificate_arn and test_listener_port == 80:
        raise table.error(
            "test_listener_port", "a port other than the production listener's port 80", test_listener_port
        )
    test_listener_cidr = table.optional_string(
        "test_listener_cidr",
        pattern=r"[0-9./]+",
        expected="a private IPv4 CIDR (the plain-HTTP test listener is never public)",
        check=lambda value: _is_private_cidr(value, smallest=32, largest=8),
    )
    max_azs = table.integer("max_azs", minimum=2, maximum=3, default=2)
    availability_zones = _read_availability_zones(table, account=account, region=region, max_azs=max_azs)
    endpoint_azs = _read_endpoint_azs(table, name, max_azs)
    desired_count = table.integer("desired_count", minimum=1, maximum=50, default=1)
    max_count = table.integer("max_count", minimum=1, maximum=50, default=desired_count)
    if max_count < desired_count:
        raise table.error("max_count", f"at least desired_count ({desired_count})", max_count)
    most_tasks = _most_tasks(vpc_cidr, max_azs)
    for key, count in (("desired_count", desired_count), ("max_count", max_count)):
        if count > most_tasks:
            raise table.error(
                key,
                f"at most {most_tasks} tasks for vpc_cidr {vpc_cidr} over {max_azs} AZs "
                "(a release runs the blue and green task sets side by side)",
                count,
            )
    alarms = table.string_list(
        "alarms",
        pattern="|".join(ALARMS),
        expected="alarm names (" + ", ".join(ALARMS) + ")",
        default=list(DEFAULT_ALARMS),
    )
    rollback_on_alarm = table.boolean("rollback_on_alarm", default=True)
    if rollback_on_alarm and not alarms:
        raise table.error("alarms", "at least one alarm when rollback_on_alarm is true", [])
    rollback_on_failure = table.boolean("rollback_on_failure", default=name in ROLLBACK_REQUIRED)
    if name in ROLLBACK_REQUIRED and not rollback_on_failure:
        raise table.error(
            "rollback_on_failure",
            "true in staging and prod (a failed release there rolls back by itself)",
            rollback_on_failure,
        )
    bake_minutes = table.integer(
        "bake_minutes", minimum=0, maximum=MAX_BAKE_MINUTES, default=DEFAULT_BAKE_MINUTES[name]
    )
    bake_alarm_names = table.string_list(
        "bake_alarm_names",
        pattern=ALARM_NAME,
        expected="CloudWatch alarm names of this environment's account (1 to 255 printable characters)",
        default=[],
    )
    if bake_alarm_names and not bake_minutes:
        raise table.error("bake_minutes", "at least 1 when bake_alarm_names is not empty", bake_minutes)
    deployment_window = _read_deployment_window(table, name)
    environment = EnvironmentConfig(
        name=name,
        account=account,
        vpc_cidr=vpc_cidr,
        max_azs=max_azs,
        availability_zones=availability_zones,
        endpoint_azs=endpoint_azs,
        desired_count=desired_count,
        cpu=cpu,
        memory_mib=memory,
        deployment_config=deployment_config,
        termination_wait_minutes=table.integer("termination_wait_minutes", minimum=0, maximum=2880, default=5),
        alb_internet_facing=table.boolean("alb_internet_facing", default=True),
        certificate_arn=certificate_arn,
        test_listener_port=test_listener_port,
        test_listener_cidr=test_listener_cidr,
        log_retention_days=table.choice("log_retention_days", LOG_RETENTION_DAYS, default=30),
        alarms=alarms,
        rollback_on_alarm=rollback_on_alarm,
        release_controller=release_controller,
        ecs_release=ecs_release,
        max_count=max_count,
        rollback_on_failure=rollback_on_failure,
        bake_minutes=bake_minutes,
        bake_alarm_names=bake_alarm_names,
        deployment_window=deployment_window,
    )
    table.done()
    return environment


def _read_availability_zones(table: TableReader, *, account: str, region: str, max_azs: int) -> tuple[str, ...]:
    """``availability_zones``: the names the VPC spreads over, written down so that a synth asks AWS nothing.

    Without them the CDK would look the zones up at synth time with credentials of the account (its
    ``availability-zones`` context). A name such as ``eu-west-1a`` maps to a physical zone per account
    (https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html); an environment is one
    account, so its own names are the right ones. ``python -m config.availability_zones`` looks them up.
    """
    example = ", ".join(f'"{region}{letter}"' for letter in "abc"[:max_azs])
    zones = table.string_list(
        "availability_zones",
        pattern=rf"{re.escape(region)}[a-z]",
        expected=f"availability zone names of {region} ({region} and a letter)",
        missing=(
            f"the names of account {account}'s availability zones in {region}, at least max_azs ({max_azs}): "
            f"add availability_zones = [{example}, ...] (python -m config.availability_zones --config "
            f"{table.source} prints them)"
        ),
    )
    if len(zones) < max_azs:
        raise table.error("availability_zones", f"at least max_azs ({max_azs}) availability zone names", list(zones))
    return zones


def _read_endpoint_azs(table: TableReader, name: str, max_azs: int) -> int:
    """How many zones the interface endpoints span: all max_azs unless the file says fewer; all in prod.

    A task in a zone without an endpoint reaches it in another zone; if that zone fails, the task
    loses ECR, logs and secrets until it returns. Prod keeps one endpoint per zone for that reason.
    """
    endpoint_azs = table.integer("endpoint_azs", minimum=1, maximum=3, default=max_azs)
    if endpoint_azs > max_azs:
        raise table.error(
            "endpoint_azs", f"at most max_azs ({max_azs}): the endpoints sit in the VPC's zones", endpoint_azs
        )
    if name == "prod" and endpoint_azs != max_azs:
        raise table.error(
            "endpoint_azs",
            f"max_azs ({max_azs}) in prod "
            "(a zone failure must not cut the other zones' tasks off ECR, logs and secrets)",
            endpoint_azs,
        )
    return endpoint_azs


def _raw(table: TableReader, name: str) -> object:
    """The value the file sets for ``name``, for an error message about a key that is not allowed."""
    return table.raw(name)


def _read_ecs_release(table: TableReader, environment: str) -> EcsReleaseConfig:
    """``[environments.<name>.ecs_release]``: the strategy and exactly the settings it uses."""
    strategy = table.choice("strategy", ECS_STRATEGIES)
    if environment == "prod" and strategy == "BLUE_GREEN":
        raise table.error("strategy", "'CANARY' or 'LINEAR' in prod (BLUE_GREEN shifts every user at once)", strategy)
    settings = {
        "CANARY": ("canary_percent", "canary_bake_minutes"),
        "LINEAR": ("linear_step_percent", "linear_interval_minutes"),
        "BLUE_GREEN": (),
    }
    for other, keys in settings.items():
        for key in keys:
            if other != strategy and table.has(key):
                raise table.error(
                    key, f"no {key} with strategy {strategy!r} (it belongs to {other!r})", _raw(table, key)
                )
    canary_percent = canary_bake = step = interval = None
    if strategy == "CANARY":
        # ECS takes multiples of 0.1 from 0.1 to 100 (API reference, CanaryConfiguration); whole
        # percents below 100 keep the canary a canary.
        canary_percent = table.integer("canary_percent", minimum=1, maximum=99)
        canary_bake = table.integer("canary_bake_minutes", minimum=1, maximum=1440)
    elif strategy == "LINEAR":
        # ECS takes 3 to 100 percent per step (API reference, LinearConfiguration); at most 50
        # keeps it at two steps or more.
        step = table.integer("linear_step_percent", minimum=3, maximum=50)
        interval = table.integer("linear_interval_minutes", minimum=1, maximum=1440)
    bake = table.integer("bake_minutes", minimum=0, maximum=1440)
    release = EcsReleaseConfig(
        strategy=strategy,
        canary_percent=canary_percent,
        canary_bake_minutes=canary_bake,
        linear_step_percent=step,
        linear_interval_minutes=interval,
        bake_minutes=bake,
    )
    # The CodeBuild limit (2160) is further than CloudFormation's plus start-up, the test hook and the
    # other stacks (1980 + 15 + 60), so CloudFormation's is the one a configuration can reach.
    if release.strategy == "LINEAR" and release.shift_minutes > CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES:
        # The steps alone pass the limit: the interval between them is what to shorten, whatever the bake.
        # (A canary cannot: canary_bake_minutes stops at 1440.)
        assert step is not None
        steps = math.ceil(100 / step)
        raise table.error(
            "linear_interval_minutes",
            f"at most {CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES // steps} minutes for {steps} steps of {step} %: "
            "CloudFormation, which runs the release, rejects an ECS strategy longer than "
            f"{CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES} minutes",
            interval,
        )
    if release.shift_minutes + release.bake_minutes > CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES:
        longest_bake = CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES - release.shift_minutes
        raise table.error(
            "bake_minutes",
            f"at most {longest_bake} minutes: CloudFormation, which runs the release, rejects an ECS "
            f"strategy longer than {CLOUDFORMATION_ECS_STRATEGY_LIMIT_MINUTES} minutes, and this release shifts "
            f"traffic for {release.shift_minutes} minutes",
            bake,
        )
    table.done()
    return release


def _read_deployment_window(table: TableReader, name: str) -> DeploymentWindowConfig | None:
    """``deployment_window = { cron = "...", time_zone = "..." }``; prod always has one (a default if absent)."""
    if "deployment_window" not in table.keys_present():
        table.mark_read("deployment_window")
        if name == "prod":
            cron, time_zone = DEFAULT_PROD_WINDOW
            return DeploymentWindowConfig(cron=cron, time_zone=time_zone)
        return None
    window = table.table("deployment_window")
    result = DeploymentWindowConfig(
        cron=window.string("cron", pattern=r"[0-9A-Za-z*?,/#\- ]{1,256}", expected=CRON_EXPECTED, check=is_cron),
        time_zone=window.string(
            "time_zone",
            pattern=TIME_ZONE,
            expected="an IANA time zone name such as 'Europe/Dublin', or 'UTC'",
            check=_is_time_zone,
            default="UTC",
        ),
    )
    window.done()
    return result


def _is_time_zone(value: str) -> bool:
    """Known to the IANA database when this machine has it (zoneinfo reads it offline); the pattern otherwise."""
    known = zoneinfo.available_timezones()
    return value == "UTC" or not known or value in known


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (lowest, highest, names, extra single items) of each cron field after seconds, as the
# DeploymentWindow rule reference lists them.
_CRON_FIELDS: tuple[tuple[int, int, tuple[str, ...], str], ...] = (
    (0, 59, (), ""),  # minutes
    (0, 23, (), ""),  # hours
    (1, 31, (), r"\?|L|LW|L-\d{1,2}|\d{1,2}W"),  # day-of-month
    (1, 12, _MONTHS, ""),  # month
    (1, 7, _DAYS, r"\?|L|[1-7]L|[1-7]#[1-5]"),  # day-of-week
    (1970, 2199, (), ""),  # year
)


def _cron_value(token: str, lowest: int, highest: int, names: tuple[str, ...]) -> bool:
    if token.upper() in names:
        return True
    return token.isdigit() and lowest <= int(token) <= highest


def _cron_item(item: str, lowest: int, highest: int, names: tuple[str, ...], extra: str) -> bool:
    if item == "*" or (extra and re.fullmatch(extra, item)):
        return True
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and 0 < int(step) <= highest):
        return False
    if base == "*" and step:
        return True
    first, _, last = base.partition("-")
    return _cron_value(first, lowest, highest, names) and (not last or _cron_value(last, lowest, highest, names))


def is_cron(value: str) -> bool:
    """Whether ``value`` has the fields and characters the DeploymentWindow rule accepts.

    The rule reference (https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-DeploymentWindow.html)
    lists six required fields and an optional year; seconds accept only ``*``.
    """
    fields = value.split()
    if len(fields) not in (6, 7) or fields[0] != "*":
        return False
    return all(
        all(_cron_item(item, lowest, highest, names, extra) for item in field.split(","))
        for field, (lowest, highest, names, extra) in zip(fields[1:], _CRON_FIELDS, strict=False)
    )
