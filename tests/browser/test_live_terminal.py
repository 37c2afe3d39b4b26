""""Do it" in Chromium as a learner meets it under scripts/serve with the lab: the page carries where its live
terminals are, the panel opens a real shell on a lab daemon of its own, the four steps typed by keyboard are ticked
by "Check my work" (a wrong Dockerfile gets its explanation first), axe finds nothing serious with the panel open at
375 px in dark mode, and a closed tab leaves no shell, folder or process behind."""

import functools
import secrets
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from doclab.lab.processes import processes_mentioning
from doclab.settings import LIVE_TERMINAL, Settings
from doclab.tools.live import LiveTerminals
from tests.browser.conftest import ARTIFACTS, AXE, QuietHandler
from tests.conftest import build_site
from tests.docker_env import running_lab, unavailable

pytestmark = pytest.mark.docker
LESSON = "/mini-project/"


@pytest.fixture(scope="module")
def live_site(tmp_path_factory):
    """The site as scripts/serve builds it with the lab: its pages carry the live terminals' address and token."""
    site = tmp_path_factory.mktemp("live") / "site"
    site.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    terminals = LiveTerminals(Settings.from_env(), running_lab(), (origin,)).start()
    built = build_site(site, {"DOCKER_HOST": "unix:///nonexistent/doclab-dead.sock", "DOCLAB_STRICT": "",
                              LIVE_TERMINAL: terminals.page_setting})
    assert built.returncode == 0, built.output
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield origin, terminals
    server.shutdown()
    server.server_close()
    terminals.stop()


def type_line(tab, text):
    """Type ``text`` and Enter by keyboard, then wait until the shell ran it (a mark it prints after, never typed)."""
    mark = secrets.randbelow(10 ** 6)
    tab.locator(".doclab-terminal__screen").focus()
    for line in (text, f"echo mark-$(({mark} + 1))"):
        tab.keyboard.type(line)
        tab.keyboard.press("Enter")
    tab.locator(".doclab-terminal__screen").filter(has_text=f"mark-{mark + 1}").wait_for(timeout=120_000)


def check(tab, step, says):
    tab.locator(f".lesson-step:has(input[data-step='{step}']) + .doclab-check button").click()
    said = tab.locator(f".lesson-step:has(input[data-step='{step}']) + .doclab-check .doclab-check__says")
    try:
        said.filter(has_text=says).wait_for(timeout=30_000)
    except Exception:
        pytest.fail(f"step {step} says {said.inner_text()!r}, not {says!r}; the terminal shows:\n"
                    f"{tab.locator('.doclab-terminal__screen').inner_text()}")


def test_the_four_steps_typed_into_the_live_terminal_tick_through_check_my_work(open_tab, live_site):
    if not AXE.exists():
        unavailable(f"{AXE} is missing (npm ci in tests/browser)")
    origin, terminals = live_site
    tab = open_tab(viewport={"width": 375, "height": 812}, color_scheme="dark")
    tab.goto(origin + LESSON, wait_until="load")
    assert tab.locator(".doclab-live p").is_hidden()
    tab.get_by_role("button", name="Open a live terminal").click()
    tab.locator(".doclab-terminal__status").filter(has_text="A new shell").wait_for(timeout=60_000)
    assert tab.evaluate("document.activeElement.classList.contains('doclab-terminal__screen')")
    type_line(tab, "mkdir docker-architecture && cd docker-architecture")
    type_line(tab, "echo 'FROM alpine:latest' > Dockerfile")
    tab.keyboard.press("Escape")  # from the terminal to the first step not ticked, by keyboard only
    assert tab.evaluate("document.activeElement.closest('.doclab-check').previousElementSibling.querySelector('input')"
                        ".dataset.step") == "1"
    tab.keyboard.press("Enter")
    tab.locator(".doclab-check .doclab-check__says").first.filter(has_text="should hold one line, FROM alpine:3.18").wait_for()
    assert not tab.locator("input[data-step='1']").is_checked()
    type_line(tab, "echo 'FROM alpine:3.18' > Dockerfile")
    check(tab, "1", "Step 1 done")
    type_line(tab, "IMAGE_NAME=my-alpine-image")
    check(tab, "2", "Step 2 done")
    type_line(tab, "docker build -t $IMAGE_NAME .")
    check(tab, "3", "Step 3 done")
    check(tab, "4", "Step 4 done")
    assert [tab.locator(f"input[data-step='{step}']").is_checked() for step in "1234"] == [True] * 4
    assert tab.locator(".lesson-progress__label").inner_text() == "4 / 4 steps"
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "live-terminal-375px-dark.png"))
    tab.add_script_tag(path=str(AXE))
    violations = tab.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                              ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
    (shell,) = terminals.shells.values()
    root = shell.shell.root
    tab.goto("about:blank")  # the page is gone: its pagehide ends the shell
    deadline = time.monotonic() + 30
    while (terminals.shells or root.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert terminals.shells == {} and not root.exists() and processes_mentioning(str(root)) == []
