"""Turn a page's output markers into Markdown: the captured output and its visible stamp."""

from __future__ import annotations

import html
import re

from .capture import Capture, CaptureError, PageRecord, Resolved
from .pages import Page
from .script import page_script
from . import sequence
from .walkthrough import render_table


def stamp_text(record: PageRecord, state: str, capture: Capture | None = None) -> str:
    stamp = record.stamp
    client = (capture.client if capture and capture.client else None) or stamp["client"]
    parts = [
        f"client Docker {client['version']}",
        f"Engine {stamp['server']['version']}",
    ]
    for base in stamp.get("base_images", []):
        parts.append(f"{base['image']} {base['source']} ({base['digest']})")
    if state == "recorded":
        lead = (
            f"Recorded on {stamp['date']} with Engine {stamp['server']['version']} — no Docker daemon was "
            "reachable when this page was built, so this is the last recorded run"
        )
    else:
        lead = f"Captured on {stamp['date']} from a real run"
    return f"{lead} · " + " · ".join(parts)


def _fence_for(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    return "`" * max(3, longest + 1)


def render_capture(page: Page, capture: Capture, resolved: Resolved, indent: str = "") -> str:
    record, state = resolved.record, resolved.state
    fence = _fence_for(capture.output)
    command = capture.command.strip()
    title = f"$ {command}" if "\n" not in command and '"' not in command else "Output"
    digests = " ".join(base["digest"] for base in record.stamp.get("base_images", []))
    stamp = (
        f'<p class="doclab-stamp" data-capture="{html.escape(page.path)}#{html.escape(capture.capture_id)}" '
        f'data-state="{state}" data-base-digests="{html.escape(digests)}">'
        f"{html.escape(stamp_text(record, state, capture))}</p>"
    )
    output = capture.output if capture.output.endswith("\n") or not capture.output else capture.output + "\n"
    return indent_lines("\n".join([f'{fence}text title="{title}"', *output.splitlines(), fence, "", stamp]), indent)


def indent_lines(text: str, indent: str) -> str:
    """Indent every line but the first, which takes the marker's place (and its indentation)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [indent + line if line else line for line in rest])


def render_trace(page: Page, capture: Capture) -> str:
    exchanges = capture.trace.get("exchanges")
    if not exchanges:
        raise CaptureError(f"docs/{page.path}: '{capture.capture_id}' has no recorded trace; add trace=true to its exec marker")
    svg = sequence.render_svg(exchanges, f"HTTP requests of: {capture.command.strip()}")
    note = "" if capture.trace.get("registry_log") else (
        "\n\n*The registry's log was not readable where this ran: only the client's requests are shown.*"
    )
    return f'<figure class="doclab-trace" markdown="0">{svg}</figure>\n\n{sequence.render_table(exchanges)}{note}'


def render_script(page: Page, before: int) -> str:
    """The copy button for the page's steps above the marker (at offset ``before``): sections below it,
    such as mistakes shown with their real errors, are not steps to repeat."""
    script = page_script(Page(page.path, [block for block in page.blocks if block.start < before]))
    fence = _fence_for(script)
    body = "\n".join("    " + line if line else line for line in [f'{fence}bash title="all-steps.sh"', *script.splitlines(), fence])
    return (
        '<div class="doclab-script"><button type="button" class="md-button md-button--primary doclab-script__copy">'
        "Copy all steps as one script</button></div>\n\n"
        f'??? abstract "All steps as one script"\n\n{body}'
    )


def replace_markers(markdown: str, page: Page, resolved: Resolved | None) -> str:
    """Replace every ``<!-- output: id -->`` of ``page`` (parsed from ``markdown``) by its capture."""
    pieces, position = [], 0
    for marker in page.outputs:
        line_start = markdown.rfind("\n", 0, marker.start) + 1
        before = markdown[line_start:marker.start]
        indent = before if before.strip() == "" else ""
        pieces.append(markdown[position:marker.start])
        position = marker.end
        if marker.kind == "script":
            pieces.append(indent_lines(render_script(page, marker.start), indent))
            continue
        capture = resolved.record.captures.get(marker.capture_id)
        if capture is None:
            raise CaptureError(f"docs/{page.path}:{marker.line}: no capture '{marker.capture_id}' in the record")
        if marker.kind == "walkthrough":
            pieces.append(indent_lines(render_table(capture.output), indent))
        elif marker.kind == "trace":
            pieces.append(indent_lines(render_trace(page, capture), indent))
        else:
            pieces.append(render_capture(page, capture, resolved, indent))
    pieces.append(markdown[position:])
    return "".join(pieces)
