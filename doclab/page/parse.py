"""Read a Markdown page into what doclab runs: its fenced code blocks and its markers.

Markers are HTML comments, so a page read by anything else shows none of them:

- ``<!-- exec: id=build exit=0 timeout=120 client=20.10 -->`` before a block: its
  capture name, the exit code it is declared to end with (default 0; where an older Engine's client ends it
  with another, ``exit="1, 125 on 20.10"``), its time limit in seconds,
  the lab engine whose client runs it when not the page's (default: DOCLAB_DOCKER_CLI; an engine's name of
  doclab/lab/engines.toml, never a path: a page runs no program of its own outside its sandbox),
  ``trace=true`` to record the block's HTTP requests (see ``doclab.run.trace``),
  ``env="DOCKER_BUILDKIT=1"`` (variables set for this block only), ``fresh=true`` (the page's
  lab daemon is emptied first, so the block shows a first-time pull again),
  ``terminal=100x30`` (the block runs in a pseudo-terminal of that size, as in a reader's
  terminal, and its output is the screen it leaves, as a terminal emulator draws it) and
  ``hide="why"`` (a capture no output marker shows, on purpose).
- ``<!-- skip: next "reason" -->`` before a block: it is not run, and says why.
- ``<!-- output: build -->``: replaced by the captured output of the block named ``build``.
- ``<!-- walkthrough: build -->``: replaced by a table that explains that output line by line.
- ``<!-- trace: build -->``: replaced by the HTTP requests of that block (``trace=true``), drawn.
- ``<!-- script: all -->``: replaced by a button that copies all the page's steps as one script.
- ``<!-- quote: build "Successfully tagged" -->`` (or ``other/page.md#build``) in prose: replaced
  by the phrase as code; the build fails when no line of that capture contains it.
- ``<!-- value: pull "^([0-9a-f]{12}): Pull complete" -->`` in prose: replaced by what the pattern's group
  matched in that capture (a digest, an ID, a size: values that differ from registry to registry), as code;
  the build fails when no line matches.

A marker of another name, a marker that is not followed by a block, a bad option value, a
capture that is neither shown nor hidden, or a snippet that does not exist is an error that
names the page and the line (counted in the file, front matter included).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from doclab.errors import DoclabError

class BlockKind(Enum):
    """What doclab does with a fenced block: its language's entry in LANGUAGES."""

    SHELL = "shell"  # run as typed, in the page's shell
    CONSOLE = "console"  # "$ command" lines, each with the output it must print
    FILE = "file"  # written to a file of the reader's project (a Dockerfile)
    PYTHON = "python"  # run with the page's python3
    DIAGRAM = "diagram"  # drawn, not run: checked by the site build that renders it

    @property
    def runs(self) -> bool:
        return self is not BlockKind.DIAGRAM


#: Every block language doclab knows. A new one: its entry here, its runner in ``session.PageRun.RUNNERS`` and its
#: line in the reader's one-script copy (``render.SCRIPT_LINES``); a test holds the three together.
LANGUAGES: dict[str, BlockKind] = {
    "bash": BlockKind.SHELL, "sh": BlockKind.SHELL, "shell": BlockKind.SHELL,
    "console": BlockKind.CONSOLE,
    "dockerfile": BlockKind.FILE,
    "python": BlockKind.PYTHON, "py": BlockKind.PYTHON,
    "mermaid": BlockKind.DIAGRAM,
}

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_MARKER = re.compile(r"<!--\s*(?P<name>[a-z][a-z-]*):\s*(?P<args>.*?)\s*-->")
_SNIPPET = re.compile(r"^[ \t]*-+8<-+[ \t]+\"(?P<path>[^\"]+)\"[ \t]*$")
_ATTR = re.compile(r"(?P<key>[A-Za-z_][\w-]*)=(?:\"(?P<quoted>[^\"]*)\"|(?P<bare>\S+))")
KNOWN_MARKERS = {"exec", "skip", "output", "walkthrough", "trace", "script", "quote", "value"}
PLACEMENT_MARKERS = {"output", "walkthrough", "trace", "script"}
SHOWING_MARKERS = {"output", "walkthrough", "trace"}
#: The longest a block may be allowed to run (an hour): a limit must stay a limit.
MAX_TIMEOUT = 3600
EXEC_OPTIONS = ("id", "exit", "timeout", "client", "trace", "env", "fresh", "terminal", "hide", "replay")
_TERMINAL = re.compile(r"^(\d{2,3})x(\d{1,3})$")
_QUOTE_ARGS = re.compile(r'^(?:(?P<page>[\w./-]+\.md)#)?(?P<capture>[\w.-]+)\s+"(?P<phrase>[^"]+)"$')
_ENV_ITEM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")



