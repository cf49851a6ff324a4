"""A small, deterministic Mermaid flowchart writer: nodes, nested subgraphs, edges."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def node_id(*parts: str) -> str:
    """A Mermaid id from readable parts (stack name, construct path): stable, no hashes."""
    return "_".join(UNSAFE.sub("_", part) for part in parts if part)


def _text(label: str) -> str:
    return label.replace('"', "#quot;")


@dataclass
class Group:
    id: str
    label: str
    nodes: list[tuple[str, str, str]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


SHAPES = {"box": ('["', '"]'), "round": ('("', '")'), "db": ('[("', '")]'), "stadium": ('(["', '"])')}


@dataclass
class Flowchart:
    direction: str = "TB"
    root: Group = field(default_factory=lambda: Group("", ""))
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    _known: set[str] = field(default_factory=set)

    def group(self, id_: str, label: str, parent: Group | None = None) -> Group:
        group = Group(id_, label)
        (parent or self.root).groups.append(group)
        self._known.add(id_)
        return group

    def node(self, id_: str, label: str, parent: Group | None = None, shape: str = "box") -> str:
        if id_ in self._known:
            raise ValueError(f"duplicate diagram id {id_}")
        (parent or self.root).nodes.append((id_, label, shape))
        self._known.add(id_)
        return id_

    def edge(self, source: str, target: str, label: str = "", style: str = "-->") -> None:
        entry = (source, target, label, style)
        if source != target and entry not in self.edges:
            self.edges.append(entry)

    def render(self) -> str:
        unknown = sorted({end for s, t, _, _ in self.edges for end in (s, t)} - self._known)
        if unknown:
            raise ValueError(f"edges to unknown diagram ids: {', '.join(unknown)}")
        lines = [f"flowchart {self.direction}"]

        def emit(group: Group, depth: int) -> None:
            pad = "  " * depth
            for id_, label, shape in group.nodes:
                start, end = SHAPES[shape]
                lines.append(f"{pad}{id_}{start}{_text(label)}{end}")
            for child in group.groups:
                lines.append(f'{pad}subgraph {child.id}["{_text(child.label)}"]')
                emit(child, depth + 1)
                lines.append(f"{pad}end")

        emit(self.root, 1)
        for source, target, label, style in self.edges:
            arrow = f'{style}|"{_text(label)}"|' if label else style
            lines.append(f"  {source} {arrow} {target}")
        return "\n".join(["```mermaid", *lines, "```"])
