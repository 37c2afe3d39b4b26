"""Turn a page's output markers into Markdown: the captured output and its visible stamp."""

from __future__ import annotations

import base64
import html
import json
import re

from doclab.capture.captures import Outcome, Resolved
from doclab.capture.record import Capture, CaptureError, PageRecord
from doclab.render import fences
from doclab.render import sequence
from doclab.page.parse import BlockKind, Page, split_console
from doclab.run.scrub import volatile_rules_for_browser
from doclab.capture.facts import BUILDERS, builder_of
from doclab.render.walkthrough import render_table, rules_for_browser


#: A capture whose command runs the Docker client (its versions matter); ``cat`` or ``echo docker …`` do not.
_RUNS_DOCKER = re.compile(r"(?:^|[;&|(]|\$\()\s*(?:\w+=\S*\s+)*docker\s", re.MULTILINE)


def _docker_captures(record: PageRecord) -> list[Capture]:
    return [capture for capture in record.captures.values() if _RUNS_DOCKER.search(capture.command)]


def page_client_version(record: PageRecord) -> str:
    """The client version most of the page's Docker commands ran with (the page's own otherwise)."""
    versions = [capture.client["version"] for capture in _docker_captures(record) if capture.client]
    return max(versions, key=versions.count) if versions else record.stamp["client"]["version"]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def reader_version(version: str) -> str:
    """A version as a reader checks it with ``docker version``: Debian's packaging suffix (``+dfsg4``) left out."""
    return version.split("+", 1)[0]


def reader_date(date: str) -> str:
    """``2026-12-07`` as a reader reads it anywhere: ``7 Dec 2026``."""
    year, month, day = date.split("-")
    return f"{int(day)} {_MONTHS[int(month) - 1]} {year}"


def stamp_text(record: PageRecord, state: Outcome) -> str:
    """The page's one stamp, in what a reader can check: when, with which Docker, which base image (no lab, no path)."""
    stamp = record.stamp
    server = stamp["server"]
    buildx = stamp["client"].get("buildx")
    parts = [f"client {reader_version(page_client_version(record))}" + (f" with buildx {reader_version(buildx)}" if buildx else "")]
    if server.get("containerd"):
        parts.append(f"containerd {reader_version(server['containerd'])}")
    if server.get("image_store") == "containerd":  # a reader's `docker image ls` and pulls then look otherwise
        parts.append("the containerd image store")
    elif server.get("image_store"):
        parts.append(f"the {server['image_store']} storage driver")
    for base in stamp.get("base_images", []):
        parts.append(f"{base['image']} digest {base['digest']}")
    engine = f"Docker Engine {reader_version(server['version'])}"
    if state is Outcome.RECORDED:
        lead = f"Recorded on {reader_date(stamp['date'])} with {engine}: the outputs of the last clean run of this page"
    elif state is Outcome.RUNNING:
        lead = (f"A run is still going (started {reader_date(stamp['date'])}, with {engine}): the outputs shown so far "
                "are from it, and the page reloads with the rest when it ends")
    else:
        lead = f"Every output on this page was captured on {reader_date(stamp['date'])} from a real run, with {engine}"
    return f"{lead} · " + " · ".join(parts)


def stamp_details(record: PageRecord, state: Outcome, why_recorded: str = "") -> str:
    """What a maintainer asks of the stamp and a reader need not read: why it is recorded, exact packages, where the
    base image came from."""
    stamp = record.stamp
    server = stamp["server"]
    parts = []
    if state is Outcome.RECORDED:
        parts.append(f"Why recorded: {why_recorded or 'no Docker daemon was reachable when this page was built'}.")
    versions = [f"client {page_client_version(record)}", f"Engine {server['version']}"]
    if stamp["client"].get("buildx"):
        versions.insert(1, f"buildx {stamp['client']['buildx']}")
    if server.get("containerd"):
        versions.append(f"containerd {server['containerd']}")
    parts.append("Packages: " + ", ".join(versions) + ".")
    parts += [f"{base['image']} {base['source']}." for base in stamp.get("base_images", [])]
    return " ".join(parts)


