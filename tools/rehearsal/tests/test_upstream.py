"""The moto bugs the rehearsal server works around (tools/rehearsal/upstream/): each is still there.

Each reproduction is the script of its upstream report, run as its own process under ``mock_aws``:
another test of this suite may have installed the server's extensions in this one, and the script must
meet moto as released. It exits 1 while the bug is there. When moto fixes one, its test fails and
names the extension of tools/rehearsal/server.py to drop.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

UPSTREAM = Path(__file__).resolve().parent.parent / "upstream"
SCRIPTS = sorted(UPSTREAM.glob("[0-9][0-9]-*.py"))


def test_every_report_has_its_reproduction_and_the_server_points_at_it() -> None:
    reports = sorted(path.stem for path in UPSTREAM.glob("[0-9][0-9]-*.md"))
    assert reports == [path.stem for path in SCRIPTS]
    server = (UPSTREAM.parent / "server.py").read_text()
    for stem in reports:
        assert f"upstream/{stem}.md" in server, f"server.py: the extension {int(stem[:2])} does not point at {stem}.md"


@pytest.mark.parametrize("script", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_the_moto_bug_is_still_there(script: Path) -> None:
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode in (0, 1), run.stderr
    assert run.returncode == 1 and run.stdout.startswith("bug present: "), (
        f"moto answers as CloudFormation does now ({script.name}): drop extension {int(script.name[:2])} "
        f"of tools/rehearsal/server.py and close {script.with_suffix('.md').name}"
    )
