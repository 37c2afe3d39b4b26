"""The docs are a test suite: Sybil collects every fenced block of docs/**/*.md and runs it
with doclab's PageRun — the engine the site build uses — one shell and one empty daemon a page."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from doclab.doctests import DocTests
from doclab import daemon
from doclab.lab.control import Lab
from doclab.lab.folder import MAIN_DAEMON
from doclab.page.parse import PageError, read_page
from doclab.settings import Settings
from tests.docker_env import HOW_TO_START, page_daemon

DOCS = Path(__file__).parent / "docs"
SETTINGS = Settings.from_env()
_outcomes: dict[str, dict[str, int]] = defaultdict(lambda: {"executed": 0, "skipped": 0, "failed": 0})


#: The doc tests: a page runs on a lab daemon leased for it (tests.docker_env: skipped, or under CI=true failed, without one).
DOC_TESTS = DocTests(SETTINGS, DOCS, daemon_for=page_daemon)
pytest_collect_file = DOC_TESTS.sybil(name="docs").pytest()


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


@pytest.hookimpl(optionalhook=True)  # pytest -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with no two browser files side by side while other files wait (tests/scheduling.py)."""
    if config.getvalue("dist") == "loadfile":
        from tests.scheduling import BrowserApartScheduling

        return BrowserApartScheduling(config, log)
    return None