def output_note(record: PageRecord, capture: Capture) -> str | None:
    """A note for one output, only where it says more than the page stamp: its builder, another client."""
    builder = builder_of(capture.output)
    client = capture.client.get("version") if _RUNS_DOCKER.search(capture.command) else None
    other_client = client is not None and client != page_client_version(record)
    if builder is None and not other_client:
        return None
    parts = [builder] if builder else []
    if client:
        parts.append(f"client {reader_version(client)}")
    if builder:
        parts.append(f"Docker Engine {reader_version(record.stamp['server']['version'])}")
    return "This output: " + " · ".join(parts)


def pending_html(capture_id: str) -> str:
    """Under serve, an output the run after an edit has not reached yet: said so, never the previous run's output."""
    return (f'<p class="doclab-pending" data-capture="{html.escape(capture_id)}" role="status">Running again after your '
            "edit: this output shows when the page's run reaches it, and the page reloads then.</p>")


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    return "`" * max(3, longest + 1)


def _stamp_html(page: Page, resolved: Resolved) -> str:
    record = resolved.record
    digests = " ".join(base["digest"] for base in record.stamp.get("base_images", []))
    return (
        f'<small class="doclab-stamp" data-page="{html.escape(page.path)}" data-state="{resolved.state}" '
        f'data-base-digests="{html.escape(digests)}">{html.escape(stamp_text(record, resolved.state))}</small>\n'
        f'<details class="doclab-how-built"><summary>How this page was built</summary><p>'
        f'{html.escape(stamp_details(record, resolved.state, resolved.public_reason))}</p></details>'
    )


def render_capture(page: Page, capture: Capture, resolved: Resolved, indent: str = "", with_stamp: bool = False) -> str:
    """The output as a fenced block (lines wrap, see lesson.css), then the page stamp and/or its note."""
    fence = _fence_for(capture.output)
    command = capture.command.strip()
    title = f"$ {command}" if "\n" not in command and '"' not in command else "Output"
    builder = builder_of(capture.output)
    block = page.captures.get(capture.capture_id)
    terminal = f"{block.terminal[0]}x{block.terminal[1]}" if block is not None and block.terminal else None
    classes = (f".{fences.LANGUAGE}" + (f" data-builder=\"{builder}\"" if builder else "")
               + (f" data-terminal=\"{terminal}\"" if terminal else ""))  # a terminal's screen: its grid kept (lesson.css)
    lines = [f'{fence}{{{classes} data-capture="{html.escape(capture.capture_id)}" title="{title}"}}']
    output = capture.output if capture.output.endswith("\n") or not capture.output else capture.output + "\n"
    lines += [*output.splitlines(), fence]
    note = output_note(resolved.record, capture)
    if note:
        lines += ["", f'<small class="doclab-note" data-capture="{html.escape(capture.capture_id)}">{html.escape(note)}</small>']
    if capture.cast:
        lines += ["", watch_panel(page, capture)]
    if with_stamp:
        lines += ["", _stamp_html(page, resolved)]
    return indent_lines("\n".join(lines), indent)


def cast_name(page_path: str, capture_id: str) -> str:
    """Where a capture's replay is in the site, under ``casts/`` (``.cast``, and ``.frames.json`` for the player)."""
    return f"{page_path.removesuffix('.md')}/{capture_id}"


def watch_panel(page: Page, capture: Capture) -> str:
    """"Watch it run": a button that loads the replay (assets/watch.js) when pressed, so a first visit weighs nothing more."""
    # Inline (a span): inside a fold or a tab Markdown wraps raw HTML in a paragraph; the player goes after it.
    return (f'<span class="doclab-watch" data-cast="{html.escape(cast_name(page.path, capture.capture_id))}" '
            f'data-command="{html.escape(capture.command.strip())}"><button type="button" class="md-button md-button--primary doclab-watch__open">'
            f'Watch it run</button></span>')


