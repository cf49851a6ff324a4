"""The project's test suite (make test): the shared synths of tests/fixtures.py.

The suites by what they prove: tests/architecture (the stacks and constructs, from the synth),
tests/configuration (the configuration files and their one-line errors), tests/handlers (the
sample app and the Lambda handlers, no CDK), tests/tooling (the release guard, the release
inputs command, the Makefile and the docs generator).
"""

from __future__ import annotations

from tests.fixtures import config, ecs_native, ecs_native_config, synthesized

__all__ = ["config", "ecs_native", "ecs_native_config", "synthesized"]
