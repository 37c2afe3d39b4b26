"""What every browser test stands on: the site built once a worker from the recorded captures and served on
127.0.0.1, one Chromium, and browser contexts shared between tests.

A new context costs Chromium a renderer, an empty cache and the theme's scripts compiled again (about 2.2 CPU-s
for a lesson test, against 1.0 for a new tab in a context that has loaded it and keeps a tab open): so a test
opens a tab in the shared context of its options (viewport, colour scheme, touch, ...), and what a tab leaves in the site's
storage (progress, answers, palette) is cleared when the test ends. Only the first visits (page weights)
need an empty cache, and ask for one."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, build_site
from tests.docker_env import unavailable

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
#: What a test's tab may leave behind on the site's origin (Material keeps the palette there, the lesson its progress).
SITE_STORAGE = "local_storage,session_storage,indexeddb,cookies,cache_storage,service_workers"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def contexts(browser, site):
    """``contexts(**options)``: the worker's one context with these ``browser.new_context`` options."""
    made = {}

    def context_for(**options):
        key = json.dumps(options, sort_keys=True)
        if key not in made:
            made[key] = browser.new_context(**options)
            made[key].grant_permissions(["clipboard-read", "clipboard-write"], origin=site[1])
            # A context whose last tab closes drops what it compiled and cached: a blank tab kept open halves a test.
            made[key].new_page()
        return made[key]

    yield context_for
    for context in made.values():
        context.close()


#: ``browser.new_context`` options a tab can also set for itself: tabs that differ only in these share a context (each
#: context is a window, and Chromium starts a renderer for its top bar per window: half a second of CPU each). Not the
#: colour scheme: Material stores the palette it chose in the site's storage, which a context's tabs share.
PER_TAB = ("viewport", "reduced_motion")


def new_tab(contexts, **options):
    """A new tab as ``browser.new_context(**options).new_page()`` would open it, in a shared context."""
    tab = contexts(**{name: value for name, value in options.items() if name not in PER_TAB}).new_page()
    if "viewport" in options:
        tab.set_viewport_size(options["viewport"])
    if "reduced_motion" in options:
        tab.emulate_media(reduced_motion=options["reduced_motion"])
    return tab


@pytest.fixture
def open_tab(contexts, site):
    """``open_tab(**options)``: a new tab with these options, closed with the site's storage cleared when the test
    ends, so the next test meets the site as a new reader does."""
    opened = []

    def open_tab(**options):
        tab = new_tab(contexts, **options)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        close_forgetting_the_site(tab, site[1])


def close_forgetting_the_site(tab, origin: str) -> None:
    """Close ``tab`` and clear what it left in the site's storage, so the next tab meets the site as a new reader."""
    forget_the_site(tab, origin)
    tab.close()


def forget_the_site(tab, origin: str) -> None:
    if tab.url.startswith(origin):
        # From the page first: its renderer, which a later tab of the site may reuse, keeps a copy of the storage.
        tab.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    session = tab.context.new_cdp_session(tab)
    session.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": SITE_STORAGE})
    session.detach()


@pytest.fixture
def page(open_tab):
    """A desktop tab that may use the clipboard."""
    return open_tab(viewport={"width": 1100, "height": 900})


def all_pages(site_dir: Path) -> list[str]:
    return sorted("/" + p.parent.relative_to(site_dir).as_posix().strip(".") + ("/" if p.parent != site_dir else "")
                  for p in site_dir.rglob("index.html") if "assets" not in p.parts)
