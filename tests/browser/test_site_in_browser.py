"""The learner's experience, in Debian's Chromium driven by Playwright, against the built site
served on 127.0.0.1: progress, hints, quiz, copy buttons, no third-party requests, axe-core."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from doclab.capture import CaptureStore
from doclab.scrub import as_terminal_shows, normalize
from doclab.settings import Settings
from tests.conftest import ROOT, build_site
from tests.docker_env import fresh_daemon, unavailable

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

pytestmark = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with the recorded captures (the UI is under test here, not the captures)."""
    built = build_site(tmp_path_factory.mktemp("browser") / "site",
                       {"DOCKER_HOST": "unix:///nonexistent/doclab-dead.sock", "DOCLAB_STRICT": ""})
    assert built.returncode == 0, built.output
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built.site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield built.site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site[1])
    tab = context.new_page()
    yield tab
    context.close()


def all_pages(site_dir: Path) -> list[str]:
    return sorted("/" + p.parent.relative_to(site_dir).as_posix().strip(".") + ("/" if p.parent != site_dir else "")
                  for p in site_dir.rglob("index.html") if "assets" not in p.parts)


def test_progress_is_kept_across_reloads_shown_on_the_landing_page_and_reset(page, site):
    page.goto(site[1] + "/mini-project/")
    assert page.locator(".lesson-progress__label").inner_text() == "0 / 4 steps"
    page.check("input[data-step='1']")
    page.check("input[data-step='3']")
    page.reload()
    assert page.locator(".lesson-progress__label").inner_text() == "2 / 4 steps"
    assert page.is_checked("input[data-step='3']") and not page.is_checked("input[data-step='2']")
    page.goto(site[1] + "/")
    assert page.locator(".learning-summary__steps").inner_text() == "2 / 4 steps"
    page.goto(site[1] + "/mini-project/")
    page.click(".lesson-progress__reset")
    assert page.locator(".lesson-progress__label").inner_text() == "0 / 4 steps"
    page.reload()
    assert not page.is_checked("input[data-step='1']")


def test_hints_are_collapsed_until_opened(page, site):
    page.goto(site[1] + "/mini-project/")
    hints = page.locator("details.tip")
    assert hints.count() == 4
    assert all(not hints.nth(i).evaluate("d => d.open") for i in range(4))
    page.click(".exercise[data-step='1'] .exercise__hint")  # folded with the step's solution, opened from its answer box
    assert hints.first.evaluate("d => d.open")
    assert hints.first.locator("p").first.is_visible()


def test_quiz_gives_feedback_and_a_score_shown_on_the_landing_page(page, site):
    page.goto(site[1] + "/learn/quiz/")
    page.click("label[for='quiz-0-1']")  # right: the daemon pulls
    first = page.locator("#quiz-0 .quiz-feedback")
    first.wait_for(state="visible")
    page.click("label[for='quiz-1-2']")  # wrong: it is not the image's size
    second = page.locator("#quiz-1 .quiz-feedback")
    second.wait_for(state="visible")
    assert first.locator(".quiz-feedback-item.correct").inner_text().strip() == "Correct answer!"
    assert second.locator(".quiz-feedback-item.incorrect").count() == 1
    assert page.locator("#quiz-0 section.content").is_visible()
    assert page.locator(".quiz-results-correct").inner_text() == "1"
    assert page.locator(".quiz-results-answered").inner_text() == "2"
    page.goto(site[1] + "/")
    assert page.locator(".learning-summary__quiz").inner_text() == "1 / 6 correct"


def test_flashcards_flip(page, site):
    page.goto(site[1] + "/learn/flashcards/")
    card = page.locator(".flashcard").first
    assert not card.locator(".flashcard__back").is_visible()
    card.click()
    assert card.get_attribute("aria-pressed") == "true" and card.locator(".flashcard__back").is_visible()


