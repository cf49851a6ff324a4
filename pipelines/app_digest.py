"""The release tag of the service image: a digest of what goes into the image, not of the commit.

Usage (pipelines/buildspec.yml):
    python -m pipelines.app_digest --context service_app --base-image-digest <repo@sha256:...>

Prints ``release-<40 hex>``: the SHA-256 of every file Docker copies from the build context
(its ``.dockerignore`` decides which), of the Dockerfile, and of the base image's digest as
pulled by this build. A commit that leaves the application alone (an infrastructure-only
change) therefore gets the tag of the image already in ECR: the build pushes nothing, the
service stack's ``ImageTag`` parameter keeps its value, the task definition does not change, and
no ECS deployment starts (docs/deploy.md, "One commit from push to prod"). A patched base image
changes the digest, so security updates of the base still reach production on the next commit.

Exit status 2 with one line for a context without a Dockerfile or a malformed base digest.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import re
import sys
from pathlib import Path

#: Every release image's tag starts with it; the repository's lifecycle policy keeps the newest by it.
RELEASE_TAG_PREFIX = "release-"
#: How many hex digits of the digest go into the tag (ECR tags may be 128 characters long).
TAG_DIGITS = 40
#: ``name@sha256:<64 hex>``, what ``docker inspect --format '{{index .RepoDigests 0}}'`` prints.
BASE_DIGEST = re.compile(r"^[\w./:-]+@sha256:[0-9a-f]{64}$")


class DigestError(Exception):
    """Bad input; the message is the one line a user sees."""


def _ignore_patterns(context: Path) -> list[tuple[bool, str]]:
    """The ``.dockerignore`` rules in order: (is an exception ``!``, pattern)."""
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file():
        return []
    rules = []
    for line in ignore_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((negated, line[1:] if negated else line))
    return rules


def _matches(path: str, pattern: str) -> bool:
    """Docker's matching, as far as this project's .dockerignore uses it: ``*``, ``**`` and prefixes."""
    pattern = pattern.rstrip("/")
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-3] + "/")
    if "**/" in pattern:
        head, _, tail = pattern.partition("**/")
        return path.startswith(head) and any(
            fnmatch.fnmatchcase("/".join(path.split("/")[i:]), tail) for i in range(len(path.split("/")))
        )
    return fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + "/")


def context_files(context: Path) -> list[str]:
    """The files of ``context`` that Docker sends to the build, sorted, as POSIX paths relative to it."""
    rules = _ignore_patterns(context)
    included = []
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context).as_posix()
        keep = True
        for negated, pattern in rules:
            if _matches(relative, pattern):
                keep = negated
        if keep:
            included.append(relative)
    return included


def release_tag(context: Path, base_image_digest: str) -> str:
    """``release-<digest>`` of the build context's files, the Dockerfile and the base image digest."""
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise DigestError(f"{context}: no Dockerfile; expected the service image's build context (service_app)")
    if not BASE_DIGEST.match(base_image_digest):
        raise DigestError(
            f"--base-image-digest {base_image_digest!r}: expected <image>@sha256:<64 hex digits>, "
            "as docker inspect --format '{{index .RepoDigests 0}}' prints it"
        )
    digest = hashlib.sha256()
    digest.update(f"base {base_image_digest}\n".encode())
    for relative in sorted({*context_files(context), "Dockerfile"}):
        content = (context / relative).read_bytes()
        digest.update(f"file {relative} {len(content)}\n".encode())
        digest.update(content)
    return f"{RELEASE_TAG_PREFIX}{digest.hexdigest()[:TAG_DIGITS]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.app_digest", description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=Path, required=True, help="the image's build context (service_app)")
    parser.add_argument("--base-image-digest", required=True, help="<image>@sha256:<digest> of the pulled base")
    arguments = parser.parse_args(argv)
    try:
        print(release_tag(arguments.context, arguments.base_image_digest))
    except DigestError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
