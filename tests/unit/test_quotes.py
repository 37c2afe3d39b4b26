from pathlib import Path

import pytest

from doclab.capture.facts import PROGRESS_STATUSES
from doclab.capture.record import Capture, CaptureError, PageRecord
from doclab.page.parse import PageError, parse_page, read_page
from doclab.render.quotes import replace_quotes
from tests.conftest import ROOT

PAGE = ('<!-- exec: id=build -->\n```bash\necho hi\n```\n<!-- output: build -->\n'
        'The line <!-- quote: build "Successfully tagged" --> names the image; see also '
        '<!-- quote: other.md#push "digest:" -->.\n')


def record(page: str, capture_id: str, output: str) -> PageRecord:
    return PageRecord(page, "k", "i", {}, {capture_id: Capture(capture_id, "cmd", 0, output, 0.1)})


RECORDS = {
    "p.md": record("p.md", "build", "Successfully tagged my-alpine-image:latest\n"),
    "other.md": record("other.md", "push", "1.0: digest: sha256:abc size: 527\n"),
}


def test_quotes_render_as_code_when_the_capture_contains_them():
    page = parse_page(PAGE, "p.md", Path("."))
    assert [(q.reference, q.phrase) for q in page.quotes] == [("p.md#build", "Successfully tagged"), ("other.md#push", "digest:")]
    html = replace_quotes(PAGE, page, RECORDS.get)
    assert "The line <code>Successfully tagged</code> names" in html and "also <code>digest:</code>." in html


def test_a_quote_the_output_no_longer_contains_fails_naming_page_line_and_phrase():
    page = parse_page(PAGE, "p.md", Path("."))
    stale = {**RECORDS, "p.md": record("p.md", "build", "naming to docker.io/library/my-alpine-image\n")}
    with pytest.raises(CaptureError, match=r'docs/p.md:6: the prose quotes "Successfully tagged" from \'p.md#build\''):
        replace_quotes(PAGE, page, stale.get)


@pytest.mark.parametrize(("text", "message"), [
    ('<!-- quote: build Successfully -->\n', 'write a quote marker as <!-- quote: CAPTURE "phrase" -->'),
    ('<!-- quote: nothing "x" -->\n', "p.md:1: <!-- quote: nothing ... --> names no capture of this page"),
])
def test_bad_quote_markers_name_the_line(text, message):
    with pytest.raises(PageError) as error:
        parse_page(text, "p.md", Path("."))
    assert message in str(error.value)


def test_no_page_quotes_a_layer_status_a_real_run_may_not_print():
    """A pull's progress statuses reach the client only if it keeps up (the daemon sends a slow one the latest): a
    quote of one fails a build on a loaded machine, as ``Download complete`` did in CI. Quote a layer's last word."""
    docs = ROOT / "docs"
    quoted = [(path.relative_to(docs).as_posix(), quote.line, quote.phrase) for path in sorted(docs.rglob("*.md"))
              for quote in read_page(path, docs, ROOT / "snippets").quotes]
    assert quoted, "no page quotes an output: the check would pass on nothing"
    assert [q for q in quoted if any(status in q[2] for status in PROGRESS_STATUSES)] == []
