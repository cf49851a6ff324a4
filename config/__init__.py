"""Project configuration: one TOML file read into frozen, validated dataclasses."""

from config.oidc import OidcConfig, OidcRoleConfig
from config.reader import ConfigError
from config.settings import (
    DEFAULT_CONFIG_PATH,
    TARGET_ENVIRONMENTS,
    AccountsConfig,
    Config,
    EnvironmentConfig,
    GithubConfig,
    PipelineConfig,
    ServiceConfig,
    load_config,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "TARGET_ENVIRONMENTS",
    "AccountsConfig",
    "Config",
    "ConfigError",
    "EnvironmentConfig",
    "GithubConfig",
    "OidcConfig",
    "OidcRoleConfig",
    "PipelineConfig",
    "ServiceConfig",
    "load_config",
]
