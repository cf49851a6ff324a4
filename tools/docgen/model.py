"""A read-only view of one synthesized app: stacks, their accounts, resources and references.

Resources are named by their construct path inside the stack (``Service/BlueTargetGroup``),
read from the construct metadata the synth writes into the assembly, because logical ids carry
hashes that make poor labels.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from components.compliance.nag import synthesized_acknowledgements
from config import Config, load_config
from stacks.assembly import AssemblyStack, read_assembly
from stacks.delivery_app import build_app

ROOT = Path(__file__).resolve().parent.parent.parent
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: The construct metadata entry that gives a CloudFormation element's logical id.
LOGICAL_ID_METADATA = "aws:cdk:logicalId"
SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@dataclass(frozen=True)
class Reference:
    """One intrinsic reference from a resource property to a resource (possibly in another stack)."""

    stack: str
    logical_id: str
    #: The top-level property the reference sits in (``TargetGroupArn`` is under ``DefaultActions``).
    via: str


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    #: Construct path inside the stack, without the trailing ``/Resource``; the logical id if unknown.
    path: str
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]

    @property
    def short_type(self) -> str:
        return self.type.split("::")[-1]

    def tag(self, key: str) -> str | None:
        for tag in self.properties.get("Tags", []) or []:
            if isinstance(tag, dict) and tag.get("Key") == key and isinstance(tag.get("Value"), str):
                return str(tag["Value"])
        return None


@dataclass(frozen=True)
class Acknowledgement:
    stack: str
    #: Construct path inside the stack.
    path: str
    rule_id: str
    reason: str


@dataclass
class Stack:
    name: str
    account: str
    region: str
    dependencies: tuple[str, ...]
    template: dict[str, Any]
    resources: dict[str, Resource] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Resource]:
        return sorted((r for r in self.resources.values() if r.type in types), key=lambda r: r.path)

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise LookupError(f"{self.name}: expected one {type_}, found {len(found)}")
        return found[0]


@dataclass
class AppModel:
    config: Config
    #: In deploy order (the assembly's, ``stacks.assembly.CloudAssembly.deploy_order``).
    stacks: dict[str, Stack]
    acknowledgements: list[Acknowledgement]

    def stack(self, name: str) -> Stack:
        return self.stacks[name]

    def environment_of(self, account: str) -> str:
        """``tools``, ``dev``, ``staging`` or ``prod`` for one of the configured account ids."""
        accounts = self.config.accounts
        for name in ("tools", "dev", "staging", "prod"):
            if getattr(accounts, name) == account:
                return name
        return account

    def resolve(self, reference: Reference) -> Resource | None:
        stack = self.stacks.get(reference.stack)
        return stack.resources.get(reference.logical_id) if stack else None

    def references(self, resource: Resource) -> list[Reference]:
        """References from ``resource``'s properties, cross-stack ones resolved to their target."""
        found: dict[tuple[str, str, str], Reference] = {}
        for top, value in sorted(resource.properties.items()):
            for stack, logical_id in self._walk(resource.stack, value):
                found.setdefault((stack, logical_id, top), Reference(stack, logical_id, top))
        return sorted(found.values(), key=lambda r: (r.stack, r.logical_id, r.via))

    def _walk(self, stack: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, list):
            for item in value:
                yield from self._walk(stack, item)
        elif isinstance(value, dict):
            if set(value) == {"Ref"} and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
                yield stack, value["Ref"]
            elif set(value) == {"Fn::GetAtt"}:
                target = value["Fn::GetAtt"]
                name = target[0] if isinstance(target, list) else str(target).split(".")[0]
                yield stack, str(name)
            elif set(value) == {"Fn::GetStackOutput"}:
                output = value["Fn::GetStackOutput"]
                other = self.stacks.get(str(output.get("StackName")))
                if other is not None:
                    exported = other.template.get("Outputs", {}).get(output.get("OutputName"), {})
                    yield from self._walk(other.name, exported.get("Value"))
            elif set(value) == {"Fn::Sub"}:
                body = value["Fn::Sub"]
                text = body[0] if isinstance(body, list) else body
                for name in SUB_REFERENCE.findall(str(text)):
                    if not name.startswith("AWS"):
                        yield stack, name
                if isinstance(body, list) and len(body) > 1:
                    yield from self._walk(stack, body[1])
            else:
                for item in value.values():
                    yield from self._walk(stack, item)


def _construct_paths(stack: AssemblyStack) -> dict[str, str]:
    """Logical id -> construct path inside the stack, for every CloudFormation element of ``stack``.

    Read from the construct metadata CDK writes into the assembly (``aws:cdk:logicalId``, the id
    as the template has it, overrides included), not from the construct tree: walking the tree
    costs several calls to aws-cdk-lib per construct.
    """
    paths = {}
    prefix = f"/{stack.artifact_id}/"
    for path, entries in stack.metadata.items():
        for entry in entries:
            if entry.get("type") == LOGICAL_ID_METADATA and isinstance(entry.get("data"), str):
                inner = path.removeprefix(prefix)
                for suffix in ("/Resource", "/Default"):
                    inner = inner.removesuffix(suffix)
                paths[entry["data"]] = inner
    return paths


def build_model(app: cdk.App, assembly: cdk.cx_api.CloudAssembly, config: Config) -> AppModel:
    """The model of an app that ``stacks.delivery_app.build_app`` built and synthesized."""
    stacks: dict[str, Stack] = {}
    acknowledged: list[tuple[str, str, str]] = []
    for synthesized in read_assembly(Path(assembly.directory)).deploy_order():
        acknowledged.extend(synthesized_acknowledgements(synthesized.metadata))
        name = synthesized.stack_name
        template = json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(synthesized.template)))
        paths = _construct_paths(synthesized)
        stack = Stack(
            name=name,
            account=synthesized.account,
            region=synthesized.region,
            dependencies=tuple(sorted(synthesized.dependencies)),
            template=template,
        )
        for logical_id, body in template.get("Resources", {}).items():
            stack.resources[logical_id] = Resource(
                stack=name,
                logical_id=logical_id,
                type=str(body.get("Type")),
                path=paths.get(logical_id, logical_id),
                properties=body.get("Properties", {}) or {},
                metadata=body.get("Metadata", {}) or {},
            )
        stacks[name] = stack
    acks = []
    for path, rule_id, reason in acknowledged:
        stack_name, _, inner = path.partition("/")
        for suffix in ("/Resource", "/Default"):
            inner = inner.removesuffix(suffix)
        acks.append(Acknowledgement(stack=stack_name, path=inner or stack_name, rule_id=rule_id, reason=reason))
    return AppModel(config=config, stacks=stacks, acknowledgements=acks)


def synthesize(config_path: Path) -> AppModel:
    """Build and synthesize the app in this process the way the tests do (asset bundling off)."""
    config = load_config(config_path)
    context = {
        **json.loads((ROOT / "cdk.json").read_text())["context"],
        "aws:cdk:bundling-stacks": [],
        "aws:cdk:version-reporting": False,
    }
    with tempfile.TemporaryDirectory(prefix="docs-cdk.out-") as outdir:
        app = cdk.App(outdir=outdir, context=context)
        build_app(app, config)
        assembly = app.synth()
        return build_model(app, assembly, config)