class PageError(DoclabError, ValueError):
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
    #: Engines (major.minor) whose client ends this block with another code: ``exit="1, 125 on 20.10"``.
    exit_on: tuple[tuple[str, int], ...] = ()
    timeout: float | None = None
    client: str | None = None
    trace: bool = False
    env: tuple[tuple[str, str], ...] = ()
    fresh: bool = False
    #: ``replay=true``: its run is kept with when each piece of its output came (a terminal block's always is), and the
    #: page offers "Watch it run".
    replay: bool = False
    terminal: tuple[int, int] | None = None  # (columns, rows) of the pseudo-terminal the block runs in
    hide_reason: str | None = None
    skip_reason: str | None = None

    @property
    def kind(self) -> BlockKind | None:
        """What doclab does with this block; None for a language it does not know."""
        return LANGUAGES.get(self.language)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def expected_exit_on(self, engine_version: str) -> int:
        """The exit code declared for an Engine of ``engine_version`` (``28.5.2+dfsg4``): its own, else the page's."""
        line = ".".join(engine_version.split(".")[:2])
        return dict(self.exit_on).get(line, self.expected_exit)

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
    #: ``<!-- output: build engine=28.5-overlay2 -->``: the same block's output as another engine of the lab's printed
    #: it (its record: engine-captures/ENGINE/, made by ``python -m doclab.tools.matrix --write``).
    engine: str | None = None


@dataclass(frozen=True)
class QuoteMarker:
    """``<!-- quote: [page.md#]capture "phrase" -->``: prose quoting a piece of a captured output."""

    page: str
    line: int
    start: int
    end: int
    capture_id: str
    phrase: str
    source_page: str  # the page whose record holds the capture
    #: A ``value`` marker: ``phrase`` is a regular expression, and its first group, found in the capture, is shown.
    pattern: bool = False

    @property
    def reference(self) -> str:
        return f"{self.source_page}#{self.capture_id}"


