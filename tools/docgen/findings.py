"""Tables of the acknowledged cdk-nag findings, the skipped checkov checks and the excepted
Control Tower controls, per architecture.

Nag acknowledgements come from the synthesized app (``components.compliance.nag.synthesized_acknowledgements``),
checkov skips from each resource's template metadata (``{"checkov": {"skip": [{"id", "comment"}]}}``,
the format checkov reads), Control Tower exceptions from the same shape under ``control-tower``
(read by scanners/control_tower.py). Any number of each, including none, is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tools.docgen.model import AppModel


@dataclass(frozen=True)
class Row:
    rule: str
    path: str
    reason: str
    stacks: tuple[str, ...]


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _stacks_cell(stacks: Iterable[str], model: AppModel) -> str:
    """``Dev-Service, Staging-Service, Prod-Service`` as ``<Env>-Service (dev, staging, prod)``."""
    names = list(stacks)
    titles = {e.title: e.name for e in model.config.environments}
    split = [name.partition("-") for name in names]
    suffixes = {rest for _, _, rest in split}
    if len(names) > 1 and len(suffixes) == 1 and all(prefix in titles for prefix, _, _ in split):
        return f"`<Env>-{suffixes.pop()}` ({', '.join(titles[prefix] for prefix, _, _ in split)})"
    return ", ".join(f"`{name}`" for name in names)


def _row(row: Row, model: AppModel) -> str:
    stacks = _stacks_cell(row.stacks, model)
    return f"| `{_cell(row.rule)}` | `{_cell(row.path)}` | {stacks} | {_cell(row.reason)} |"


def _merge(entries: Iterable[tuple[str, str, str, str]], order: list[str]) -> list[Row]:
    """(stack, path, rule, reason) -> one row per (rule, path, reason) with its stacks in deploy order."""
    merged: dict[tuple[str, str, str], list[str]] = {}
    for stack, path, rule, reason in entries:
        stacks = merged.setdefault((rule, path, reason), [])
        if stack not in stacks:
            stacks.append(stack)
    rows = [
        Row(rule=rule, path=path, reason=reason, stacks=tuple(sorted(stacks, key=order.index)))
        for (rule, path, reason), stacks in merged.items()
    ]
    return sorted(rows, key=lambda r: (order.index(r.stacks[0]), r.path, r.rule))


def nag_table(model: AppModel, in_page: Callable[[str], bool]) -> str:
    order = list(model.stacks)
    accounts = {stack.name: stack.account for stack in model.stacks.values()}
    rows = _merge(
        (
            # The stack's own account id in a finding (a task definition ARN) reads the same in every environment.
            (a.stack, a.path, a.rule_id.replace(accounts.get(a.stack, "-"), "<account>"), a.reason)
            for a in model.acknowledgements
            if in_page(a.stack)
        ),
        order,
    )
    if not rows:
        return "No cdk-nag finding is acknowledged in these stacks: every rule of the registered packs passes."
    lines = [
        f"{len(rows)} acknowledged cdk-nag findings, read from the synthesized app:",
        "",
        "| Finding | Construct | Stacks | Why it is acceptable here |",
        "| --- | --- | --- | --- |",
    ]
    lines += [_row(row, model) for row in rows]
    return "\n".join(lines)


def _template_skips(
    model: AppModel, in_page: Callable[[str], bool], key: str = "checkov"
) -> list[tuple[str, str, str, str]]:
    found = []
    for stack in model.stacks.values():
        if not in_page(stack.name):
            continue
        for resource in stack.resources.values():
            checkov = resource.metadata.get(key, {})
            for skip in checkov.get("skip", []) if isinstance(checkov, dict) else []:
                found.append((stack.name, resource.path, str(skip.get("id")), str(skip.get("comment", ""))))
    return found


def checkov_table(model: AppModel, in_page: Callable[[str], bool]) -> str:
    order = list(model.stacks)
    rows = _merge(_template_skips(model, in_page), order)
    if not rows:
        return "No checkov check is skipped for these stacks."
    lines = [
        f"{len(rows)} checkov checks skipped on single resources (template metadata):",
        "",
        "| Check | Construct | Stacks | Why it is acceptable here |",
        "| --- | --- | --- | --- |",
    ]
    lines += [_row(row, model) for row in rows]
    return "\n".join(lines)


def control_tower_rows(model: AppModel, in_page: Callable[[str], bool]) -> list[Row]:
    return _merge(_template_skips(model, in_page, "control-tower"), list(model.stacks))


def control_tower_table(model: AppModel, in_page: Callable[[str], bool]) -> str:
    rows = control_tower_rows(model, in_page)
    if not rows:
        return "No AWS Control Tower proactive control is excepted for these stacks."
    lines = [
        f"{len(rows)} AWS Control Tower proactive controls excepted on single resources (template metadata):",
        "",
        "| Control | Construct | Stacks | Why it is acceptable here |",
        "| --- | --- | --- | --- |",
    ]
    lines += [_row(row, model) for row in rows]
    return "\n".join(lines)