def test_copy_button_copies_exactly_the_command(page, site):
    page.goto(site[1] + "/mini-project/")
    page.click(".exercise[data-step='3'] .exercise__show")
    block = page.locator("div.highlight", has_text="docker build -t $IMAGE_NAME .").first
    block.hover()
    block.locator("button.md-code__button[data-md-type='copy']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == (ROOT / "snippets" / "mini-project" / "build.sh").read_text().strip()
    assert "$ " not in copied and "Successfully" not in copied


@pytest.mark.docker
def test_copy_all_steps_script_runs_and_prints_the_pages_output(page, site, tmp_path):
    page.goto(site[1] + "/mini-project/")
    page.click(".doclab-script__copy")
    script = page.evaluate("navigator.clipboard.readText()")
    assert script.startswith("#!/usr/bin/env bash") and "FROM alpine:3.18" in script
    (tmp_path / "all-steps.sh").write_text(script)
    with fresh_daemon("copy-all-script") as daemon_handle:
        done = subprocess.run(["bash", "all-steps.sh"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=300, env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_HOST": daemon_handle.docker_host})
    printed = as_terminal_shows(done.stdout.decode())  # bytes: text mode would turn the client's \r into \n
    assert done.returncode == 0, printed
    recorded = CaptureStore(Settings.from_env().captures_dir).load("mini-project.md").captures["build"].output
    assert normalize(printed) == normalize(recorded)


def test_every_page_loads_with_no_request_outside_127_0_0_1(page, site):
    outside: dict[str, list[str]] = {}
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    for path in all_pages(site[0]):
        requests.clear()
        page.goto(site[1] + path, wait_until="networkidle")
        hosts = [url for url in requests if urlparse(url).scheme in ("http", "https") and urlparse(url).hostname != "127.0.0.1"]
        if hosts:
            outside[path] = hosts
    assert len(all_pages(site[0])) >= 13
    assert outside == {}


def test_axe_finds_no_serious_or_critical_violation_on_any_page(page, site):
    if not AXE.exists():
        unavailable(f"{AXE} is missing (npm ci in tests/browser)")
    summary, serious = {}, {}
    for path in all_pages(site[0]):
        page.goto(site[1] + path, wait_until="networkidle")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("async () => (await axe.run(document)).violations"
                                   ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
        summary[path] = {v["id"]: v["impact"] for v in violations}
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        if bad:
            serious[path] = bad
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\naxe:", json.dumps(summary))
    assert serious == {}


def test_lesson_is_readable_at_phone_width_with_no_horizontal_scroll(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2)
    phone = context.new_page()
    phone.goto(site[1] + "/mini-project/", wait_until="networkidle")
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "lesson-375px.png"))
    context.close()
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px window"


def test_lesson_screenshot_and_weight(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="networkidle")
    weight = page.evaluate("""() => {
        const entries = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'));
        return {requests: entries.length, bytes: entries.reduce((sum, e) => sum + (e.transferSize || 0), 0)};
    }""")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lesson.png"), full_page=True)
    page.evaluate("document.getElementById('step-4-run-it-and-read-the-output').scrollIntoView()")
    page.wait_for_timeout(800)  # let the theme redraw after the jump before the picture is taken
    page.screenshot(path=str(ARTIFACTS / "lesson-step-4.png"))
    print(f"\nlesson page: {weight['requests']} requests, {weight['bytes']} bytes transferred")
    assert (ARTIFACTS / "lesson.png").stat().st_size > 10_000
    assert weight["requests"] > 0


def test_search_and_dark_mode_work_offline(page, site):
    page.goto(site[1] + "/", wait_until="networkidle")
    results = page.locator(".md-search-result__item")
    for _ in range(30):  # the index loads in a web worker: a query typed before it is ready finds nothing
        page.fill(".md-search__input", "")
        page.locator(".md-search__input").press_sequentially("registry mirror")  # the theme searches on keyup
        page.wait_for_timeout(1000)
        if results.count():
            break
    assert results.count() > 0 and "registry" in results.first.inner_text().lower()
    page.keyboard.press("Escape")
    scheme = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    page.locator("form[data-md-component='palette'] label:not([hidden])").first.click()
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") != scheme
