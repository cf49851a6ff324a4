"""The rehearsal's own tests (make test-rehearsal): moto, or one line saying how to get it.

The shared synths (``config``, ``synthesized``, ``ecs_native``) come from the plugin tests/fixtures.py,
which the root conftest.py loads for every suite.
"""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("moto") is None:
    raise pytest.UsageError(
        "moto is not installed: the rehearsal's tests run under make test-rehearsal, which installs "
        "tools/rehearsal/requirements.txt"
    )
