"""The project's test suite (make test); its shared synths are the plugin tests/fixtures.py (see the root conftest.py).

The suites by what they prove: tests/architecture (the stacks and constructs, from the synth),
tests/configuration (the configuration files and their one-line errors), tests/handlers (the
sample app and the Lambda handlers, no CDK), tests/tooling (the release guard, the release
inputs command, the Makefile and the docs generator).
"""

from __future__ import annotations

import pytest

from tests.fixtures import start_unacknowledged, stop_unacknowledged


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the build without acknowledgements now, beside the session's synths, if a test reads it."""
    if any("unacknowledged" in getattr(item, "fixturenames", ()) for item in session.items):
        start_unacknowledged(session.config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_unacknowledged(session.config)
