"""The Sybil front door: every fenced block of the docs is a doc test, run with the engine the site build uses.

A page's blocks run in order in one ``PageRun`` (one shell, one empty daemon), its output compared with the
page's record: first what it means (``capture.facts``, so a regression that normalization would mask fails),
then its text after normalization. A page that cannot be read fails as one test of its own, naming the file and
line; a quote of another page's output is checked against that page's record. ``daemon_for(page)`` says where a
page runs (the test suite leases a lab daemon, or skips or fails when there is none).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sybil import Region, Sybil

from doclab.capture import facts
from doclab.capture.record import CaptureStore
from doclab.page.parse import BlockKind, Page, PageError, page_name, parse_page
from doclab.render.quotes import check_quote
from doclab.run.scrub import normalize
from doclab.run.session import BlockFailed, PageRun
from doclab.settings import Settings


def same_engine(one: str, other: str, one_store: str = "", other_store: str = "") -> bool:
    """Same major and minor version and the same image store: the same wording (20.10.24 and 20.10.25 print alike;
    28.x words it otherwise, and 28.5 on overlay2 prints a pull's "extracting" lines that its containerd store does not)."""
    return one.split(".")[:2] == other.split(".")[:2] and (not one_store or not other_store or one_store == other_store)


class DocTests:
    def __init__(self, settings: Settings, docs: Path, daemon_for: Callable[[Page], AbstractContextManager]):
        self.settings = settings
        self.docs = docs
        self.daemon_for = daemon_for

    def sybil(self, **options) -> Sybil:
        return Sybil(parsers=[self.parse_blocks], path=str(self.docs), patterns=["*.md"], teardown=self.teardown_page,
                     **options)

    def page_of(self, document) -> Page:
        return parse_page(document.text, page_name(Path(document.path), self.docs), self.settings.snippets_dir)

    def parse_blocks(self, document):
        try:
            page = self.page_of(document)
        except PageError as error:
            # One bad page fails as one item of its own; the rest of the suite is still collected and run.
            yield Region(0, len(document.text), str(error), report_page_error)
            return
        for block in page.blocks:
            yield Region(block.start, block.end, block, self.evaluate_block)
        for quote in page.quotes:
            if quote.source_page != page.path:
                # Another page's output: checked against its record, which that page's own tests check.
                yield Region(quote.start, quote.end, quote, self.evaluate_foreign_quote)

    def evaluate_foreign_quote(self, example) -> None:
        quote = example.parsed
        record = CaptureStore(self.settings.captures_dir).load_intact(quote.source_page)
        capture = record.captures.get(quote.capture_id) if record else None
        if capture is None:
            raise AssertionError(f"docs/{quote.page}:{quote.line}: the quote names '{quote.reference}', which has no "
                                 "recorded capture")
        check_quote(quote, capture.output)

    def evaluate_block(self, example) -> None:
        block = example.parsed
        if block.skip_reason:
            pytest.skip(f"{block.where}: {block.skip_reason}")
        if block.kind is BlockKind.DIAGRAM:
            pytest.skip(f"{block.where}: a {block.language} diagram, checked by the site build that renders it")
        if block.kind is None:
            raise AssertionError(
                f"{block.where}: the suite cannot run '{block.language}' blocks; make it runnable or mark it "
                '<!-- skip: next "why" -->'
            )
        namespace = example.namespace
        if namespace.get("failed_at"):
            raise AssertionError(f"{block.where}: not run, because the block at {namespace['failed_at']} failed")
        run = self._page_run(example)
        try:
            result = run.run(block)
        except BlockFailed as failure:
            namespace["failed_at"] = block.where
            raise AssertionError(str(failure)) from None
        if block.capture_id:
            across = self.compare_with_recorded(block, result.output, result.exit_code, run.facts.server_version,
                                                run.facts.image_store)
            # The prose quotes the records' engine: another engine is held to the facts, not to the words.
            for quote in () if across else run.page.quotes:
                if quote.source_page == block.page and quote.capture_id == block.capture_id:
                    check_quote(quote, result.output)

    def _page_run(self, example) -> PageRun:
        namespace = example.namespace
        if "run" not in namespace:
            page = self.page_of(example.document)
            namespace["daemon"] = self.daemon_for(page)
            handle = namespace["daemon"].__enter__()
            namespace["run"] = PageRun(page, self.settings, handle.docker_host, netns=handle.netns)
        return namespace["run"]

    def compare_with_recorded(self, block, output: str, exit_code: int, engine_version: str, image_store: str = "") -> bool:
        """Raise unless ``output`` means (and, on the records' engine, prints) what the record shows; whether the run
        was on another engine than the record's."""
        record = CaptureStore(self.settings.captures_dir).load_intact(block.page)
        recorded = record.captures.get(block.capture_id) if record else None
        if recorded is None:
            raise AssertionError(
                f"{block.where}: capture '{block.capture_id}' was never recorded; build the site with the lab up "
                "(scripts/serve or mkdocs build) and commit captures/"
            )
        # What the output means first: normalization masks sizes and statuses that a regression changes.
        expected = facts.facts_of(recorded.output, recorded.command, recorded.exit_code)
        actual = facts.facts_of(output, recorded.command, exit_code)
        recorded_with = record.stamp["server"]["version"]
        across = not same_engine(recorded_with, engine_version, record.stamp["server"].get("image_store", ""), image_store)
        if across:  # another Engine words the same run otherwise: what it did is compared, not how it says it
            expected, actual = facts.across_versions(expected), facts.across_versions(actual)
            expected["exit_code"] = block.expected_exit_on(engine_version)
        changes = facts.compare(expected, actual)
        if changes:
            raise AssertionError(
                f"{block.where}: '{block.capture_id}' means something else than the page shows"
                + (f" (recorded with Engine {recorded_with}, run on Engine {engine_version}: compared on what every "
                   "Docker prints alike)" if across else "")
                + ": " + "; ".join(map(str, changes))
                + f"\nIf that is the new truth, record it again: python -m doclab capture --force docs/{block.page} "
                f"(python -m doclab facts shows what each output says)"
            )
        if across:
            return True
        expected, actual = normalize(recorded.output), normalize(output)
        if expected != actual:
            diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                                f"recorded {block.page}#{block.capture_id}", "printed now"))
            raise AssertionError(
                f"{block.where}: '{block.capture_id}' prints other output than the page shows "
                f"(after normalization, see doclab/run/scrub.py):\n{diff}\nRebuild the site with the lab up to record it again."
            )
        return False

    @staticmethod
    def teardown_page(namespace) -> None:
        run, leased = namespace.pop("run", None), namespace.pop("daemon", None)
        try:
            leftovers = run.close() if run else []
        finally:
            if leased is not None:
                leased.__exit__(None, None, None)
        assert not leftovers, f"the page left these on the daemon: {leftovers}"


def report_page_error(example) -> None:
    raise AssertionError(f"docs/{example.parsed}")