def render_engine_capture(page: Page, marker, resolved: Resolved, indent: str) -> str:
    """The block's output as another engine of the lab's printed it, named as its own capture, with its own note."""
    record = resolved.engine_records[marker.engine]
    capture = record.captures[marker.capture_id]
    server = record.stamp["server"]
    store = server.get("image_store") or ""
    shown_as = f"{marker.capture_id}-{marker.engine}"  # a capture of its own: no walk-through of the page's matches it
    note = (f"This output: {builder_of(capture.output) or 'Docker'} · recorded on {reader_date(record.stamp['date'])} with "
            f"Docker Engine {reader_version(server['version'])}"
            + (f" on the {store} storage driver" if store and store != "containerd" else " with the containerd image store")
            + f" · client {reader_version(capture.client.get('version', ''))}")
    fence = _fence_for(capture.output)
    output = capture.output if capture.output.endswith("\n") or not capture.output else capture.output + "\n"
    command = capture.command.strip()
    lines = [f'{fence}{{.{fences.LANGUAGE} data-capture="{html.escape(shown_as)}" title="$ {html.escape(command)}"}}',
             *output.splitlines(), fence, "",
             f'<small class="doclab-note" data-capture="{html.escape(shown_as)}">{html.escape(note)}</small>']
    return indent_lines("\n".join(lines), indent)


