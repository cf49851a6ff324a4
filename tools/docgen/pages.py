"""Which generated block goes into which page, and how blocks are found between their markers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stacks import names as stack_names
from stacks.names import StackKind
from tools.docgen import diagrams, findings, security, test_index
from tools.docgen.model import ROOT, AppModel

COMMAND = "make diagrams"


def begin_marker(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}: do not edit, run {COMMAND} -->"


def end_marker(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"


class StaleBlock(Exception):
    pass


@dataclass(frozen=True)
class Block:
    page: str
    name: str
    render: Callable[[AppModel], str]


def _network(stack: str) -> bool:
    return stack_names.kind_of(stack) is StackKind.NETWORK


def _service(stack: str) -> bool:
    return stack_names.kind_of(stack) is StackKind.SERVICE


def _deploy(stack: str) -> bool:
    return stack_names.kind_of(stack) in (StackKind.PIPELINE_ROLE, StackKind.PIPELINE, StackKind.DEPLOY_ROLE)


def _oidc(stack: str) -> bool:
    return stack_names.kind_of(stack) is StackKind.GITHUB_OIDC


def _all(stack: str) -> bool:
    return True


#: The test files that prove each architecture, listed on its page (the page's one list of its tests).
TEST_FILES = {
    "docs/network.md": (
        "tests/architecture/test_network.py",
        "tests/tooling/test_network_cost.py",
        "tests/configuration/test_availability_zones.py",
    ),
    "docs/ecs-blue-green.md": (
        "tests/architecture/test_ecs_service.py",
        "tests/architecture/test_ecs_native.py",
        "tests/architecture/test_day2_templates.py",
        "tests/architecture/test_live_traffic.py",
        "tests/architecture/test_load_balancer_alarm.py",
        "tests/architecture/test_logical_ids.py",
        "tests/architecture/test_access_log_buckets.py",
        "tests/handlers/test_release_hook.py",
        "tests/handlers/test_live_traffic.py",
        "tests/tooling/test_release_guard.py",
        "tests/tooling/test_release_guard_lock.py",
        "tests/tooling/test_release_inputs_cli.py",
    ),
    "docs/deploy.md": (
        "tests/architecture/test_one_pipeline.py",
        "tests/architecture/test_pipeline.py",
        "tests/architecture/test_stage_conditions.py",
        "tests/handlers/test_bake_check.py",
        "tests/architecture/test_deploy_role.py",
        "tests/architecture/test_access_log_buckets.py",
        "tests/architecture/test_scan_gate.py",
        "tests/architecture/test_stack_order.py",
        "tests/architecture/test_permissions_boundary.py",
        "tests/tooling/test_environment_deploy.py",
        "tests/tooling/test_change_set.py",
        "tests/configuration/test_committed_configurations.py",
        "tests/tooling/test_app_digest.py",
        "tests/tooling/test_bootstrap_doc.py",
    ),
    "docs/github-oidc.md": (
        "tests/architecture/test_github_oidc.py",
        "tests/architecture/test_pull_request_exposure.py",
        "tests/configuration/test_github_oidc_config.py",
        "tests/configuration/test_workflow_env.py",
        "tests/configuration/test_one_configuration.py",
    ),
    "docs/sample-app.md": (
        "tests/handlers/test_service_app.py",
        "tests/handlers/test_service_app_image.py",
        "tests/handlers/test_release_hook.py",
    ),
}


def _blocks_of(page: str, diagram: Callable[[AppModel], str], in_page: Callable[[str], bool]) -> list[Block]:
    files = TEST_FILES[page]
    return [
        Block(page, "diagram", diagram),
        Block(page, "tests", lambda model: test_index.index(files)),
        Block(page, "nag findings", lambda model: findings.nag_table(model, in_page)),
        Block(page, "checkov skips", lambda model: findings.checkov_table(model, in_page)),
        Block(page, "control tower exceptions", lambda model: findings.control_tower_table(model, in_page)),
    ]


def blocks() -> list[Block]:
    from tools.docgen import cost

    return [
        *_blocks_of("docs/network.md", diagrams.network, _network),
        *_blocks_of("docs/ecs-blue-green.md", diagrams.ecs_blue_green, _service),
        *_blocks_of("docs/deploy.md", diagrams.deploy, _deploy),
        *_blocks_of("docs/github-oidc.md", diagrams.github_oidc, _oidc),
        Block("docs/sample-app.md", "tests", lambda model: test_index.index(TEST_FILES["docs/sample-app.md"])),
        Block("README.md", "overview diagram", diagrams.overview),
        Block("docs/cost.md", "cost", cost.page),
        Block("docs/security.md", "gates", security.gates),
        Block("docs/security.md", "control tower exceptions", lambda model: findings.control_tower_table(model, _all)),
    ]


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(begin_marker(name)).replace(re.escape(COMMAND), r"[^>]*?")
        + r"\n(.*?)\n?"
        + re.escape(end_marker(name)),
        re.S,
    )


def current(text: str, name: str) -> str | None:
    """The block's content as committed, or None if the page has no such markers."""
    match = _pattern(name).search(text)
    return match.group(1) if match else None


def replace(text: str, name: str, content: str, page: str) -> str:
    if current(text, name) is None:
        raise StaleBlock(f"{page}: no '{begin_marker(name)}' ... '{end_marker(name)}' markers")
    block = f"{begin_marker(name)}\n{content}\n{end_marker(name)}"
    return _pattern(name).sub(lambda _: block, text, count=1)


def render_all(model: AppModel) -> dict[tuple[str, str], str]:
    return {(block.page, block.name): block.render(model) for block in blocks()}


def stale(model: AppModel, root: Path = ROOT) -> list[str]:
    """One line per generated block that differs from what the app generates now."""
    problems = []
    for (page, name), content in render_all(model).items():
        path = root / page
        committed = current(path.read_text(), name) if path.exists() else None
        if committed is None:
            problems.append(f"{page}: the '{name}' block is missing: add its markers, then run {COMMAND}")
        elif committed != content:
            problems.append(f"{page}: the '{name}' block is out of date: run {COMMAND}")
    return problems


def write_all(model: AppModel, root: Path = ROOT) -> list[str]:
    """Rewrite every generated block; return the pages that changed."""
    changed = []
    by_page: dict[str, list[tuple[str, str]]] = {}
    for (page, name), content in render_all(model).items():
        by_page.setdefault(page, []).append((name, content))
    for page, entries in by_page.items():
        path = root / page
        text = path.read_text()
        updated = text
        for name, content in entries:
            updated = replace(updated, name, content, page)
        if updated != text:
            path.write_text(updated)
            changed.append(page)
    return changed
