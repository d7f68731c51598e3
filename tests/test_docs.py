"""The docs hold together: every relative link resolves, the README stays a front door, the settings page is generated.

No model, no server, no browser: the Markdown is parsed with markdown-it-py (CommonMark plus tables, as GitHub
reads it) and the settings table is made in-process by the function `rag settings --markdown` prints.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from rag.cli import settings_table  # the function `rag settings --markdown` prints

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_BYTES = 15_360
SETTINGS_START, SETTINGS_END = "<!-- settings:start -->\n", "\n<!-- settings:end -->"

def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading's text: lower case, punctuation but '-' and '_' removed, spaces to '-'.

    ``github_anchor('How it decides to refuse, and what "supported" means') -> 'how-it-decides-to-refuse-and-what-supported-means'``
    ``github_anchor('Building llama.cpp for your machine') -> 'building-llamacpp-for-your-machine'``
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def parse(text: str) -> tuple[list[str], list[str]]:
    """The link and image targets of a Markdown text, and its headings' anchors (a repeated one numbered as
    GitHub does: 'a', 'a-1', …). Code spans and code blocks hold no links.

    ``parse('# A b\\n\\n[x](y.md#a-b) `[no](z.md)` ![i](p.png)\\n\\n## A b') -> (['y.md#a-b', 'p.png'], ['a-b', 'a-b-1'])``
    """
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    targets, anchors, seen = [], [], {}
    for i, token in enumerate(tokens):
        if token.type == "inline":
            for child in token.children or []:
                if child.type == "link_open":
                    targets.append(child.attrs["href"])
                elif child.type == "image":
                    targets.append(child.attrs["src"])
        if token.type == "heading_open":
            words = "".join(c.content for c in tokens[i + 1].children or [] if c.type in ("text", "code_inline"))
            anchor = github_anchor(words)
            anchors.append(anchor if anchor not in seen else f"{anchor}-{seen[anchor]}")
            seen[anchor] = seen.get(anchor, 0) + 1
    return targets, anchors


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Each relative link or image of a page whose file, or whose #anchor in that file, does not exist."""
    targets, own_anchors = parse(page.read_text(encoding="utf-8"))
    broken = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: — not this repository's files
        path_part, _, anchor = unquote(target).partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(root)}")
        elif anchor and file.suffix == ".md":
            anchors = own_anchors if file == page else parse(file.read_text(encoding="utf-8"))[1]
            if anchor not in anchors:
                broken.append(f"{target}: no heading '#{anchor}' in {file.relative_to(root)}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_link_check_finds_links_and_catches_a_broken_one(tmp_path):
    """The checker itself: it sees the README's links, and names a missing file and a missing anchor."""
    readme_targets, _ = parse((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "docs/screenshot.png" in readme_targets and "docs/usage.md" in readme_targets
    (tmp_path / "b.md").write_text("# Here\n", encoding="utf-8")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md#here) [gone](c.md) [no anchor](b.md#there) [self](#top) `[code](d.md)`\n\n# Top\n",
                    encoding="utf-8")
    assert broken_links(page, root=tmp_path) == ["c.md: no file c.md", "b.md#there: no heading '#there' in b.md"]


@pytest.mark.parametrize("heading, anchor", [
    ("Where the suite's time goes", "where-the-suites-time-goes"),
    ("`rag ingest` with nothing changed (2026-12-01)", "rag-ingest-with-nothing-changed-2026-12-01"),
    ("The model server: llama.cpp's own `llama-server`", "the-model-server-llamacpps-own-llama-server"),
    ("Ask the articles — offline question answering", "ask-the-articles--offline-question-answering"),
])
def test_github_anchor(heading, anchor):
    assert github_anchor(heading) == anchor



def test_readme_is_a_front_door():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into a docs/ page"


def test_settings_page_is_the_settings_object():
    """docs/settings.md's table is `rag settings --markdown`: a default or bound changed in code changes the page."""
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page.count(SETTINGS_START) == 1 and page.count(SETTINGS_END) == 1
    assert page.split(SETTINGS_START, 1)[1].split(SETTINGS_END, 1)[0] == settings_table()