def indent_lines(text: str, indent: str) -> str:
    """Indent every line but the first, which takes the marker's place (and its indentation)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [indent + line if line else line for line in rest])


def render_trace(page: Page, capture: Capture) -> str:
    exchanges = capture.trace.get("exchanges")
    if not exchanges:
        raise CaptureError.about(page.path, f"'{capture.capture_id}' has no recorded trace; add trace=true to its exec marker")
    title = f"HTTP requests of: {capture.command.strip()}"
    svg = sequence.render_svg(exchanges, title)
    note = "" if capture.trace.get("registry_log") else (
        "\n\n*The registry's log was not readable where this ran: only the client's requests are shown.*"
    )
    # tabindex: on a narrow screen the diagram scrolls sideways, and a keyboard must be able to scroll it too.
    return (f'<figure class="doclab-trace" markdown="0" tabindex="0" role="group" aria-label="{html.escape(title)}">'
            f'{svg}</figure>\n\n{sequence.render_table(exchanges)}{note}')


#: Said where the script starts: it is pasted into the reader's own interactive shell.
_SCRIPT_HEAD = (
    "# Every step of \"{title}\", in order: paste it into a shell in an empty folder.\n"
    "# It runs in a subshell: a step that fails stops the steps after it, never your shell."
)


def _heredoc(command: str, body: str) -> str:
    end = "EOF"
    while end in body.splitlines():
        end += "_"
    return f"{command} <<'{end}'\n{body}{'' if body.endswith(chr(10)) else chr(10)}{end}"


def reader_script(page: Page, title: str, before: int | None = None) -> str:
    """The page's steps above offset ``before`` (sections below the script marker, such as mistakes shown
    with their real errors, are not steps to repeat) as one script for a reader's interactive shell: no
    ``set -e`` that would close it, no internals. A command shown twice (the same build, once per builder)
    runs once; skipped blocks stay out."""
    steps, seen = [], set()
    for block in page.blocks:
        if (before is not None and block.start >= before) or block.skip_reason or block.source in seen:
            continue
        seen.add(block.source)
        if block.expected_exit != 0:
            raise CaptureError.about(block.page, "a page with a one-script copy cannot have a block that must fail", block.line)
        steps.extend(SCRIPT_LINES.get(block.kind, lambda _: [])(block))
    return "\n".join(["#!/usr/bin/env bash", _SCRIPT_HEAD.format(title=title), "(", "set -e", *steps, ")"]) + "\n"


#: Each kind of block as the reader's one-script copy types it (a diagram adds nothing).
SCRIPT_LINES = {
    BlockKind.FILE: lambda block: [_heredoc(f"cat > '{block.attrs.get('title', 'Dockerfile')}'", block.source)],
    BlockKind.PYTHON: lambda block: [_heredoc("python3 -", block.source)],
    BlockKind.CONSOLE: lambda block: [command for command, _ in split_console(block.source)],
    BlockKind.SHELL: lambda block: [block.source.rstrip("\n")],
}


def render_script(page: Page, title: str, before: int) -> str:
    script = reader_script(page, title, before)
    fence = _fence_for(script)
    name = page.path.removesuffix(".md").replace("/", "-") + "-steps.sh"
    download = "data:text/x-shellscript;base64," + base64.b64encode(script.encode()).decode()
    body = "\n".join("    " + line if line else line for line in [f'{fence}bash title="{name}"', *script.splitlines(), fence])
    return (
        '<div class="doclab-script"><button type="button" class="md-button md-button--primary doclab-script__copy">'
        f'Copy all steps as one script</button> <a class="md-button doclab-script__download" download="{name}" '
        f'href="{download}">Download {name}</a> <span class="doclab-script__status" role="status"></span></div>\n\n'
        f'??? abstract "All steps as one script"\n\n{body}'
    )


def replace_markers(markdown: str, page: Page, resolved: Resolved | None) -> str:
    """Replace every placement marker of ``page`` (parsed from ``markdown``): outputs, walk-throughs, traces
    and the script (quotes are doclab.render.quotes'). The page's one stamp goes under its first output (or at its end)."""
    # A lesson folds each step's outputs into the step's solution (exercise.js): its stamp goes at the end,
    # where it is always visible.
    pieces, position, stamped = [], 0, "data-step-card=" in markdown
    heading = re.search(r"^# (.+)$", markdown, re.MULTILINE)
    title = heading[1].strip() if heading else page.path
    for marker in page.outputs:
        line_start = markdown.rfind("\n", 0, marker.start) + 1
        before = markdown[line_start:marker.start]
        indent = before if before.strip() == "" else ""
        pieces.append(markdown[position:marker.start])
        position = marker.end
        if marker.kind == "script":
            pieces.append(indent_lines(render_script(page, title, marker.start), indent))
            continue
        if marker.engine is not None and marker.kind == "walkthrough":
            output = resolved.engine_records[marker.engine].captures[marker.capture_id].output
            pieces.append(indent_lines(render_table(output), indent))
            continue
        if marker.engine is not None:
            pieces.append(render_engine_capture(page, marker, resolved, indent))
            continue
        capture = resolved.record.captures.get(marker.capture_id)
        if capture is None and resolved.state is Outcome.RUNNING:
            pieces.append(indent_lines(pending_html(marker.capture_id), indent))
            continue
        if capture is None:
            raise CaptureError.about(page.path, f"no capture '{marker.capture_id}' in the record", marker.line)
        if marker.kind == "walkthrough":
            pieces.append(indent_lines(render_table(capture.output), indent))
        elif marker.kind == "trace":
            pieces.append(indent_lines(render_trace(page, capture), indent))
        else:
            pieces.append(render_capture(page, capture, resolved, indent, with_stamp=not stamped))
            stamped = True
    pieces.append(markdown[position:])
    if (not stamped or "data-step-card=" in markdown) and resolved is not None and resolved.record.captures:
        pieces.append("\n\n" + _stamp_html(page, resolved) + "\n")
    if any(marker.kind == "walkthrough" for marker in page.outputs):
        pieces.append("\n\n" + explain_rules_script() + "\n")
    return "".join(pieces)


def explain_rules_script() -> str:
    """The walk-through's rules, normalization's and the builders' for the page's scripts: lesson.js labels a reader's
    own output with the first, cleans it up with the second and tells its builder with the third, the very rules the
    tests use."""
    scripts = []
    for name, rules in (("explain", rules_for_browser()), ("volatile", volatile_rules_for_browser()),
                        ("builder", [list(rule) for rule in BUILDERS])):
        data = json.dumps(rules, separators=(",", ":")).replace("<", "\\u003c")
        scripts.append(f'<script type="application/json" id="doclab-{name}-rules">{data}</script>')
    return "\n".join(scripts)
