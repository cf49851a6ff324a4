"""The image definition: pinned slim base, non-root numeric user, nothing written or installed at runtime."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from service_app.app.server import DEFAULT_PORT

APP_DIR = Path(__file__).resolve().parents[2] / "service_app"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for line in (APP_DIR / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends with a continuation line"
    parsed = []
    for entry in logical:
        keyword, _, arguments = entry.partition(" ")
        parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def arguments_of(keyword: str) -> list[str]:
    return [arguments for found, arguments in instructions() if found == keyword]


def test_single_stage_from_a_slim_python_base_pinned_by_tag() -> None:
    (base,) = arguments_of("FROM")
    image, _, tag = base.partition(":")
    assert image == "public.ecr.aws/docker/library/python", "the official image, from its ECR Public mirror"
    assert re.fullmatch(r"3\.\d+(\.\d+)?-slim-[a-z]+", tag), f"base image must be pinned to a slim tag: {base}"


def test_no_latest_tag_anywhere() -> None:
    assert not re.search(r":latest\b", (APP_DIR / "Dockerfile").read_text())


def test_runs_as_a_numeric_non_root_user() -> None:
    users = arguments_of("USER")
    assert users, "the image must set USER"
    assert [keyword for keyword, _ in instructions()].index("USER") > max(
        index for index, (keyword, _) in enumerate(instructions()) if keyword in {"COPY", "RUN"}
    ), "USER comes after every file is in place"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER must be numeric uid:gid, got {users[-1]}"
    assert int(uid) != 0 and int(gid) != 0


def test_nothing_is_installed_or_written_at_runtime() -> None:
    env = " ".join(arguments_of("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert not any("pip" in arguments for arguments in arguments_of("RUN"))
    assert not (APP_DIR / "requirements.txt").exists(), "the service uses the standard library only"


def test_exposes_the_port_the_server_listens_on() -> None:
    assert arguments_of("EXPOSE") == [str(DEFAULT_PORT)]
    assert f"PORT={DEFAULT_PORT}" in " ".join(arguments_of("ENV"))


def test_cmd_is_exec_form_so_python_receives_sigterm() -> None:
    (cmd,) = arguments_of("CMD")
    assert json.loads(cmd) == ["python", "-m", "app.server"]


@pytest.mark.parametrize("path", ["app/__init__.py", "app/server.py"])
def test_the_module_the_image_runs_is_in_the_build_context(path: str) -> None:
    assert (APP_DIR / path).is_file()
    ignored = (APP_DIR / ".dockerignore").read_text().splitlines()
    assert ignored[:3] == ["# Only app/ goes into the image.", "*", "!app/"]
