"""The docs agree with the code: every path and code name README.md and docs/*.md put in backticks exists.

A span in backticks is checked when it looks like one of these (anything else, a URL, a CLI flag, a
cdk-nag rule id, a sentence, is prose and is left alone):

- **a repository path**: its first part is a file or folder at the repository's root, or it ends in a
  file extension. ``<placeholder>`` parts (``config/<name>.toml``) match any name, and at least one
  file must match. A bare file name (``handler.py``) must be the name of some file of the repository,
  or one of the files a run writes (``GENERATED_FILES``).
- **a command**: ``make <target>`` names a target of the Makefile, ``python -m <module>`` a module of
  the repository; a path in a command is checked as a path. ``day-2 <scenario>`` names a scenario of
  the rehearsal (a string of ``tools/rehearsal/day2.py``).
- **a code name**: an identifier or a dotted name (``release_guard.lock``, ``Names.bake_alarms``,
  ``build_app()``; every part of a dotted name). The repository's Python must spell it in its code,
  not only in a docstring or a comment: a module, class, function, attribute, argument, constant, a
  word of a one-line string (a CloudFormation property such as ``DesiredCount``, an event such as
  ``AfterAllowTestTraffic``) or a name an f-string builds (``BlueGreen{target.title}``). Or it is a
  key of a committed configuration (``config/*.toml``; a table in brackets must be one of theirs), a
  target or variable of the Makefile, a key of the workflows, an AWS API name of the botocore models
  of ``AWS_SERVICES``, a parameter of the pinned CDK CLI's bootstrap template, a camelCase name of
  the pinned CDK CLI's bundle, or one of the few ``EXTERNAL_NAMES``.

Generated blocks and fenced code blocks are skipped: the generator writes the one from the code (and
``test_docs.py`` proves it current), the other is an example to copy, not a reference.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = str(Path(__file__).resolve().relative_to(ROOT))

PAGES = ("README.md", *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md")))

#: Folders that hold no code of this repository.
SKIPPED_DIRS = frozenset({".git", ".venv", ".venv-scan", "node_modules", "cdk.out", "__pycache__", ".mypy_cache"})
SKIPPED_DIRS |= {".pytest_cache", ".ruff_cache", "release", "reports"}

#: Files a build, a release or a deploy writes; the docs name them, the repository does not hold them.
GENERATED_FILES = frozenset(
    {
        "taskdef.json",  # pipelines/release_inputs.py
        "appspec.yaml",  # pipelines/release_inputs.py
        "imagedefinitions.json",  # pipelines/release_inputs.py
        "imageDetail.json",  # the ECR source action's output
        "cdk.context.json",  # the CDK CLI's context cache
        "manifest.json",  # the cloud assembly's manifest (cdk.out/manifest.json)
        "tree.json",  # the cloud assembly's construct tree
        "cfn-exec.json",  # written by docs/deploy.md's bootstrap step
    }
)
GENERATED_DIRS = frozenset({"cdk.out", "release", "reports", ".venv", ".venv-scan", "node_modules"})

#: The AWS services whose API names (operations, fields, enum values, error codes) the docs may
#: cite: read from the botocore models the app's boto3 uses, not copied here.
AWS_SERVICES = (
    "application-autoscaling",
    "cloudformation",
    "cloudwatch",
    "codebuild",
    "codedeploy",
    "codepipeline",
    "ecr",
    "ecs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "secretsmanager",
    "sns",
    "ssm",
    "sts",
)
#: The pinned CDK CLI's bundle (package.json) and bootstrap template: the CLI internals and the
#: bootstrap parameters the docs cite are looked up there.
CDK_CLI_BUNDLE = ROOT / "node_modules" / "aws-cdk" / "lib" / "index.js"
CDK_BOOTSTRAP_TEMPLATE = ROOT / "node_modules" / "aws-cdk" / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"

#: Names the docs explain that neither this repository's code nor the sources above spell.
EXTERNAL_NAMES = frozenset(
    {
        # aws-cdk-lib properties, in their TypeScript spelling as the CDK's docs give them
        "restartExecutionOnUpdate",
        "ConfirmPermissionsBroadening",
        # aws-cdk-lib's CfnElement.override_logical_id, in its Python spelling (the API reference)
        "override_logical_id",
        # @cdklabs/cdk-validator-cfnguard, the plugin docs/speed.md measured and docs/security.md declines
        "CloudFormationValidatePlugin",
        "CloudFormationValidatePluginProps",
        "includeDefaultRules",
        "disabled_rules",
        # the configuration of CodePipeline actions and rules (user guide, action and rule references)
        "AlarmStates",
        "WaitTime",
        "UserParameters",
        # CloudWatch metrics, AWS managed policies, CodeDeploy lifecycle events
        "HTTPCode_ELB_503_Count",
        "AmazonECSInfrastructureRolePolicyForLoadBalancers",
        "Install",
        # IAM actions that are no API operation
        "PassRole",
        # Terraform's lifecycle setting, the one CDK lacks (aws/aws-cdk#36649)
        "ignore_changes",
        # moto's internals that tools/rehearsal/server.py patches
        "ResourceMap.delete",
    }
)

#: The commands whose arguments are checked as paths (``make synth CONFIG=config/x.toml``).
COMMANDS = frozenset({"make", "python", "cdk", "aws", "npx", "git", "bash"})

EXTENSIONS = frozenset({"py", "md", "toml", "json", "yml", "yaml", "txt", "mjs", "js", "sh", "cfg", "ini", "guard"})
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
GENERATED = re.compile(r"<!-- BEGIN GENERATED ([^:]+):.*?<!-- END GENERATED \1 -->", re.S)
SPAN = re.compile(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)?)`(?!`)")
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
CODE_NAME = re.compile(rf"{IDENTIFIER}(?:\.{IDENTIFIER})*(?:\(\))?")
PLACEHOLDER_NAME = re.compile(rf"(?:{IDENTIFIER}|<\w+>)(?:\.(?:{IDENTIFIER}|<\w+>))*")
TOML_TABLE = re.compile(rf"\[\[?({PLACEHOLDER_NAME.pattern})\]\]?")
PATH_WORD = re.compile(r"[\w.<>*-]+(?:/[\w.<>*-]*)*")
EXTENSION = re.compile(r"\.(?:" + "|".join(sorted(EXTENSIONS)) + r")$")


@dataclass(frozen=True)
class Span:
    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: `{self.text}`"


def spans(page: str, text: str) -> Iterator[Span]:
    """The inline code spans of a page, with their line, outside fenced and generated blocks."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match.group(0).count("\n")

    text = GENERATED.sub(blank, FENCE.sub(blank, text))
    for match in SPAN.finditer(text):
        yield Span(page, text.count("\n", 0, match.start()) + 1, " ".join(match.group(1).split()))


