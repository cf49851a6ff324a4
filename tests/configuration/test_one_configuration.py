"""One configuration drives everything: no workflow, buildspec or make recipe repeats a value of the sandbox's.

A team that copies config/sandbox.toml puts its own accounts, region, project and repository in its copy
(README.md, "Use your own accounts"); a value written again in a workflow, a buildspec or the Makefile would
still point at the sandbox. Those files read the configuration instead: the repository variable and make's
``DELIVERY_CONFIG``, config/workflow_env.py, and the build variables the Tools-Pipeline stack sets.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import Config, load_config
from tests.support import ROOT

#: Every file that runs outside the CDK app and could carry a copy of a configured value.
CHECKED = sorted(
    [
        *(ROOT / ".github" / "workflows").glob("*.yml"),
        *(ROOT / "pipelines").rglob("*.yml"),
        ROOT / "Makefile",
        ROOT / ".ci" / "run",
    ]
)


def configured_values(config: Config) -> dict[str, str]:
    """The values a team's own configuration changes, by the key that holds them."""
    return {
        "project": config.project,
        "region": config.region,
        **{f"accounts.{name}": getattr(config.accounts, name) for name in ("tools", "dev", "staging", "prod")},
        "github.owner": config.github.owner,
        "github.repo": config.github.repo,
    }


@pytest.fixture(scope="module")
def sandbox_values() -> dict[str, str]:
    return configured_values(load_config("config/sandbox.toml"))


def occurrences(value: str, text: str) -> list[int]:
    """Line numbers where ``value`` stands as a whole word (``delivery-ref`` is not in ``delivery-reference``)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(value)}(?![\w-])")
    return [number for number, line in enumerate(text.splitlines(), start=1) if pattern.search(line)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("  AWS_REGION: eu-west-1", [1]),
        ("role-to-assume: arn:aws:iam::111111111111:role/github-deploy", [1]),
        ("\n    PIP_INDEX_URL: /delivery-ref/build/pip-index-url", [2]),
        ("repo:example-org/another-service:pull_request", [1]),
        ("delivery-refs, eu-west-10, 1111111111112", []),
        ("config/sandbox.toml and us-west-1", []),
    ],
)
def test_the_check_finds_a_value_as_a_word_only(text: str, found: list[int], sandbox_values: dict[str, str]) -> None:
    assert sorted({line for value in sandbox_values.values() for line in occurrences(value, text)}) == found


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_workflow_buildspec_or_make_recipe_repeats_a_configured_value(
    path: Path, sandbox_values: dict[str, str]
) -> None:
    text = path.read_text()
    found = {
        f"{key} {value!r} on line {', '.join(map(str, lines))}"
        for key, value in sandbox_values.items()
        if (lines := occurrences(value, text))
    }
    assert not found, f"{path.relative_to(ROOT)}: read these from the configuration: {sorted(found)}"


def test_the_checked_files_include_every_workflow_and_buildspec() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in CHECKED}
    assert {".github/workflows/deploy.yml", ".github/workflows/diff.yml", ".github/workflows/ci.yml"} <= names
    assert {
        "pipelines/buildspec.yml",
        "pipelines/synth_buildspec.yml",
        "pipelines/infrastructure_buildspec.yml",
    } <= names


def code_lines(path: Path) -> list[str]:
    """The lines a shell, make or CodeBuild runs: comments left out."""
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_a_configuration_file_is_named_only_as_the_fallback_of_delivery_config(path: Path) -> None:
    """Workflows and make fall back to the sandbox when DELIVERY_CONFIG is unset; nothing else names a file.

    The pipeline's builds read the file they were built from (CONFIG_FILE, set on the CodeBuild project),
    CI globs config/*.toml.
    """
    named = [line.strip() for line in code_lines(path) if re.search(r"config/[\w.-]+\.toml", line)]
    fallbacks = {
        "CONFIG ?= $(or $(DELIVERY_CONFIG),config/sandbox.toml)",
        "DELIVERY_CONFIG: ${{ vars.DELIVERY_CONFIG || 'config/sandbox.toml' }}",
    }
    assert set(named) <= fallbacks, f"{path.relative_to(ROOT)}: {named}"
