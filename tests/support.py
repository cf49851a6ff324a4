"""Helpers shared by the tests: building the app the way app.py does, and snapshot normalization."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions
from cdk_nag import NagPack

from components.compliance.nag import synthesized_acknowledgements
from config import Config
from stacks.assembly import CloudAssembly, read_assembly
from stacks.delivery_app import build_app

ROOT = Path(__file__).resolve().parent.parent
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: The LiveTraffic reader's per-synth property (components/ecs_blue_green/live_traffic_reader.py).
LIVE_TRAFFIC_TYPE = "Custom::LiveTraffic"
LIVE_TRAFFIC_NONCE = "Nonce"

#: The stacks of the sandbox configuration in the deployment order docs/deploy.md gives: what the
#: tests expect the assembly's dependencies to produce (tests/architecture/test_stack_order.py).
DOCUMENTED_ORDER = (
    "Tools-GithubOidc",
    "Tools-PipelineRole",
    "Dev-DeployRole",
    "Staging-DeployRole",
    "Prod-DeployRole",
    "Tools-Pipeline",
    "Dev-Network",
    "Dev-Service",
    "Staging-Network",
    "Staging-Service",
    "Prod-Network",
    "Prod-Service",
)


def logical_id(element: Any) -> str:
    """The logical id of a CloudFormation element as the template has it.

    ``Stack.get_logical_id`` gives the id CDK allocates from the path; this also honours an
    override (none in this app: tests/architecture/test_logical_ids.py).
    """
    resolved = cdk.Stack.of(element).resolve(element.logical_id)
    assert isinstance(resolved, str)
    return resolved


def cdk_json_context() -> dict[str, Any]:
    """The context committed in cdk.json (the feature flags)."""
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def new_app(outdir: str, *, validate_templates: bool = True, **extra_context: Any) -> cdk.App:
    """An App with the committed context, asset bundling off and no version metadata.

    ``validate_templates=False`` leaves out aws-cdk-lib's CloudFormation template validation, for
    the synths whose templates are only compared (the day-2 diffs): the session synths of the
    committed configurations run it, as ``make synth`` does. The context flag
    ``@aws-cdk/core:validateAgainstDefaultRules`` would not do: it only sets the findings'
    severity, the validation runs either way.
    """
    context = {
        **cdk_json_context(),
        "aws:cdk:bundling-stacks": [],
        "aws:cdk:version-reporting": False,
        **extra_context,
    }
    return cdk.App(outdir=outdir, context=context, builtin_cloud_formation_validation=validate_templates)


@dataclass
class SynthesizedApp:
    """One synthesized app. Templates are read across jsii once per stack, then cached."""

    app: cdk.App
    packs: tuple[NagPack, ...]
    assembly: cdk.cx_api.CloudAssembly
    _raw_templates: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _templates: dict[str, assertions.Template] = field(default_factory=dict, repr=False)

    @property
    def stack_names(self) -> list[str]:
        return sorted(stack.stack_name for stack in self.assembly.stacks)

    @property
    def deploy_order(self) -> list[str]:
        """The stack names in the order the assembly's dependencies give (what the tools deploy in)."""
        return [stack.stack_name for stack in self.manifest.deploy_order()]

    @cached_property
    def manifest(self) -> CloudAssembly:
        """The assembly as the tools read it: manifest.json, without the CDK."""
        return read_assembly(Path(self.assembly.directory))

    @cached_property
    def acknowledgements(self) -> list[tuple[str, str, str]]:
        """Every nag acknowledgement of the app as (construct path, rule id, reason), read from the assembly.

        The same list as ``components.compliance.nag.acknowledgements(app)`` (a test compares them on a
        probe), without walking the construct tree across jsii: 1.2 to 2 s for the whole app.
        """
        return [found for stack in self.manifest for found in synthesized_acknowledgements(stack.metadata)]

    @cached_property
    def resource_paths(self) -> dict[str, dict[str, str]]:
        """Stack name to {logical id: construct path inside the stack}, read from the assembly.

        CDK writes an ``aws:cdk:logicalId`` entry for every CloudFormation element into the stack's
        metadata; reading it here spares a walk of every construct across jsii (about 0.2 s a stack
        kind, each time a test needed the paths).
        """
        return {
            stack.stack_name: {
                entry["data"]: path.removeprefix(f"/{stack.artifact_id}/")
                for path, entries in stack.metadata.items()
                for entry in entries
                if entry.get("type") == "aws:cdk:logicalId"
            }
            for stack in self.manifest
        }

    def stack(self, name: str) -> cdk.Stack:
        construct = self.app.node.find_child(name)
        assert isinstance(construct, cdk.Stack)
        return construct

    def raw_template(self, name: str) -> dict[str, Any]:
        """The template as plain data (a fresh copy: callers may change it)."""
        if name not in self._raw_templates:
            self._raw_templates[name] = dict(self.assembly.get_stack_by_name(name).template)
        return copy.deepcopy(self._raw_templates[name])

    def template(self, name: str) -> assertions.Template:
        if name not in self._templates:
            self._templates[name] = assertions.Template.from_json(self.raw_template(name))
        return self._templates[name]


def synthesize(config: Config, outdir: str, *, validate_templates: bool = True, **extra_context: Any) -> SynthesizedApp:
    app = new_app(outdir, validate_templates=validate_templates, **extra_context)
    packs = build_app(app, config)
    return SynthesizedApp(app=app, packs=packs, assembly=app.synth())


def normalize_template(template: dict[str, Any]) -> dict[str, Any]:
    """Drop what changes with the CDK version, asset contents or the synth (the reader's nonce), keep the design."""
    template = json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    template.get("Parameters", {}).pop("BootstrapVersion", None)
    template.get("Rules", {}).pop("CheckBootstrapVersion", None)
    template.get("Resources", {}).pop("CDKMetadata", None)
    # A new value at every synth, by design: the reader must run at every deploy.
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == LIVE_TRAFFIC_TYPE and LIVE_TRAFFIC_NONCE in resource.get("Properties", {}):
            resource["Properties"][LIVE_TRAFFIC_NONCE] = "<nonce>"
    for section in ("Parameters", "Rules", "Conditions"):
        if section in template and not template[section]:
            del template[section]
    return template