# -- what the repository defines ------------------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    files: frozenset[str]  # every file's path, relative to the root
    basenames: frozenset[str]
    modules: frozenset[str]  # dotted module names
    names: frozenset[str]  # every name the Python defines or uses as a string
    patterns: tuple[re.Pattern[str], ...]  # the names f-strings build (f"BlueGreen{target.title}")
    strings: frozenset[str]  # every one-line string of the code, whole ("desired-count")
    make_targets: frozenset[str]
    toml_keys: frozenset[str]  # the dotted keys of config/*.toml: environments.dev.alarms
    root_entries: frozenset[str]


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        rel = os.path.relpath(folder, root)
        for name in files:
            yield name if rel == "." else f"{rel}/{name}"


#: Python's strings and comments: docstrings and comments are prose (a name only they mention is not
#: defined), one-line strings are kept (``"DesiredCount"``, ``f"BlueGreen{target.title}"``).
PYTHON_PROSE = re.compile(
    r'(?P<prose>[rRbBuU]?"""[\s\S]*?"""|[rRbBuU]?\'\'\'[\s\S]*?\'\'\'|#[^\n]*)'
    r'|(?P<f>[fF][rR]?)?(?P<string>"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')'
)
PYTHON_NAME = re.compile(r"[A-Za-z_]\w*(?:[.:][A-Za-z_]\w*)*")


