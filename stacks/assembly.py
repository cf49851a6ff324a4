"""The synthesized cloud assembly (``cdk.out``), read without the CDK: its stacks and their deploy order.

``cdk synth`` writes ``manifest.json``: one ``aws:cloudformation:stack`` artifact per stack, with
its environment, template file, the bootstrap roles the CLI deploys it through, and the artifacts
it depends on (the stack dependencies ``stacks/delivery_app.py`` declares, plus its own asset
manifest). The release guard, the rehearsal and the docs generator all read the app's stacks here,
so none of them keeps a second list in step by hand.

Every malformed entry is one :class:`AssemblyError` line naming the file and the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
_ENVIRONMENT = re.compile(r"aws://(\d{12})/([a-z]{2}(?:-[a-z]+)+-\d)")


class AssemblyError(Exception):
    """The assembly is missing or malformed: one line naming the file and the key."""


@dataclass(frozen=True)
class AssemblyStack:
    """One ``aws:cloudformation:stack`` artifact of the cloud assembly."""

    artifact_id: str
    stack_name: str
    account: str
    region: str
    template: dict[str, Any]
    #: The stacks (artifact ids) this one depends on, in manifest order; asset manifests left out.
    dependencies: tuple[str, ...] = ()
    #: The bootstrap roles as the manifest names them, with ``${AWS::Partition}`` left for the reader.
    deploy_role_arn: str = ""
    execution_role_arn: str = ""
    termination_protection: bool = False
    #: The construct metadata CDK writes for the stack: construct path (``/Stack/...``) to its entries,
    #: each a ``{"type": ..., "data": ...}`` object (logical ids, nag acknowledgements, warnings).
    metadata: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class CloudAssembly:
    """The stacks of one ``manifest.json``, by artifact id, in the order the manifest lists them."""

    directory: Path
    stacks: dict[str, AssemblyStack]

    @property
    def manifest(self) -> Path:
        return self.directory / "manifest.json"

    def __iter__(self) -> Iterator[AssemblyStack]:
        return iter(self.stacks.values())

    def by_name(self, name: str) -> AssemblyStack:
        """A stack by stack name or artifact id; AssemblyError naming the known ones otherwise."""
        for stack in self.stacks.values():
            if name in (stack.stack_name, stack.artifact_id):
                return stack
        known = ", ".join(sorted(self.stacks)) or "no stacks"
        raise AssemblyError(f"{self.manifest}: unknown stack {name!r}: expected one of {known}")

    def deploy_order(self) -> list[AssemblyStack]:
        """Every stack after the stacks it depends on, otherwise in manifest order (the app's order).

        A depth-first walk: each stack is placed as soon as its dependencies are, so that an
        environment's stacks stay together when the app declares them together.
        """
        placed: dict[str, AssemblyStack] = {}
        visiting: list[str] = []

        def place(artifact_id: str) -> None:
            if artifact_id in placed:
                return
            if artifact_id in visiting:
                cycle = " -> ".join([*visiting[visiting.index(artifact_id) :], artifact_id])
                raise AssemblyError(f"{self.manifest}: the stacks depend on each other in a cycle: {cycle}")
            visiting.append(artifact_id)
            for dependency in self.stacks[artifact_id].dependencies:
                if dependency not in self.stacks:
                    raise AssemblyError(
                        f"{self.manifest}: {artifact_id} depends on {dependency}, which it does not hold"
                    )
                place(dependency)
            visiting.pop()
            placed[artifact_id] = self.stacks[artifact_id]

        for artifact_id in self.stacks:
            place(artifact_id)
        return list(placed.values())


def _json(path: Path, expected: str) -> Any:
    if not path.is_file():
        raise AssemblyError(f"{path}: not found; synthesize first (make synth), or pass --assembly")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AssemblyError(f"{path}: expected {expected}, got unreadable: {error}") from None


def read_assembly(directory: Path) -> CloudAssembly:
    """The stacks of ``directory/manifest.json`` and their templates."""
    manifest_file = directory / "manifest.json"
    manifest = _json(manifest_file, "a cloud assembly manifest (JSON)")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise AssemblyError(f"{manifest_file}: artifacts: expected an object of artifacts, got {artifacts!r}")
    stack_ids = {
        artifact_id
        for artifact_id, artifact in artifacts.items()
        if isinstance(artifact, dict) and artifact.get("type") == STACK_ARTIFACT
    }
    stacks: dict[str, AssemblyStack] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact_id not in stack_ids:
            continue
        where = f"{manifest_file}: artifacts.{artifact_id}"
        environment = _ENVIRONMENT.fullmatch(str(artifact.get("environment", "")))
        if environment is None:
            raise AssemblyError(
                f"{where}.environment: expected aws://<12-digit account>/<region>, got {artifact.get('environment')!r}"
            )
        properties = artifact.get("properties") or {}
        template_file = properties.get("templateFile")
        if not isinstance(template_file, str):
            raise AssemblyError(f"{where}.properties.templateFile: expected a file name, got {template_file!r}")
        template = _json(directory / template_file, "a JSON template")
        if not isinstance(template, dict):
            raise AssemblyError(f"{directory / template_file}: expected a JSON object, got {type(template).__name__}")
        dependencies = artifact.get("dependencies") or []
        if not isinstance(dependencies, list):
            raise AssemblyError(f"{where}.dependencies: expected a list of artifact ids, got {dependencies!r}")
        metadata = dict(artifact.get("metadata") or {})
        metadata_file = artifact.get("additionalMetadataFile")
        if metadata_file is not None:
            extra = _json(directory / str(metadata_file), "a JSON object of construct metadata")
            if not isinstance(extra, dict):
                raise AssemblyError(
                    f"{directory / str(metadata_file)}: expected a JSON object, got {type(extra).__name__}"
                )
            metadata.update(extra)
        stacks[artifact_id] = AssemblyStack(
            artifact_id=artifact_id,
            stack_name=str(properties.get("stackName") or artifact_id),
            account=environment.group(1),
            region=environment.group(2),
            template=template,
            dependencies=tuple(str(d) for d in dependencies if d in stack_ids),
            deploy_role_arn=str(properties.get("assumeRoleArn", "")),
            execution_role_arn=str(properties.get("cloudFormationExecutionRoleArn", "")),
            termination_protection=bool(properties.get("terminationProtection", False)),
            metadata=metadata,
        )
    return CloudAssembly(directory=directory, stacks=stacks)