@dataclass
class Page:
    path: str
    blocks: list[Block] = field(default_factory=list)
    outputs: list[OutputMarker] = field(default_factory=list)
    quotes: list[QuoteMarker] = field(default_factory=list)

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
        try:
            parts = shlex.split(args)
        except ValueError:  # an unclosed quote
            parts = []
        if len(parts) != 2 or parts[0] != "next" or not parts[1].strip():
            raise PageError(f'{page}:{line}: write a skip marker as <!-- skip: next "why it cannot run" -->')
        return {"skip_reason": parts[1]}
    options: dict = {}
    leftover = _ATTR.sub("", args).strip()
    if leftover:
        raise PageError(
            f"{page}:{line}: cannot read '{leftover}' in this exec marker: write options as key=value with no spaces "
            f'around =, and quote values with spaces (hide="why it is hidden"); known: {", ".join(EXEC_OPTIONS)}'
        )
    for key, value in parse_attrs(args).items():
        if key == "id":
            options["capture_id"] = value
        elif key == "exit":
            first, *others = [part.strip() for part in value.split(",")]
            options["expected_exit"] = _exit_code(first, page, line)
            exit_on = []
            for other in others:
                match = re.fullmatch(r"(\S+) on (\d+\.\d+)", other)
                if match is None:
                    raise PageError(f'{page}:{line}: exit="{value}": write another engine\'s code as "N on MAJOR.MINOR", '
                                    'e.g. exit="1, 125 on 20.10"')
                exit_on.append((match[2], _exit_code(match[1], page, line)))
            options["exit_on"] = tuple(exit_on)
        elif key == "timeout":
            options["timeout"] = _number(value, float, page, line, "timeout", "a number of seconds above 0, e.g. timeout=120")
            if not 0 < options["timeout"] <= MAX_TIMEOUT:
                raise PageError(f"{page}:{line}: timeout={value}: allowed values are numbers of seconds above 0, at most {MAX_TIMEOUT}")
        elif key == "client":
            if not re.fullmatch(r"\d[\w.-]*", value):
                raise PageError(f"{page}:{line}: client={value}: name one of the lab's engines (doclab/lab/engines.toml, "
                                "e.g. client=20.10), not a program: a page runs no program of its own outside its sandbox")
            options["client"] = value
        elif key in ("trace", "fresh", "replay"):
            if value not in ("true", "false"):
                raise PageError(f"{page}:{line}: {key}={value}: allowed values are true and false")
            options[key] = value == "true"
        elif key == "env":
            items = value.split()
            bad = [item for item in items if not _ENV_ITEM.match(item)]
            if not items or bad:
                raise PageError(f'{page}:{line}: env="{value}": write env="NAME=value NAME2=value2" (no spaces in values)')
            options["env"] = tuple(tuple(item.split("=", 1)) for item in items)
        elif key == "terminal":
            size = _TERMINAL.match(value)
            if not size or not (40 <= int(size[1]) <= 300 and 5 <= int(size[2]) <= 200):
                raise PageError(f"{page}:{line}: terminal={value}: write COLUMNSxROWS, 40 to 300 columns and 5 to 200 rows, "
                                "e.g. terminal=100x30")
            options["terminal"] = (int(size[1]), int(size[2]))
        elif key == "hide":
            if not value.strip():
                raise PageError(f'{page}:{line}: hide needs a reason: hide="why this output is not shown"')
            options["hide_reason"] = value
        else:
            raise PageError(f"{page}:{line}: exec marker has unknown option '{key}' (known: {', '.join(EXEC_OPTIONS)})")
    return options


def _number(value: str, kind, page: str, line: int, key: str, allowed: str):
    try:
        return kind(value)
    except ValueError:
        raise PageError(f"{page}:{line}: {key}={value} is not valid; allowed values: {allowed}") from None


def parse_page(text: str, page: str, snippets_dir: Path, line_offset: int = 0) -> Page:
    """Find every fenced code block and every marker of ``text`` (the page ``page``).

    ``line_offset``: lines of the file above ``text``, when ``text`` is only a part of it.
    """
    result = Page(path=page)
    pending: tuple[dict, int] | None = None
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line_text in lines:
        offsets.append(offsets[-1] + len(line_text))
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip("\n")
        line = index + 1 + line_offset
        opening = _FENCE_OPEN.match(raw)
        if opening:
            if not opening["info"].strip():
                raise PageError(f"{page}:{line}: code block without a language; name one (```bash, ```dockerfile …)")
            index = _read_block(result, lines, offsets, index, opening, pending, snippets_dir, line_offset)
            pending = None
            continue
        for marker in _MARKER.finditer(raw):
            name = marker["name"]
            if name not in KNOWN_MARKERS:
                raise PageError(f"{page}:{line}: unknown marker '{name}:' (known: {', '.join(sorted(KNOWN_MARKERS))})")
            start, end = offsets[index] + marker.start(), offsets[index] + marker.end()
            if name in ("quote", "value"):
                result.quotes.append(_quote(marker["args"], page, line, start, end, name))
                continue
            if name in PLACEMENT_MARKERS:
                capture_id, *options = marker["args"].split() or [""]
                engine = None
                for option in options:
                    key, _, value = option.partition("=")
                    if name not in ("output", "walkthrough") or key != "engine" or not re.fullmatch(r"\d[\w.-]*", value):
                        raise PageError(f"{page}:{line}: <!-- {name}: {capture_id} {option} -->: the one option is "
                                        "engine=NAME (an engine of doclab/lab/engines.toml), on an output or walkthrough marker")
                    engine = value
                result.outputs.append(OutputMarker(page, line, start, end, capture_id, name, engine))
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