def _python_names(source: str, names: set[str], patterns: set[str], strings: set[str]) -> None:
    """Every name the code (not its docstrings or comments) spells, and the names its f-strings build.

    A regular expression rather than ``ast``: parsing the repository's 1.4 MB of Python takes about
    2 s on the shared build machine, this about 0.2 s, and a name is a name wherever the code has it.
    """

    def keep(match: re.Match[str]) -> str:
        if match.group("prose"):
            return " "
        strings.add(match.group("string")[1:-1])
        if match.group("f"):
            parts = re.split(r"\{[^{}]*\}", match.group("string")[1:-1])
            if len("".join(parts)) >= 4 and all(re.fullmatch(r"\w*", part) for part in parts):
                patterns.add(r"\w+".join(re.escape(part) for part in parts))
        return match.group(0)

    code = PYTHON_PROSE.sub(keep, source)
    for name in PYTHON_NAME.findall(code):
        names.add(name)
        if "." in name or ":" in name:
            names.update(re.split(r"[.:]", name))


def _aws_names(names: set[str]) -> None:
    """Every name the botocore models of ``AWS_SERVICES`` spell: operations, shapes, fields, enum values, errors.

    The quoted words of the model files rather than their JSON: a third of the time, and the same names.
    """
    import botocore

    data = Path(botocore.__file__).parent / "data"
    for service in AWS_SERVICES:
        model = gzip.decompress((max((data / service).iterdir()) / "service-2.json.gz").read_bytes())
        names.update(name.decode() for name in re.findall(rb'"([A-Za-z_][\w.]*)"', model))


