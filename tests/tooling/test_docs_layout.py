"""Pages lead with operations: a "What | Where" table first, generated reference blocks last, links that land.

Each architecture page opens with the same table (code, tests, the page's sections), then how it
works and how to deploy, release, roll back and change it; the generated test lists and exception
tables sit under a final ``## Reference`` heading (issue 22). The page's generated test list and the
table's "Tests" row name the same files (``tools.docgen.pages.TEST_FILES``), so a page has one list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.docgen import pages

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE_PAGES = (
    "docs/network.md",
    "docs/ecs-blue-green.md",
    "docs/deploy.md",
    "docs/github-oidc.md",
    "docs/security.md",
    "docs/rehearsal.md",
    "docs/sample-app.md",
)
#: The generated blocks that are the page's content, not its reference: they may come first.
LEADING_BLOCKS = frozenset({"diagram", "gates", "cost", "overview diagram"})
FENCE = re.compile(r"^```.*?^```$", re.M | re.S)
TEST_FILE = re.compile(r"`((?:tests|tools/rehearsal/tests)/[\w/]+\.py)`")


def _prose(text: str) -> str:
    """The page without its fenced code (a ``# comment`` in a shell block is no heading)."""
    return FENCE.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(line, level, title) of every heading outside fenced code."""
    found = []
    for number, line in enumerate(_prose(text).splitlines(), 1):
        match = re.match(r"(#{1,6}) (.*)", line)
        if match:
            found.append((number, len(match.group(1)), match.group(2).strip()))
    return found


def slug(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _what_where(page: str, text: str) -> dict[str, str]:
    """The rows of the table between the title and the first ``##`` heading, by their first cell."""
    first_section = next((line for line, level, _ in _headings(text) if level == 2), None)
    lead = text.splitlines()[: (first_section or 0) - 1]
    header = next((i for i, line in enumerate(lead) if re.match(r"\|\s*What\s*\|\s*Where\s*\|", line)), None)
    assert header is not None, f"{page}: no '| What | Where |' table before its first section"
    rows = {}
    for line in lead[header + 2 :]:
        if not line.startswith("|"):
            break
        first, rest = line.strip("|").split("|", 1)
        rows[first.strip()] = rest
    return rows


@pytest.mark.parametrize("page", ARCHITECTURE_PAGES)
def test_each_page_opens_with_what_where_naming_tests_and_sections(page: str) -> None:
    text = (ROOT / page).read_text()
    rows = _what_where(page, text)
    assert {"Tests", "Sections"} <= set(rows), f"{page}: the What | Where table needs a Tests and a Sections row"
    anchors = {slug(title) for _, _, title in _headings(text)}
    missing = [a for a in re.findall(r"\]\(#([^)]+)\)", rows["Sections"]) if a not in anchors]
    assert not missing, f"{page}: the Sections row links to no heading: {missing}"
    assert "reference" in re.findall(r"\]\(#([^)]+)\)", rows["Sections"]) or "## Reference" not in text


@pytest.mark.parametrize("page", sorted(pages.TEST_FILES))
def test_the_tests_row_names_the_files_of_the_generated_test_list(page: str) -> None:
    row = _what_where(page, (ROOT / page).read_text())["Tests"]
    named = TEST_FILE.findall(row)
    listed = set(pages.TEST_FILES[page])
    assert listed <= set(named), f"{page}: the Tests row lacks {sorted(listed - set(named))}"
    # A file the generated list leaves out is named for some of its cases only ("the CIDR cases of ...").
    partial = [name for name in named if name not in listed and f"cases of `{name}`" not in row]
    assert not partial, f"{page}: the Tests row names {partial}, which the generated list (TEST_FILES) does not"


@pytest.mark.parametrize("page", ARCHITECTURE_PAGES)
def test_generated_reference_blocks_come_last_under_reference(page: str) -> None:
    text = (ROOT / page).read_text()
    sections = [(line, title) for line, level, title in _headings(text) if level == 2]
    reference = next((line for line, title in sections if title == "Reference"), None)
    names = [block.name for block in pages.blocks() if block.page == page and block.name not in LEADING_BLOCKS]
    if not names:
        return
    assert reference is not None, f"{page}: generated {names} but no '## Reference' section"
    assert sections[-1][1] == "Reference", f"{page}: '## {sections[-1][1]}' comes after '## Reference'"
    for name in names:
        at = text[: text.index(pages.begin_marker(name))].count("\n") + 1
        assert at > reference, f"{page}:{at}: the generated '{name}' block comes before '## Reference' ({reference})"


def test_every_link_to_a_section_lands_on_a_heading() -> None:
    documents = ["README.md", *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "docs").glob("*.md")))]
    anchors = {doc: {slug(title) for _, _, title in _headings((ROOT / doc).read_text())} for doc in documents}
    broken = []
    for doc in documents:
        for target, anchor in re.findall(r"\]\(([\w./-]*\.md)?#([\w-]+)\)", _prose((ROOT / doc).read_text())):
            page = str((ROOT / doc).parent.joinpath(target).resolve().relative_to(ROOT)) if target else doc
            if anchor not in anchors.get(page, set()):
                broken.append(f"{doc}: ({target}#{anchor})")
    assert not broken, "\n".join(broken)
