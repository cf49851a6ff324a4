"""The project's test suite (make test); its shared synths are the plugin tests/fixtures.py (see the root conftest.py).

The suites by what they prove: tests/architecture (the stacks and constructs, from the synth),
tests/configuration (the configuration files and their one-line errors), tests/handlers (the
sample app and the Lambda handlers, no CDK), tests/tooling (the release guard, the release
inputs command, the Makefile and the docs generator).
"""

from __future__ import annotations

import pytest

from tests.fixtures import start_unacknowledged, stop_unacknowledged

#: The fixtures the side process answers (tests/unacknowledged.py): their tests run last.
SIDE_FIXTURES = ("unacknowledged", "day2_templates")


def _reads_the_side_process(item: pytest.Item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in SIDE_FIXTURES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that read the side process last, so that it works beside all the others."""
    items.sort(key=_reads_the_side_process)  # stable: each group keeps its order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the build without acknowledgements (and the day-2 synths) now, if a test reads them."""
    if any(_reads_the_side_process(item) for item in session.items):
        day2 = any("day2_templates" in getattr(item, "fixturenames", ()) for item in session.items)
        start_unacknowledged(session.config, day2=day2)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_unacknowledged(session.config)
