"""The rehearsal's own tests (make test-rehearsal): the shared synths, and moto or one line saying how."""

from __future__ import annotations

import importlib.util

import pytest

from tests.fixtures import config, ecs_native, ecs_native_config, synthesized

__all__ = ["config", "ecs_native", "ecs_native_config", "synthesized"]

if importlib.util.find_spec("moto") is None:
    raise pytest.UsageError(
        "moto is not installed: the rehearsal's tests run under make test-rehearsal, which installs "
        "tools/rehearsal/requirements.txt"
    )
