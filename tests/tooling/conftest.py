"""The docs generator's model of the shared synth: only the tooling tests read it."""

from __future__ import annotations

import pytest

from config import Config
from tests.support import SynthesizedApp
from tools.docgen.model import AppModel, build_model


@pytest.fixture(scope="session")
def model(synthesized: SynthesizedApp, config: Config) -> AppModel:
    """What the docs generator reads from the shared synth (docs pages and the cost page)."""
    return build_model(synthesized.app, synthesized.assembly, config)