def _toml_keys(value: object, prefix: str, keys: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            keys.add(path)
            _toml_keys(item, path, keys)
    elif isinstance(value, list):
        for item in value:
            _toml_keys(item, prefix, keys)


@cache
def repository() -> Repository:
    files = frozenset(_walk(ROOT))
    names: set[str] = set(EXTERNAL_NAMES)
    patterns: set[str] = set()
    toml_keys: set[str] = set()
    strings: set[str] = set()
    modules: set[str] = set()
    for path in files:
        if not path.endswith(".py") or path == THIS_FILE:  # its cases name missing things on purpose
            continue
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        modules.add(module)
        modules.update(module.rsplit(".", n)[0] for n in range(1, module.count(".") + 1))
        _python_names((ROOT / path).read_text(), names, patterns, strings)
    _aws_names(names)
    names.update(re.findall(r"^  (\w+):", CDK_BOOTSTRAP_TEMPLATE.read_text(), re.M))
    for path in files:
        if path.startswith("config/") and path.endswith(".toml"):
            _toml_keys(tomllib.loads((ROOT / path).read_text()), "", toml_keys)
    names.update(part for key in toml_keys for part in key.split("."))
    makefile = (ROOT / "Makefile").read_text()
    targets = frozenset(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    names.update(re.findall(r"^([A-Z_]+) [:?]?=", makefile, re.M))
    names.update(re.findall(r"\$\(([A-Z_]+)\)", makefile))
    for path in files:
        if path.startswith(".github/workflows/"):
            names.update(re.findall(r"^\s*([\w-]+):", (ROOT / path).read_text(), re.M))
    return Repository(
        files=files,
        basenames=frozenset(path.rsplit("/", 1)[-1] for path in files) | GENERATED_FILES,
        modules=frozenset(modules),
        names=frozenset(names),
        patterns=tuple(re.compile(pattern) for pattern in sorted(patterns)),
        strings=frozenset(strings),
        make_targets=targets,
        toml_keys=frozenset(toml_keys),
        root_entries=frozenset(path.split("/", 1)[0] for path in files),
    )


# -- checking one span ----------------------------------------------------------------------------


def _glob(text: str) -> re.Pattern[str]:
    """``<placeholder>`` and ``*`` match within one part of a path or name, ``**`` across parts."""
    pattern = re.escape(text).replace(r"\*\*", ".*").replace(r"\*", r"[^/.]*")
    return re.compile(re.sub(r"<[^<>]+>", r"[^/.]+", pattern))


def _path_exists(repo: Repository, path: str) -> bool:
    path = path.removeprefix("./").rstrip("/:").split("#", 1)[0]
    if not path or path.split("/", 1)[0] in GENERATED_DIRS:
        return True
    if "<" not in path and "*" not in path and (ROOT / path).exists():
        return True
    if "/" not in path:
        return path in repo.basenames or any(_glob(path).fullmatch(name) for name in repo.basenames)
    pattern = _glob(path)
    # A folder, a file, or a path relative to its construct's folder (hook/handler.py).
    return any(
        pattern.fullmatch(file) or (pattern.search(f"/{file}") and file.endswith(path)) for file in repo.files
    ) or any(pattern.fullmatch(file.rsplit("/", n)[0]) for file in repo.files for n in range(1, file.count("/") + 1))


def _looks_like_path(repo: Repository, word: str) -> bool:
    if "://" in word or word.startswith(("/", "-", "~")) or not PATH_WORD.fullmatch(word):
        return False
    if EXTENSION.search(word):
        return True
    first = word.split("/", 1)[0]
    return "/" in word and (first in repo.root_entries or first in GENERATED_DIRS)


@cache
def _cdk_cli_bundle() -> bytes:
    return CDK_CLI_BUNDLE.read_bytes()


def _module_exists(repo: Repository, module: str) -> bool:
    """A module of the repository (``app.server`` as the image runs it from ``service_app/``) or installed."""
    if module in repo.modules or any(m.endswith(f".{module}") for m in repo.modules):
        return True
    top = module.split(".", 1)[0]
    return top not in repo.modules and importlib.util.find_spec(top) is not None


def _code_name_exists(repo: Repository, name: str) -> bool:
    name = name.removesuffix("()")
    if name in repo.names or name in repo.modules or name in EXTERNAL_NAMES:
        return True
    if "<" in name:  # environments.<env>.vpc_cidr, com.amazonaws.<region>.logs
        pattern = _glob(name)
        if any(pattern.fullmatch(key) for key in repo.toml_keys):
            return True
        return all(part in repo.names for part in name.split(".") if not part.startswith("<"))
    if any(pattern.fullmatch(name) for pattern in repo.patterns):
        return True
    # Names.bake_alarms, release_guard.lock.hold, network_stack.network: every part is a known name.
    if "." in name and all(part in repo.names or part in repo.modules for part in name.split(".")):
        return True
    # The CDK CLI's own functions and classes (docs/github-oidc.md cites how it reads templates).
    if "_" in name:
        return False
    return all(part.encode() in _cdk_cli_bundle() for part in name.split("."))


def _is_code_name(text: str) -> bool:
    """An identifier or a dotted name; an all-capitals word without ``_`` is an acronym (``ECS``, ``HTTP``)."""
    if TOML_TABLE.fullmatch(text) or (PLACEHOLDER_NAME.fullmatch(text) and "<" in text):
        return True
    return bool(CODE_NAME.fullmatch(text)) and (not text.isupper() or "_" in text)


def problems_of(span: Span, repo: Repository) -> list[str]:
    """What ``span`` names that the repository does not have: one phrase per missing name."""
    words = span.text.split()
    if len(words) == 2 and words[0] == "day-2" and not words[1].startswith("<"):  # a rehearsal scenario
        return [] if words[1] in repo.strings else [f"no day-2 scenario {words[1]}"]
    if len(words) > 1:
        if words[0] not in COMMANDS:
            return []  # prose, an error message, a key = value
        problems = []
        if words[0] == "make" and re.fullmatch(r"[a-z][\w-]*", words[1]) and words[1] not in repo.make_targets:
            problems.append(f"no Makefile target {words[1]}")
        if words[:2] == ["python", "-m"] and len(words) > 2 and not _module_exists(repo, words[2]):
            problems.append(f"no module {words[2]}")
        for word in words[1:]:
            word = word.split("=", 1)[-1].strip("\"',;()")
            if "/" in word and _looks_like_path(repo, word) and not _path_exists(repo, word):
                problems.append(f"no path {word}")
        return problems
    text = span.text
    if _looks_like_path(repo, text):
        return [] if _path_exists(repo, text) else [f"no path {text}"]
    if _is_code_name(text):
        table = TOML_TABLE.fullmatch(text)
        if table:  # [environments.<env>]: a table of a committed configuration
            found = any(_glob(table.group(1)).fullmatch(key) for key in repo.toml_keys)
            return [] if found else [f"no configuration table {table.group(1)}"]
        return [] if _code_name_exists(repo, text) else [f"no code name {text}"]
    return []


def all_problems() -> list[str]:
    """One line per missing name: ``<page>:<line>: no ... (`span`)``."""
    repo = repository()
    return [
        f"{span.page}:{span.line}: {problem} (`{span.text}`)"
        for page in PAGES
        for span in spans(page, (ROOT / page).read_text())
        for problem in problems_of(span, repo)
    ]


def test_every_path_and_code_name_in_backticks_exists() -> None:
    problems = all_problems()
    assert not problems, "\n".join(problems)


#: Spans of a made-up page and what the check says about each: the check itself is tested.
CASES = [
    ("`components/ecs_blue_green/service.py`", []),
    ("`components/ecs_blue_green/nothing.py`", ["no path components/ecs_blue_green/nothing.py"]),
    ("`config/<name>.toml`", []),
    ("`config/<name>.json`", ["no path config/<name>.json"]),
    ("`hook/handler.py`", []),
    ("`hook/nothing.py`", ["no path hook/nothing.py"]),
    ("`tests/architecture/`", []),
    ("`taskdef.json`", []),
    ("`ReleasedFargateService`", []),
    ("`ReleasedFargateServices`", ["no code name ReleasedFargateServices"]),
    ("`build_app()`", []),
    ("`add_network_stacks`", ["no code name add_network_stacks"]),
    ("`release_guard.lock`", []),
    ("`Names.bake_alarms`", []),
    ("`Names.no_such_alarm`", ["no code name Names.no_such_alarm"]),
    ("`BlueGreenDev`", []),
    ("`DesiredCount`", []),
    ("`UpdateServicePrimaryTaskSet`", []),
    ("`desired_count`", []),
    ("`[environments.<env>]`", []),
    ("`[environments.<env>.ecs_release]`", []),
    ("`[environment.<env>]`", ["no configuration table environment.<env>"]),
    ("`[[oidc.roles]]`", []),
    ("`make diagrams`", []),
    ("`make diagram`", ["no Makefile target diagram"]),
    ("`make synth CONFIG=config/nothing.toml`", ["no path config/nothing.toml"]),
    ("`python -m release_guard.lock hold`", []),
    ("`python -m release_guard.unlock`", ["no module release_guard.unlock"]),
    ("`day-2 desired-count`", []),
    ("`day-2 desired-counts`", ["no day-2 scenario desired-counts"]),
    ("`ECS`", []),
    ("`--previous-parameters`", []),
    ("`AwsSolutions-IAM5`", []),
    ("`https://example.com/a/b.py`", []),
    ("`a sentence with the word nothing_here`", []),
]


@pytest.mark.parametrize(("markdown", "expected"), CASES, ids=[case[0] for case in CASES])
def test_the_check_of_one_span(markdown: str, expected: list[str]) -> None:
    (span,) = spans("docs/x.md", markdown)
    assert problems_of(span, repository()) == expected


def test_a_problem_names_the_page_and_the_line_and_fenced_and_generated_blocks_are_skipped() -> None:
    text = "\n".join(
        [
            "# Page",
            "```toml",
            "`not_checked_in_a_fence`",
            "```",
            "<!-- BEGIN GENERATED tests: do not edit, run make diagrams -->",
            "`not_checked_in_a_generated_block`",
            "<!-- END GENERATED tests -->",
            "Text with `a_missing_name`, on line 8.",
        ]
    )
    (span,) = spans("docs/x.md", text)
    assert (str(span), problems_of(span, repository())) == (
        "docs/x.md:8: `a_missing_name`",
        ["no code name a_missing_name"],
    )


if __name__ == "__main__":  # pragma: no cover
    import time

    start = time.perf_counter()
    print("\n".join(all_problems()))
    print(f"{time.perf_counter() - start:.3f} s")
