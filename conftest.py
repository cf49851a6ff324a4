"""Settings of every pytest run in this repository: ``make test``, ``make rehearse``, or plain ``pytest``.

* The project's own Node 22 and CDK CLI (installed by make into node_modules) come first on PATH:
  ``.venv/bin/pytest`` without make runs the same toolchain as ``make test``. A machine's Node 20
  prints an end-of-life banner into stderr that the CLI tests would see.
* No test skips. Every test a run collects must run there; one that cannot (a tool missing) fails
  the run with its reason, instead of passing it quietly with fewer tests.
* The shared session fixtures (the configurations and one synth of each) are the plugin
  ``tests/fixtures.py``, loaded here for every suite (tests/ and tools/rehearsal/tests). pytest
  takes ``pytest_plugins`` from the rootdir's conftest only: in a deeper one it is an error,
  because a plugin applies to the whole run anyway
  (https://docs.pytest.org/en/stable/deprecations.html#pytest-plugins-in-non-top-level-conftest-files).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures"]

LOCAL_NODE_BIN = Path(__file__).resolve().parent / "node_modules" / ".bin"
if LOCAL_NODE_BIN.is_dir() and os.environ.get("PATH", "").split(os.pathsep)[0] != str(LOCAL_NODE_BIN):
    os.environ["PATH"] = os.pathsep.join([str(LOCAL_NODE_BIN), os.environ.get("PATH", "")])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line(
            f"{len(skipped)} tests skipped: every collected test must run (see the skip reasons above)", red=True
        )
