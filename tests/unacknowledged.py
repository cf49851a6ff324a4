"""Every cdk-nag finding of the app with no acknowledgement applied, per configuration.

The stale-acknowledgement tests (tests/architecture/test_compliance.py, test_ecs_native.py)
compare the app's acknowledgements with these findings. Building the app a second time with
acknowledgements off costs about 2.5 s per configuration, nearly all of it calls across jsii, so
``tests/conftest.py`` starts this module as a process of its own when the session begins
(``python -m tests.unacknowledged CONFIG ...``, one JSON object on stdout) and the tests read its
answer when they need it: the build runs beside the session's own synths instead of after them.
With ``--day2`` the same process then synthesizes the day-2 cases (tests/day2_synths.py), and the
answer holds both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import load_config

ROOT = Path(__file__).resolve().parent.parent


def unacknowledged_findings(config_path: str) -> set[tuple[str, str]]:
    """Every finding of both packs when no acknowledgement is applied: (rule id, construct path).

    The app is built but not synthesized: cdk-nag walks the construct tree, and every
    resource it checks exists once the stacks are constructed.
    """
    from components.compliance import ACKNOWLEDGEMENTS_OFF_CONTEXT
    from components.compliance.nag import findings
    from stacks.delivery_app import build_app
    from tests.support import new_app

    with tempfile.TemporaryDirectory(prefix="unacknowledged-") as outdir:
        app = new_app(outdir, **{ACKNOWLEDGEMENTS_OFF_CONTEXT: True})
        return findings(build_app(app, load_config(ROOT / config_path)), app)


def start(config_paths: list[str], *, day2: bool = False) -> subprocess.Popen[str]:
    """Run :func:`main` for ``config_paths`` in a process of its own; read it with :func:`answer`.

    With ``day2`` it then synthesizes the day-2 cases too (tests/day2_synths.py): the tests that read
    either answer run last in the session (tests/conftest.py), so the process has the session's
    other tests to run beside.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unacknowledged", *(["--day2"] if day2 else []), *config_paths],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass(frozen=True)
class Answer:
    """What the process started by :func:`start` printed."""

    #: The findings per configuration path.
    unacknowledged: dict[str, set[tuple[str, str]]]
    #: The day-2 templates by tests.day2_synths.key (empty unless started with ``day2``).
    day2: dict[str, dict[str, Any]]


def answer(process: subprocess.Popen[str]) -> Answer:
    """Wait for the process started by :func:`start` and read what it printed."""
    stdout, stderr = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"python -m tests.unacknowledged failed ({process.returncode}):\n{stderr}")
    printed = json.loads(stdout)
    return Answer(
        unacknowledged={path: {(rule, at) for rule, at in found} for path, found in printed["unacknowledged"].items()},
        day2=printed["day2"],
    )


def main(argv: list[str]) -> int:
    day2 = "--day2" in argv
    paths = [arg for arg in argv if arg != "--day2"]
    printed: dict[str, Any] = {"unacknowledged": {path: sorted(unacknowledged_findings(path)) for path in paths}}
    if day2:
        from tests.day2_synths import every_case

        printed["day2"] = every_case()
    else:
        printed["day2"] = {}
    print(json.dumps(printed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
