"""Every ```python block of the documentation runs as written.

Each page (every Markdown file under ``docs/``, and ``README.md``) is one test: its python blocks
run in order in one fresh namespace, starting from nothing, in a temporary working directory so
that examples which write files leave the checkout untouched. Blocks that are not meant to run
(shell commands, program output) are fenced as ``bash`` / ``text``; no python block is skipped.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
PYTHON_TAGS = {"python", "py", "python3"}
#: An opening or closing fence: indentation, three or more backticks, the info string.
FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})(?P<info>[^`]*)$")


def dedent(line: str, indent: int) -> str:
    """``line`` without up to ``indent`` leading spaces."""
    stripped = line[:indent].lstrip(" ")
    return stripped + line[indent:]


def fenced_blocks(text: str) -> list[tuple[int, str, str]]:
    """The fenced code blocks of a Markdown text as ``(line of the opening fence (1-based),
    language tag, code)``; the code is dedented by the fence's indentation."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, ticks = len(opening["indent"]), opening["ticks"]
        tag = opening["info"].strip().split(" ")[0].lower() if opening["info"].strip() else ""
        body = []
        j = i + 1
        while j < len(lines):
            closing = FENCE.match(lines[j])
            if closing is not None and closing["ticks"] == ticks and not closing["info"].strip():
                break
            body.append(dedent(lines[j], indent))
            j += 1
        blocks.append((i + 1, tag, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def run_block(code: str, line: int, name: str, namespace: dict[str, object]) -> str | None:
    """Run one block in ``namespace``; the formatted exception, or ``None`` when it ran.

    Line numbers in the traceback point into the page: the code starts after the fence."""
    try:
        exec(compile("\n" * line + code, name, "exec"), namespace)
    except Exception:
        return traceback.format_exc(limit=-3)
    return None


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_parser_finds_blocks_their_lines_and_tags():
    text = ("intro\n```python\nx = 1\n```\n\n"
            "!!! note\n    ```bash\n    make test\n    ```\n"
            "```\nplain\n```\n")
    assert fenced_blocks(text) == [(2, "python", "x = 1\n"), (7, "bash", "make test\n"),
                                   (10, "", "plain\n")]


def test_the_docs_hold_python_blocks():
    """Guards the parametrisation below against finding nothing (a moved folder, a new fence
    style) and passing vacuously."""
    count = sum(tag in PYTHON_TAGS for page in PAGES
                for _, tag, _ in fenced_blocks(page.read_text(encoding="utf-8")))
    assert count >= 8


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_fence_names_its_language(page):
    """A fence without a language would escape the test below: runnable code is ``python``,
    the rest ``bash``, ``text``, ``yaml``, ..."""
    bare = [line for line, tag, _ in fenced_blocks(page.read_text(encoding="utf-8")) if not tag]
    assert not bare, f"{page_id(page)}: fences without a language at lines {bare}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for line, tag, code in fenced_blocks(page.read_text(encoding="utf-8")):
        if tag not in PYTHON_TAGS:
            continue
        error = run_block(code, line, page_id(page), namespace)
        if error is not None:
            pytest.fail(f"{page_id(page)}: the python block at line {line} raised\n{error}",
                        pytrace=False)
