"""One synth of the whole app with the sandbox configuration, shared by every test."""

from __future__ import annotations

import os

import pytest

from config import DEFAULT_CONFIG_PATH, Config, load_config
from scripts.docgen.model import AppModel, build_model
from tests.support import ROOT, SynthesizedApp, synthesize

#: The project's own Node 22 and CDK CLI (installed by make into node_modules), ahead of whatever the
#: machine has: `.venv/bin/pytest` without make must run the same toolchain as `make test`. A
#: machine's Node 20 prints an end-of-life banner into stderr that the CLI tests would see.
LOCAL_NODE_BIN = ROOT / "node_modules" / ".bin"
if LOCAL_NODE_BIN.is_dir() and os.environ.get("PATH", "").split(os.pathsep)[0] != str(LOCAL_NODE_BIN):
    os.environ["PATH"] = os.pathsep.join([str(LOCAL_NODE_BIN), os.environ.get("PATH", "")])


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(ROOT / DEFAULT_CONFIG_PATH)


@pytest.fixture(scope="session")
def synthesized(config: Config, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synthesize(config, str(tmp_path_factory.mktemp("cdk.out")))


#: The second committed configuration: every environment released by ECS itself.
ECS_NATIVE_CONFIG_PATH = "config/ecs-native.toml"


@pytest.fixture(scope="session")
def ecs_native_config() -> Config:
    return load_config(ROOT / ECS_NATIVE_CONFIG_PATH)


@pytest.fixture(scope="session")
def ecs_native(ecs_native_config: Config, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """One synth of the whole app with config/ecs-native.toml, shared by the tests of that design."""
    return synthesize(ecs_native_config, str(tmp_path_factory.mktemp("cdk.out.ecs-native")))


@pytest.fixture(scope="session")
def model(synthesized: SynthesizedApp, config: Config) -> AppModel:
    """What the docs generator reads from the shared synth (docs pages and the cost page)."""
    return build_model(synthesized.app, synthesized.assembly, config)