def _exit_code(value: str, page: str, line: int) -> int:
    code = _number(value, int, page, line, "exit", "an exit code from 0 to 255, e.g. exit=1")
    if not 0 <= code <= 255:
        raise PageError(f"{page}:{line}: exit={value} is not an exit code; allowed values: 0 to 255")
    return code


def _quote(args: str, page: str, line: int, start: int, end: int, name: str = "quote") -> QuoteMarker:
    match = _QUOTE_ARGS.match(args.strip())
    what = "phrase" if name == "quote" else "pattern"
    if match is None:
        raise PageError(
            f'{page}:{line}: write a {name} marker as <!-- {name}: CAPTURE "{what}" --> or '
            f'<!-- {name}: other/page.md#CAPTURE "{what}" -->, not <!-- {name}: {args} -->'
        )
    if name == "value":
        try:
            groups = re.compile(match["phrase"]).groups
        except re.error as error:
            raise PageError(f'{page}:{line}: <!-- value: ... "{match["phrase"]}" -->: not a regular expression ({error})') from None
        if groups < 1:
            raise PageError(f'{page}:{line}: <!-- value: ... "{match["phrase"]}" --> has no group: put the value to '
                            "show in parentheses")
    return QuoteMarker(page, line, start, end, match["capture"], match["phrase"], match["page"] or page, name == "value")


def _read_block(result, lines, offsets, index, opening, pending, snippets_dir, line_offset) -> int:
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
        raise PageError(f"{page}:{index + 1 + line_offset}: code block is never closed (add a line with {fence})")
    for number, written in enumerate(body, start=index + 2 + line_offset):
        if ("{{" in written or "{%" in written) and not _SNIPPET.match(written.rstrip("\n")):
            raise PageError(
                f"{page}:{number}: a code block runs as written, so a macro in it would show readers one command and "
                "run another; write the value itself, or put the command in a snippet file under snippets/"
            )
    source, snippets = resolve_snippets("".join(body), snippets_dir, page, index + 1 + line_offset)
    options, _ = pending if pending else ({}, 0)
    block = Block(
        page=page,
        line=index + 1 + line_offset,
        start=offsets[index],
        end=offsets[end_index + 1],
        language=language.lower(),
        attrs=parse_attrs(rest),
        source=source,
        snippets=snippets,
        **options,
    )
    if block.kind is BlockKind.CONSOLE:
        try:
            split_console(source)
        except PageError as error:
            raise PageError(f"{page}:{block.line}: {error}") from None
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
    for quote in page.quotes:
        if quote.source_page == page.path and quote.capture_id not in page.captures:
            raise PageError(
                f"{page.path}:{quote.line}: <!-- quote: {quote.capture_id} ... --> names no capture of this page "
                f"(capture ids here: {', '.join(sorted(page.captures)) or 'none'})"
            )
    shown = {marker.capture_id for marker in page.outputs if marker.kind in SHOWING_MARKERS}
    for block in page.blocks:
        if block.capture_id and block.capture_id not in shown and not block.hide_reason and not block.skip_reason:
            raise PageError(
                f"{page.path}:{block.line}: capture '{block.capture_id}' is never shown; add <!-- output: "
                f'{block.capture_id} --> where readers should see it, or hide="why" to its exec marker'
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
            raise PageError(f"console block must start with a '$ ' prompt, not {line!r}")
    return [(command, "\n".join(output) + ("\n" if output else "")) for command, output in pairs]


def page_name(path: Path, docs_dir: Path) -> str:
    return path.resolve().relative_to(docs_dir.resolve()).as_posix()


def read_page(path: Path, docs_dir: Path, snippets_dir: Path) -> Page:
    """The page file at ``path`` as every front door reads it (the site build, the CLI, the doc tests): the whole
    file, front matter included, so a line number means the same everywhere; named by its path under ``docs_dir``."""
    return parse_page(path.read_text(), page_name(path, docs_dir), snippets_dir)
