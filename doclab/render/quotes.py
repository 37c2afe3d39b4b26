"""Prose that quotes a captured output: ``<!-- quote: build "Successfully tagged" -->``, or shows a value of it:
``<!-- value: pull "^([0-9a-f]{12}): Pull complete" -->``.

The phrase is shown as code, and the build fails when the capture no longer contains it, so
a hint or a quiz answer cannot go stale while the output changes under it.
"""

from __future__ import annotations

import html
import re
from typing import Callable

from doclab.capture.record import CaptureError, PageRecord
from doclab.page.parse import Page, QuoteMarker


def quoted_text(quote: QuoteMarker, output: str) -> str | None:
    """What the marker shows from ``output``: the phrase, or the value its pattern's group matched; None if absent."""
    for line in output.splitlines():
        if not quote.pattern and quote.phrase in line:
            return quote.phrase
        found = re.search(quote.phrase, line) if quote.pattern else None
        if found:
            return found.group(1)
    return None


def check_quote(quote: QuoteMarker, output: str) -> str:
    shown = quoted_text(quote, output)
    if shown is None and quote.pattern:
        raise CaptureError.about(
            quote.page, f"the prose shows a value matched by \"{quote.phrase}\" in "
            f"'{quote.reference}', but no line of that output matches it; write a pattern for what it prints now", quote.line
        )
    if shown is None:
        raise CaptureError.about(
            quote.page, f"the prose quotes \"{quote.phrase}\" from '{quote.reference}', but no line "
            f"of that output contains it any more; quote a phrase the output prints now", quote.line
        )
    return shown


def check_quotes(page: Page, record_of: Callable[[str], PageRecord | None]) -> dict[QuoteMarker, str]:
    """Check every quote of ``page`` against the output it quotes, as the page will show it; what each shows."""
    shown = {}
    for quote in page.quotes:
        record = record_of(quote.source_page)
        capture = record.captures.get(quote.capture_id) if record else None
        if capture is None:
            raise CaptureError.about(
                quote.page, f"the quote names '{quote.reference}', which has no recorded capture; "
                "check the page and the capture id", quote.line
            )
        shown[quote] = check_quote(quote, capture.output)
    return shown


def replace_quotes(markdown: str, page: Page, record_of: Callable[[str], PageRecord | None]) -> str:
    """Replace each quote marker of ``page`` by its phrase as code, after checking it against the capture."""
    shown = check_quotes(page, record_of)
    for quote in page.quotes:
        pattern = re.compile(
            rf"<!--\s*{'value' if quote.pattern else 'quote'}:\s*(?:{re.escape(quote.source_page)}#)?"
            rf'{re.escape(quote.capture_id)}\s+"{re.escape(quote.phrase)}"\s*-->'
        )
        rendered = f"<code>{html.escape(shown[quote])}</code>"
        markdown = pattern.sub(lambda _, shown=rendered: shown, markdown)
    return markdown
