"""The deployment order of docs/deploy.md: the stack dependencies give it, and the tools read it from the assembly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from config import Config, EnvironmentConfig
from stacks import names
from stacks.assembly import AssemblyError, read_assembly
from tests.support import DOCUMENTED_ORDER, SynthesizedApp


def test_the_assembly_deploys_in_the_documented_order(synthesized: SynthesizedApp) -> None:
    assert synthesized.deploy_order == list(DOCUMENTED_ORDER)


def test_the_assembly_order_satisfies_every_stack_dependency(synthesized: SynthesizedApp) -> None:
    order = synthesized.deploy_order
    for name in order:
        for dependency in synthesized.stack(name).dependencies:
            assert order.index(dependency.stack_name) < order.index(name), f"{name} needs {dependency.stack_name}"


def test_service_stack_comes_after_its_network_and_the_image_repository(
    synthesized: SynthesizedApp, config: Config
) -> None:
    for environment in config.environments:
        dependencies = {d.stack_name for d in synthesized.stack(names.service(environment)).dependencies}
        assert dependencies == {names.network(environment), names.PIPELINE}


def test_prod_stacks_have_termination_protection_and_others_do_not(synthesized: SynthesizedApp) -> None:
    for stack in synthesized.manifest:
        assert stack.termination_protection is stack.stack_name.startswith("Prod-"), stack.stack_name
        assert synthesized.stack(stack.stack_name).termination_protection is stack.termination_protection


def test_every_stack_carries_the_project_environment_and_owner_tags(
    synthesized: SynthesizedApp, config: Config
) -> None:
    for name in synthesized.deploy_order:
        tags = synthesized.stack(name).tags.tag_values()
        assert tags["project"] == config.project
        assert tags["owner"] == config.owner
        assert tags["environment"] == names.environment_title(name).lower(), name


def test_every_stack_name_has_one_kind(synthesized: SynthesizedApp, config: Config) -> None:
    kinds = [names.kind_of(name) for name in synthesized.deploy_order]
    environments = len(config.environments)
    assert kinds.count(names.StackKind.SERVICE) == kinds.count(names.StackKind.NETWORK) == environments
    assert kinds.count(names.StackKind.DEPLOY_ROLE) == environments
    assert sorted(set(kinds), key=str) == sorted(names.StackKind, key=str)


@pytest.mark.parametrize("name", ["Tools-Service", "Dev-Pipeline", "Dev", "Network", "-Network"])
def test_a_name_the_app_does_not_build_has_no_kind(name: str) -> None:
    with pytest.raises(ValueError, match=r"is not a stack name of this app \(stacks/names.py\)$"):
        names.kind_of(name)


def test_the_names_follow_the_environment_title(config: Config) -> None:
    environment: EnvironmentConfig = config.environments[-1]
    assert (names.deploy_role(environment), names.network(environment), names.service(environment)) == (
        "Prod-DeployRole",
        "Prod-Network",
        "Prod-Service",
    )


# -- the assembly reader, on hand-made manifests -------------------------------------------------


def write_assembly(directory: Path, dependencies: dict[str, list[str]]) -> Path:
    """A manifest of stacks in the given order, each with its dependencies and an asset manifest."""
    artifacts: dict[str, object] = {}
    for name, needs in dependencies.items():
        (directory / f"{name}.template.json").write_text("{}")
        artifacts[f"{name}.assets"] = {"type": "cdk:asset-manifest", "properties": {"file": f"{name}.assets.json"}}
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111111111111/eu-west-1",
            "properties": {"templateFile": f"{name}.template.json"},
            "dependencies": [*needs, f"{name}.assets"],
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


def test_deploy_order_puts_dependencies_first_and_otherwise_keeps_the_manifest_order(tmp_path: Path) -> None:
    assembly = read_assembly(write_assembly(tmp_path, {"C": ["B"], "A": [], "B": ["A"], "D": []}))
    assert [stack.stack_name for stack in assembly.deploy_order()] == ["A", "B", "C", "D"]
    assert assembly.by_name("C").dependencies == ("B",)


def test_a_dependency_cycle_is_one_line(tmp_path: Path) -> None:
    assembly = read_assembly(write_assembly(tmp_path, {"A": ["B"], "B": ["A"]}))
    with pytest.raises(AssemblyError) as error:
        assembly.deploy_order()
    assert str(error.value) == f"{tmp_path}/manifest.json: the stacks depend on each other in a cycle: A -> B -> A"


def test_an_unknown_stack_names_the_known_ones(tmp_path: Path) -> None:
    assembly = read_assembly(write_assembly(tmp_path, {"A": [], "B": []}))
    with pytest.raises(AssemblyError) as error:
        assembly.by_name("C")
    assert str(error.value) == f"{tmp_path}/manifest.json: unknown stack 'C': expected one of A, B"


def test_a_dependency_on_a_stack_the_assembly_lacks_is_one_line(tmp_path: Path) -> None:
    assembly = read_assembly(write_assembly(tmp_path, {"A": []}))
    broken = dataclasses.replace(assembly.stacks["A"], dependencies=("Gone",))
    with pytest.raises(AssemblyError) as error:
        dataclasses.replace(assembly, stacks={"A": broken}).deploy_order()
    assert str(error.value) == f"{tmp_path}/manifest.json: A depends on Gone, which it does not hold"
