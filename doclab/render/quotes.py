"""Prose that quotes a captured output: ``<!-- quote: build "Successfully tagged" -->``.

The phrase is shown as code, and the build fails when the capture no longer contains it, so
a hint or a quiz answer cannot go stale while the output changes under it.
"""

from __future__ import annotations

import html
import re
from typing import Callable

from doclab.capture.record import CaptureError, PageRecord
from doclab.page.parse import Page, QuoteMarker


def check_quote(quote: QuoteMarker, output: str) -> None:
    if not any(quote.phrase in line for line in output.splitlines()):
        raise CaptureError(
            f"docs/{quote.page}:{quote.line}: the prose quotes \"{quote.phrase}\" from '{quote.reference}', but no line "
            f"of that output contains it any more; quote a phrase the output prints now"
        )


def check_quotes(page: Page, record_of: Callable[[str], PageRecord | None]) -> None:
    """Check every quote of ``page`` against the output it quotes, as the page will show it."""
    for quote in page.quotes:
        record = record_of(quote.source_page)
        capture = record.captures.get(quote.capture_id) if record else None
        if capture is None:
            raise CaptureError(
                f"docs/{quote.page}:{quote.line}: the quote names '{quote.reference}', which has no recorded capture; "
                "check the page and the capture id"
            )
        check_quote(quote, capture.output)


def replace_quotes(markdown: str, page: Page, record_of: Callable[[str], PageRecord | None]) -> str:
    """Replace each quote marker of ``page`` by its phrase as code, after checking it against the capture."""
    check_quotes(page, record_of)
    for quote in page.quotes:
        pattern = re.compile(
            rf"<!--\s*quote:\s*(?:{re.escape(quote.source_page)}#)?{re.escape(quote.capture_id)}"
            rf'\s+"{re.escape(quote.phrase)}"\s*-->'
        )
        rendered = f"<code>{html.escape(quote.phrase)}</code>"
        markdown = pattern.sub(lambda _, shown=rendered: shown, markdown)
    return markdown
