"""The session fixtures every suite of the project shares: the configurations and one synth of each.

The root ``conftest.py`` loads this module as a plugin (``pytest_plugins``), so a test reads the
same synth whichever suite it is in (tests/ or the rehearsal's tools/rehearsal/tests). The CDK is
imported when a synth is first asked for: the handler tests (tests/handlers), which the release
build also runs, never load it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from config import DEFAULT_CONFIG_PATH, Config, load_config

if TYPE_CHECKING:
    from tests.support import SynthesizedApp
    from tests.unacknowledged import Answer

#: The second committed configuration: every environment released by ECS itself.
ECS_NATIVE_CONFIG_PATH = "config/ecs-native.toml"
ROOT = Path(__file__).resolve().parent.parent
#: The configurations whose findings without acknowledgements the fixture below holds.
UNACKNOWLEDGED_CONFIGS = [DEFAULT_CONFIG_PATH, ECS_NATIVE_CONFIG_PATH]
_UNACKNOWLEDGED_PROCESS = pytest.StashKey[subprocess.Popen[str]]()
_SIDE_ANSWER = pytest.StashKey["Answer | None"]()


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(ROOT / DEFAULT_CONFIG_PATH)


@pytest.fixture(scope="session")
def synthesized(config: Config, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """One synth of the whole app with the sandbox configuration, shared by every test."""
    from tests.support import synthesize

    return synthesize(config, str(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="session")
def ecs_native_config() -> Config:
    return load_config(ROOT / ECS_NATIVE_CONFIG_PATH)


@pytest.fixture(scope="session")
def ecs_native(ecs_native_config: Config, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """One synth of the whole app with config/ecs-native.toml, shared by the tests of that design."""
    from tests.support import synthesize

    return synthesize(ecs_native_config, str(tmp_path_factory.mktemp("cdk.out.ecs-native")))


def start_unacknowledged(pytest_config: pytest.Config, *, day2: bool = False) -> None:
    """Start building the app without acknowledgements in a process of its own (tests/unacknowledged.py).

    ``tests/conftest.py`` calls it once collection is over, when a collected test needs the
    ``unacknowledged`` fixture (or, with ``day2``, the ``day2_templates`` one), so that the build
    runs while the session synthesizes and tests.
    """
    from tests.unacknowledged import start

    pytest_config.stash[_UNACKNOWLEDGED_PROCESS] = start(UNACKNOWLEDGED_CONFIGS, day2=day2)


def stop_unacknowledged(pytest_config: pytest.Config) -> None:
    """End the process of :func:`start_unacknowledged` if no test read it (a run stopped early)."""
    process = pytest_config.stash.get(_UNACKNOWLEDGED_PROCESS, None)
    if process is not None and process.poll() is None:
        process.kill()
        process.communicate()


def _side_answer(pytest_config: pytest.Config) -> Answer | None:
    """What the side process printed (read once), or None when the session did not start it."""
    from tests.unacknowledged import answer

    if _SIDE_ANSWER not in pytest_config.stash:
        process = pytest_config.stash.get(_UNACKNOWLEDGED_PROCESS, None)
        pytest_config.stash[_SIDE_ANSWER] = None if process is None else answer(process)
    return pytest_config.stash[_SIDE_ANSWER]


@pytest.fixture(scope="session")
def unacknowledged(request: pytest.FixtureRequest) -> dict[str, set[tuple[str, str]]]:
    """Every nag finding of each committed configuration with no acknowledgement applied, by config path."""
    from tests.unacknowledged import unacknowledged_findings

    side = _side_answer(request.config)
    if side is None:  # not started with the session (tools/rehearsal/tests): build them here
        return {path: unacknowledged_findings(path) for path in UNACKNOWLEDGED_CONFIGS}
    return side.unacknowledged


@pytest.fixture(scope="session")
def day2_templates(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    """The day-2 cases' templates by tests/day2_synths.key; the tests synthesize a case missing here."""
    side = _side_answer(request.config)
    return {} if side is None else dict(side.day2)
