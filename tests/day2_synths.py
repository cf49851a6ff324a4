"""The prod service templates the day-2 tests compare (tests/architecture/test_day2_templates.py).

Each day-2 case synthesizes the prod service stack of a configuration before and after one
change: fourteen synths of about 0.3 to 0.6 s, nearly all of it calls across jsii. The side
process of the session (tests/unacknowledged.py) synthesizes every case of :data:`CASES` beside
the session's own synths, and the tests read the templates by :func:`key`; a case missing from the
table is synthesized in the test's own process, as before.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from config import Config, EnvironmentConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
CERTIFICATE = "arn:aws:acm:eu-west-1:444444444444:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
CONFIG_PATHS = ("config/sandbox.toml", "config/ecs-native.toml")

#: (configuration path, changes to [service], changes to the prod environment, a second synth of the same):
#: every synth the day-2 tests compare. "fresh" is the second synth of an unchanged configuration.
CASES: tuple[tuple[str, dict[str, Any], dict[str, Any], bool], ...] = tuple(
    case
    for path in CONFIG_PATHS
    for case in (
        (path, {}, {}, False),
        (path, {}, {}, True),
        (path, {"health_check_path": "/ready"}, {}, False),
        (path, {}, {"certificate_arn": CERTIFICATE}, False),
        (path, {}, {"max_count": 6}, False),
        (path, {}, {"desired_count": 4, "max_count": 4}, False),
        (path, {}, {"cpu": 1024, "memory_mib": 2048}, False),
    )
)


def key(config: Config, environment_changes: dict[str, Any], fresh: bool) -> str:
    """The same string in every process for the same configuration, changes and synth."""
    return repr((config, sorted(environment_changes.items()), fresh))


def synthesize_prod_service(outdir: Path, config: Config, **changes: Any) -> dict[str, Any]:
    """The prod service stack of ``config`` with ``changes`` to its prod environment, as a template."""
    from stacks.network_stack import NetworkStack
    from stacks.service_stack import ServiceStack
    from tests.support import new_app

    environment: EnvironmentConfig = dataclasses.replace(config.environment("prod"), **changes)
    # Only the diff matters here; the session synth runs CloudFormation's template validation.
    app = new_app(str(outdir), validate_templates=False)
    network = NetworkStack(app, "Network", config=config, environment=environment)
    ServiceStack(app, "Service", config=config, environment=environment, network=network.network)
    return dict(app.synth().get_stack_by_name("Service").template)


def every_case() -> dict[str, dict[str, Any]]:
    """The template of every case of :data:`CASES`, by :func:`key`."""
    templates: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="day2-") as outdir:
        for index, (path, service_changes, environment_changes, fresh) in enumerate(CASES):
            config = load_config(ROOT / path)
            if service_changes:
                config = dataclasses.replace(config, service=dataclasses.replace(config.service, **service_changes))
            templates[key(config, environment_changes, fresh)] = synthesize_prod_service(
                Path(outdir) / str(index), config, **environment_changes
            )
    return templates
