"""pipelines/release_inputs.py, which the pipeline's build runs: good input writes files, bad input one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import release_inputs
from tests.support import ROOT

IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/delivery-ref/web:release-0123abc"


def test_writes_the_release_inputs_of_every_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--config", str(ROOT / "config/sandbox.toml"), "--out", str(tmp_path), "--image-uri", IMAGE]
    assert release_inputs.main(argv) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 6
    assert json.loads((tmp_path / "dev" / "appspec.yaml").read_text())["version"] == 0.0


def test_ecs_released_environments_get_the_image_definitions_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--config", str(ROOT / "config/ecs-native.toml"), "--out", str(tmp_path), "--image-uri", IMAGE]
    assert release_inputs.main(argv) == 0
    assert sorted(capsys.readouterr().out.split()) == [
        str(tmp_path / env / "imagedefinitions.json") for env in ("dev", "prod", "staging")
    ]
    # The ECS deploy action's format: the container name and the image to put in it.
    assert json.loads((tmp_path / "prod" / "imagedefinitions.json").read_text()) == [{"name": "web", "imageUri": IMAGE}]


def test_bad_configuration_gives_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "config/sandbox.toml").read_text().replace('"333333333333"', '"33333333333"'))
    out = tmp_path / "release"
    assert release_inputs.main(["--config", str(bad), "--out", str(out), "--image-uri", IMAGE]) == 2
    assert capsys.readouterr().err == (
        f"{bad}: accounts.staging: expected a 12-digit AWS account id, got '33333333333'\n"
    )
    assert not out.exists()
