"""The deployment order of docs/deploy.md: stack_names lists it, and the dependencies enforce it."""

from __future__ import annotations

from config import Config
from stacks.order import stack_names
from tests.support import SynthesizedApp


def test_documented_order_satisfies_every_stack_dependency(synthesized: SynthesizedApp, config: Config) -> None:
    order = stack_names(config)
    for name in order:
        for dependency in synthesized.stack(name).dependencies:
            assert order.index(dependency.stack_name) < order.index(name), f"{name} needs {dependency.stack_name}"


def test_service_stack_comes_after_its_network_and_the_image_repository(
    synthesized: SynthesizedApp, config: Config
) -> None:
    for environment in config.environments:
        dependencies = {d.stack_name for d in synthesized.stack(f"{environment.title}-Service").dependencies}
        assert dependencies == {f"{environment.title}-Network", "Tools-Pipeline"}


def test_tools_stacks_come_first_and_prod_last(config: Config) -> None:
    order = stack_names(config)
    assert order[:2] == ["Tools-GithubOidc", "Tools-PipelineRole"]
    assert order.index("Tools-Pipeline") < order.index("Dev-Network")
    assert order[-2:] == ["Prod-Network", "Prod-Service"]


def test_prod_stacks_have_termination_protection_and_others_do_not(synthesized: SynthesizedApp, config: Config) -> None:
    for name in stack_names(config):
        assert synthesized.stack(name).termination_protection is name.startswith("Prod-"), name


def test_every_stack_carries_the_project_environment_and_owner_tags(
    synthesized: SynthesizedApp, config: Config
) -> None:
    for name in stack_names(config):
        tags = synthesized.stack(name).tags.tag_values()
        assert tags["project"] == config.project
        assert tags["owner"] == config.owner
        assert tags["environment"] == name.split("-")[0].lower(), name
