"""The Sybil front door without a daemon: a page that cannot be read, a quote of another page's output, and the
comparison of an output with its record (meaning first, then text)."""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from doclab.capture.record import Capture, CaptureStore, PageRecord
from doclab.doctests import DocTests
from doclab.page.parse import parse_page
from doclab.settings import Settings

BUILD = ("Sending build context to Docker daemon  2.048kB\nStep 1/1 : FROM alpine:3.18\n ---> 682eb95e98b9\n"
         "Successfully built 682eb95e98b9\nSuccessfully tagged my-alpine-image:latest\n")


def project(tmp_path, pages: dict[str, str], records: dict[str, dict[str, str]]) -> DocTests:
    docs = tmp_path / "docs"
    for name, text in pages.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    (tmp_path / "snippets").mkdir()
    store = CaptureStore(tmp_path / "captures")
    for page, outputs in records.items():
        captures = {name: Capture(name, "docker build -t $IMAGE_NAME .", 0, output, 0.1, {"version": "20.10.24"})
                    for name, output in outputs.items()}
        store.save(PageRecord(page, "k", "i", {"server": {"version": "20.10.24+dfsg1"}}, captures))
    return DocTests(Settings.from_env({}, project_root=tmp_path), docs, daemon_for=lambda page: nullcontext())


def examples(doc_tests: DocTests, page: str) -> list:
    return list(doc_tests.sybil().parse(doc_tests.docs / page))


def test_a_page_that_cannot_be_read_is_one_failing_test_naming_file_and_line(tmp_path):
    doc_tests = project(tmp_path, {"bad.md": "# Bad\n\n<!-- exec: id=x timeout=soon -->\n```bash\necho hi\n```\n"}, {})
    [only] = examples(doc_tests, "bad.md")
    with pytest.raises(AssertionError, match=r"^docs/bad\.md:3: .*timeout"):
        only.evaluate()


def test_a_quote_of_another_pages_output_is_checked_against_that_pages_record(tmp_path):
    quoting = "# Q\n\nThe build ends with <!-- quote: lesson.md#build \"Successfully tagged\" -->.\n"
    stale = "# S\n\nThe build ends with <!-- quote: lesson.md#build \"Successfully taggd\" -->.\n"
    unknown = "# U\n\nSee <!-- quote: lesson.md#push \"digest\" -->.\n"
    doc_tests = project(tmp_path, {"q.md": quoting, "s.md": stale, "u.md": unknown}, {"lesson.md": {"build": BUILD}})
    [good] = examples(doc_tests, "q.md")
    good.evaluate()
    [bad] = examples(doc_tests, "s.md")
    with pytest.raises(Exception, match=r"docs/s\.md:3: the prose quotes \"Successfully taggd\" from 'lesson\.md#build'"):
        bad.evaluate()
    [missing] = examples(doc_tests, "u.md")
    with pytest.raises(AssertionError, match=r"docs/u\.md:3: the quote names 'lesson\.md#push', which has no recorded"):
        missing.evaluate()


def lesson_block(doc_tests: DocTests):
    text = "# L\n\n<!-- exec: id=build -->\n```bash\ndocker build -t $IMAGE_NAME .\n```\n\n<!-- output: build -->\n"
    return parse_page(text, "lesson.md", doc_tests.settings.snippets_dir).blocks[0]


def test_an_output_that_means_something_else_fails_even_where_its_text_would_normalize_alike(tmp_path):
    doc_tests = project(tmp_path, {}, {"lesson.md": {"build": BUILD}})
    block = lesson_block(doc_tests)
    doc_tests.compare_with_recorded(block, BUILD.replace("682eb95e98b9", "0c6dd4b1fe4a"), 0, "20.10.24+dfsg1")  # an ID
    with pytest.raises(AssertionError, match=r"'build' means something else than the page shows: context_size"):
        doc_tests.compare_with_recorded(block, BUILD.replace("2.048kB", "3.072kB"), 0, "20.10.24+dfsg1")
    with pytest.raises(AssertionError, match=r"'build' means something else than the page shows: .*tag"):
        doc_tests.compare_with_recorded(block, BUILD.replace("Successfully tagged my-alpine-image:latest\n", ""), 0,
                                        "20.10.24+dfsg1")


def test_another_engine_is_compared_on_what_it_did_and_a_wording_change_on_the_same_engine_fails(tmp_path):
    doc_tests = project(tmp_path, {}, {"lesson.md": {"build": BUILD}})
    block = lesson_block(doc_tests)
    reworded = BUILD.replace("Sending build context to Docker daemon", "Sending build context to the daemon")
    doc_tests.compare_with_recorded(block, reworded, 0, "28.2.2")  # another Engine may word it otherwise
    with pytest.raises(AssertionError, match=r"'build' means something else than the page shows \(recorded with Engine"):
        doc_tests.compare_with_recorded(block, reworded.replace("my-alpine-image", "other"), 0, "28.2.2")
    extra = BUILD.replace(" ---> 682eb95e98b9\n", " ---> 682eb95e98b9\nA line the page does not show\n")
    with pytest.raises(AssertionError, match=r"'build' prints other output than the page shows"):
        doc_tests.compare_with_recorded(block, extra, 0, "20.10.25")
