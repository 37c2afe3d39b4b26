"""The docs are a test suite: Sybil collects every fenced block of docs/**/*.md and runs it
with doclab's PageRun — the engine the site build uses — one shell and one empty daemon a page."""

from __future__ import annotations

import difflib
from collections import defaultdict
from pathlib import Path

import pytest
from sybil import Region, Sybil

from doclab.engine import daemon
from doclab.capture import facts
from doclab.capture.record import CaptureStore
from doclab.lab.control import Lab
from doclab.lab.folder import MAIN_DAEMON
from doclab.page.parse import BlockKind, Page, PageError, page_name, parse_page, read_page
from doclab.render.quotes import check_quote
from doclab.run.scrub import normalize
from doclab.run.session import BlockFailed, PageRun
from doclab.settings import Settings
from tests.docker_env import HOW_TO_START, page_daemon

DOCS = Path(__file__).parent / "docs"
SETTINGS = Settings.from_env()
_outcomes: dict[str, dict[str, int]] = defaultdict(lambda: {"executed": 0, "skipped": 0, "failed": 0})


def parse_doc(document) -> Page:
    return parse_page(document.text, page_name(Path(document.path), DOCS), SETTINGS.snippets_dir)


def parse_blocks(document):
    try:
        page = parse_doc(document)
    except PageError as error:
        # One bad page fails as one item of its own; the rest of the suite is still collected and run.
        yield Region(0, len(document.text), str(error), report_page_error)
        return
    for block in page.blocks:
        yield Region(block.start, block.end, block, evaluate_block)
    for quote in page.quotes:
        if quote.source_page != page.path:
            # Another page's output: checked against its record, which that page's own tests check.
            yield Region(quote.start, quote.end, quote, evaluate_foreign_quote)


def evaluate_foreign_quote(example) -> None:
    quote = example.parsed
    record = CaptureStore(SETTINGS.captures_dir).load_intact(quote.source_page)
    capture = record.captures.get(quote.capture_id) if record else None
    if capture is None:
        raise AssertionError(f"docs/{quote.page}:{quote.line}: the quote names '{quote.reference}', which has no recorded capture")
    check_quote(quote, capture.output)


def report_page_error(example) -> None:
    raise AssertionError(f"docs/{example.parsed}")


def _page_run(example) -> PageRun:
    namespace = example.namespace
    if "run" not in namespace:
        page = parse_doc(example.document)
        namespace["daemon"] = page_daemon(page)
        handle = namespace["daemon"].__enter__()
        namespace["run"] = PageRun(page, SETTINGS, docker_host=handle.docker_host, netns=handle.netns)
    return namespace["run"]


def evaluate_block(example) -> None:
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
    run = _page_run(example)
    try:
        result = run.run(block)
    except BlockFailed as failure:
        namespace["failed_at"] = block.where
        raise AssertionError(str(failure)) from None
    if block.capture_id:
        _compare_with_recorded(block, result.output, result.exit_code, run.facts.server_version)
        for quote in run.page.quotes:
            if quote.source_page == block.page and quote.capture_id == block.capture_id:
                check_quote(quote, result.output)


def _same_engine(one: str, other: str) -> bool:
    """Same major and minor version: the same wording (20.10.24 and 20.10.25 print alike; 28.x words it otherwise)."""
    return one.split(".")[:2] == other.split(".")[:2]


def _compare_with_recorded(block, output: str, exit_code: int, engine_version: str) -> None:
    record = CaptureStore(SETTINGS.captures_dir).load_intact(block.page)
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
    across = not _same_engine(recorded_with, engine_version)
    if across:  # another Engine words the same run otherwise: what it did is compared, not how it says it
        expected, actual = facts.across_versions(expected), facts.across_versions(actual)
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
        return
    expected, actual = normalize(recorded.output), normalize(output)
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                f"recorded {block.page}#{block.capture_id}", "printed now",
            )
        )
        raise AssertionError(
            f"{block.where}: '{block.capture_id}' prints other output than the page shows "
            f"(after normalization, see doclab/run/scrub.py):\n{diff}\nRebuild the site with the lab up to record it again."
        )


def teardown_page(namespace) -> None:
    run, leased = namespace.pop("run", None), namespace.pop("daemon", None)
    try:
        leftovers = run.close() if run else []
    finally:
        if leased is not None:
            leased.__exit__(None, None, None)
    assert not leftovers, f"the page left these on the daemon: {leftovers}"


pytest_collect_file = Sybil(
    parsers=[parse_blocks], path="docs", patterns=["*.md"], teardown=teardown_page, name="docs"
).pytest()


def pytest_runtest_logreport(report):
    if not report.nodeid.startswith("docs/"):
        return
    page = report.nodeid.split("::", 1)[0]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "executed" if report.passed else "skipped" if report.skipped else "failed"
        _outcomes[page][outcome] += 1


def pytest_terminal_summary(terminalreporter):
    _summarize_docker_skips(terminalreporter)
    if not _outcomes:
        return
    terminalreporter.section("code blocks per page (executed / skipped / failed / total)")
    for page in sorted(_outcomes):
        counts = _outcomes[page]
        path = Path(__file__).parent / page
        try:
            total = len(read_page(path, DOCS, SETTINGS.snippets_dir).blocks)
        except PageError:
            total = "unreadable:"
        terminalreporter.write_line(
            f"{page}: {counts['executed']} executed, {counts['skipped']} skipped, {counts['failed']} failed, {total} total"
        )


def _summarize_docker_skips(terminalreporter) -> None:
    """One line, never silent: how many tests did not run for want of the lab, why, and the command that runs them."""
    reasons: dict[str, int] = defaultdict(int)
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if HOW_TO_START in reason:
            reasons[reason.removeprefix("Skipped: ").split(f"; {HOW_TO_START}")[0]] += 1
    if reasons:
        terminalreporter.section("tests that need Docker and did not run")
        for reason, count in sorted(reasons.items()):
            terminalreporter.write_line(f"{count} skipped: {reason}", yellow=True)
        terminalreporter.write_line(f"run them: {HOW_TO_START}")


def pytest_sessionfinish(session, exitstatus):
    """After the whole suite (on the controller): no daemon, container or image of ours is left."""
    if hasattr(session.config, "workerinput") or not session.testscollected:
        return
    lab = Lab(SETTINGS)
    if not lab.daemon_up(MAIN_DAEMON):
        return
    # Only daemons whose owner has ended: builds running beside the suite keep theirs while they run.
    problems = [f"lab daemon '{name}' left by an ended run" for name in lab.orphans()]
    with daemon.connected(base_url=lab.daemon(MAIN_DAEMON).docker_host) as api:
        problems += [f"container {c.short_id} on the lab daemon" for c in api.containers.list(all=True)]
        problems += [f"image {i.short_id} {i.tags} on the lab daemon" for i in api.images.list(all=True)]
    if problems:
        session.config.get_terminal_writer().line("left behind by the suite: " + "; ".join(problems), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
