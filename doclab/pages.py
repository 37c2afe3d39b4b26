"""Read a Markdown page into what doclab runs: its fenced code blocks and its markers.

Markers are HTML comments, so a page read by anything else shows none of them:

- ``<!-- exec: id=build exit=0 timeout=120 client=/usr/bin/docker -->`` before a block: its
  capture name, the exit code it is declared to end with (default 0), its time limit in seconds,
  the docker client that runs it when not the page's (default: DOCLAB_DOCKER_CLI), and
  ``trace=true`` to record the block's HTTP requests (see ``doclab.trace``).
- ``<!-- skip: next "reason" -->`` before a block: it is not run, and says why.
- ``<!-- output: build -->``: replaced by the captured output of the block named ``build``.
- ``<!-- walkthrough: build -->``: replaced by a table that explains that output line by line.
- ``<!-- trace: build -->``: replaced by the HTTP requests of that block (``trace=true``), drawn.
- ``<!-- script: all -->``: replaced by a button that copies all the page's steps as one script.

A marker of another name, a marker that is not followed by a block, or a snippet that does
not exist is an error that names the page and the line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
FILE_LANGUAGES = {"dockerfile"}
PYTHON_LANGUAGES = {"python", "py"}
#: Blocks that are drawn, not run: checked by the site build that renders them.
DIAGRAM_LANGUAGES = {"mermaid"}
RUNNABLE_LANGUAGES = SHELL_LANGUAGES | FILE_LANGUAGES | PYTHON_LANGUAGES

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_MARKER = re.compile(r"<!--\s*(?P<name>[a-z][a-z-]*):\s*(?P<args>.*?)\s*-->")
_SNIPPET = re.compile(r"^[ \t]*-+8<-+[ \t]+\"(?P<path>[^\"]+)\"[ \t]*$")
_ATTR = re.compile(r"(?P<key>[A-Za-z_][\w-]*)=(?:\"(?P<quoted>[^\"]*)\"|(?P<bare>\S+))")
KNOWN_MARKERS = {"exec", "skip", "output", "walkthrough", "trace", "script"}
PLACEMENT_MARKERS = {"output", "walkthrough", "trace", "script"}


class PageError(ValueError):
    """A page doclab cannot read; the message names the page, the line and the fix."""


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    start: int
    end: int
    language: str
    attrs: dict[str, str]
    source: str
    snippets: tuple[str, ...] = ()
    capture_id: str | None = None
    expected_exit: int = 0
    timeout: float | None = None
    client: str | None = None
    trace: bool = False
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def label(self) -> str:
        name = f" '{self.capture_id}'" if self.capture_id else ""
        return f"{self.language} block{name} at {self.where}"


@dataclass(frozen=True)
class OutputMarker:
    page: str
    line: int
    start: int
    end: int
    capture_id: str
    kind: str = "output"


@dataclass
class Page:
    path: str
    blocks: list[Block] = field(default_factory=list)
    outputs: list[OutputMarker] = field(default_factory=list)

    @property
    def captures(self) -> dict[str, Block]:
        return {block.capture_id: block for block in self.blocks if block.capture_id}


def parse_attrs(text: str) -> dict[str, str]:
    return {m["key"]: m["quoted"] if m["quoted"] is not None else m["bare"] for m in _ATTR.finditer(text)}


def resolve_snippets(source: str, snippets_dir: Path, page: str, line: int) -> tuple[str, tuple[str, ...]]:
    """Replace ``--8<-- "path"`` lines by the file they name, as pymdownx.snippets will."""
    used: list[str] = []
    lines: list[str] = []
    for offset, text in enumerate(source.splitlines(keepends=True)):
        match = _SNIPPET.match(text.rstrip("\n"))
        if not match:
            lines.append(text)
            continue
        path = snippets_dir / match["path"]
        if not path.is_file():
            raise PageError(
                f"{page}:{line + 1 + offset}: snippet '{match['path']}' does not exist in {snippets_dir}; "
                "create it or fix the path"
            )
        used.append(match["path"])
        content = path.read_text()
        lines.append(content if content.endswith("\n") else content + "\n")
    return "".join(lines), tuple(used)


def _marker_options(marker: re.Match, page: str, line: int) -> dict:
    name, args = marker["name"], marker["args"]
    if name == "skip":
        parts = shlex.split(args)
        if len(parts) != 2 or parts[0] != "next" or not parts[1].strip():
            raise PageError(f'{page}:{line}: write a skip marker as <!-- skip: next "why it cannot run" -->')
        return {"skip_reason": parts[1]}
    options: dict = {}
    for key, value in parse_attrs(args).items():
        if key == "id":
            options["capture_id"] = value
        elif key == "exit":
            options["expected_exit"] = int(value)
        elif key == "timeout":
            options["timeout"] = float(value)
        elif key == "client":
            options["client"] = value
        elif key == "trace":
            options["trace"] = value == "true"
        else:
            raise PageError(f"{page}:{line}: exec marker has unknown option '{key}' (known: id, exit, timeout, client, trace)")
    return options


def parse_page(text: str, page: str, snippets_dir: Path) -> Page:
    """Find every fenced code block and every marker of ``text`` (the page ``page``)."""
    result = Page(path=page)
    pending: tuple[dict, int] | None = None
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line_text in lines:
        offsets.append(offsets[-1] + len(line_text))
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip("\n")
        opening = _FENCE_OPEN.match(raw)
        if opening:
            if not opening["info"].strip():
                raise PageError(
                    f"{page}:{index + 1}: code block without a language; name one (```bash, ```dockerfile …)"
                )
            index = _read_block(result, lines, offsets, index, opening, pending, snippets_dir)
            pending = None
            continue
        for marker in _MARKER.finditer(raw):
            line = index + 1
            name = marker["name"]
            if name not in KNOWN_MARKERS:
                raise PageError(f"{page}:{line}: unknown marker '{name}:' (known: {', '.join(sorted(KNOWN_MARKERS))})")
            if name in PLACEMENT_MARKERS:
                capture_id = marker["args"].strip()
                start, end = offsets[index] + marker.start(), offsets[index] + marker.end()
                result.outputs.append(OutputMarker(page, line, start, end, capture_id, name))
                continue
            if pending:
                raise PageError(f"{page}:{pending[1]}: marker is not followed by a code block")
            pending = (_marker_options(marker, page, line), line)
        if pending and raw.strip() and not _MARKER.search(raw):
            raise PageError(f"{page}:{pending[1]}: marker is not followed by a code block")
        index += 1
    if pending:
        raise PageError(f"{page}:{pending[1]}: marker is not followed by a code block")
    _check_outputs(result)
    return result


def _read_block(result, lines, offsets, index, opening, pending, snippets_dir) -> int:
    page = result.path
    indent, fence = opening["indent"], opening["fence"]
    info = opening["info"].strip()
    language, _, rest = info.partition(" ")
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    body: list[str] = []
    end_index = index + 1
    while end_index < len(lines) and not closing.match(lines[end_index].rstrip("\n")):
        line_text = lines[end_index]
        body.append(line_text[len(indent):] if line_text.startswith(indent) else line_text.lstrip(" \t"))
        end_index += 1
    if end_index >= len(lines):
        raise PageError(f"{page}:{index + 1}: code block is never closed (add a line with {fence})")
    source, snippets = resolve_snippets("".join(body), snippets_dir, page, index + 1)
    options, _ = pending if pending else ({}, 0)
    block = Block(
        page=page,
        line=index + 1,
        start=offsets[index],
        end=offsets[end_index + 1],
        language=language.lower(),
        attrs=parse_attrs(rest),
        source=source,
        snippets=snippets,
        **options,
    )
    if block.capture_id and block.capture_id in result.captures:
        raise PageError(f"{page}:{block.line}: capture id '{block.capture_id}' is used twice on this page")
    result.blocks.append(block)
    return end_index + 1


def _check_outputs(page: Page) -> None:
    for marker in page.outputs:
        if marker.kind == "script":
            continue
        if marker.capture_id not in page.captures:
            known = ", ".join(sorted(page.captures)) or "none"
            raise PageError(
                f"{page.path}:{marker.line}: <!-- {marker.kind}: {marker.capture_id} --> names no block of this page "
                f"(capture ids here: {known}); add <!-- exec: id={marker.capture_id} --> before the block"
            )


def split_console(source: str) -> list[tuple[str, str]]:
    """Split a ``console`` block into (command, shown output) pairs; ``$ `` starts a command."""
    pairs: list[tuple[str, list[str]]] = []
    continuing = False
    for line in source.splitlines():
        if line.startswith("$ ") or line == "$":
            pairs.append((line[2:], []))
            continuing = line.endswith("\\")
        elif continuing and pairs:
            pairs[-1] = (pairs[-1][0] + "\n" + line, pairs[-1][1])
            continuing = line.endswith("\\")
        elif pairs:
            pairs[-1][1].append(line)
        else:
            raise ValueError(f"console block must start with a '$ ' prompt, not {line!r}")
    return [(command, "\n".join(output) + ("\n" if output else "")) for command, output in pairs]


def page_name(path: Path, docs_dir: Path) -> str:
    return path.resolve().relative_to(docs_dir.resolve()).as_posix()
