"""The release tag is a digest of the image's inputs (pipelines/app_digest.py): same inputs, same tag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.app_digest import context_files, main, release_tag
from tests.support import ROOT

BASE = "public.ecr.aws/docker/library/python@sha256:" + "a" * 64
PATCHED_BASE = "public.ecr.aws/docker/library/python@sha256:" + "b" * 64


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A copy of the service image's build context, free to change."""
    target = tmp_path / "service_app"
    shutil.copytree(ROOT / "service_app", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def test_the_tag_is_the_release_prefix_and_forty_hex_digits(context: Path) -> None:
    tag = release_tag(context, BASE)
    assert tag.startswith("release-") and len(tag) == len("release-") + 40
    assert int(tag.removeprefix("release-"), 16) >= 0


def test_unchanged_inputs_give_the_same_tag_so_an_infrastructure_only_commit_releases_nothing(context: Path) -> None:
    assert release_tag(context, BASE) == release_tag(context, BASE)


def test_a_change_to_the_application_changes_the_tag(context: Path) -> None:
    before = release_tag(context, BASE)
    (context / "app" / "server.py").write_text((context / "app" / "server.py").read_text() + "\n# changed\n")
    assert release_tag(context, BASE) != before


def test_a_change_to_the_dockerfile_changes_the_tag(context: Path) -> None:
    before = release_tag(context, BASE)
    (context / "Dockerfile").write_text((context / "Dockerfile").read_text() + "\n# changed\n")
    assert release_tag(context, BASE) != before


def test_a_patched_base_image_changes_the_tag(context: Path) -> None:
    assert release_tag(context, BASE) != release_tag(context, PATCHED_BASE)


def test_files_docker_ignores_do_not_change_the_tag(context: Path) -> None:
    """service_app/.dockerignore sends only app/ (and no bytecode) to the build."""
    before = release_tag(context, BASE)
    (context / "app" / "__pycache__").mkdir(exist_ok=True)
    (context / "app" / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"\x00")
    (context / "notes.md").write_text("not in the image")
    assert release_tag(context, BASE) == before


def test_the_digested_files_are_those_the_dockerignore_lets_through() -> None:
    files = context_files(ROOT / "service_app")
    assert files and all(path.startswith("app/") for path in files)
    assert not any("__pycache__" in path or path.endswith(".pyc") for path in files)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--context", "{tmp}", "--base-image-digest", BASE],
            "{tmp}: no Dockerfile; expected the service image's build context (service_app)",
        ),
        (
            ["--context", "{ctx}", "--base-image-digest", "python:3.11-slim"],
            "--base-image-digest 'python:3.11-slim': expected <image>@sha256:<64 hex digits>, "
            "as docker inspect --format '{{index .RepoDigests 0}}' prints it",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], line: str, context: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    arguments = [a.replace("{tmp}", str(empty)).replace("{ctx}", str(context)) for a in argv]
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == line.replace("{tmp}", str(empty)) + "\n"


def test_the_command_prints_the_tag(context: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--context", str(context), "--base-image-digest", BASE]) == 0
    assert capsys.readouterr().out == release_tag(context, BASE) + "\n"
