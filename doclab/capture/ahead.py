"""Recapture what an edit changed the moment it is saved. ``mkdocs serve`` waits for more edits, loads its
config and plugins again and reads every page before its build reaches the captures; the page's commands, the
longest part, run meanwhile. The build then waits for that run under the page's lock (``CaptureStore.running``)
and finds its record, instead of running the page a second time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from doclab.capture.captures import Captures, Outcome
from doclab.page.parse import PageError, read_page
from doclab.settings import Settings


class RunAhead:
    """One thread that, after each edit, resolves the pages ``mkdocs serve`` built; edits made while it runs are
    seen by its next pass. It only saves time: whatever it cannot do, the build does and reports."""

    def __init__(self, settings: Settings, docs_dir: Path, pages: list[str], report: Callable[[str], None]):
        self.settings = settings
        self.docs_dir = docs_dir
        self.pages = pages
        self.report = report
        self._edited = threading.Event()
        self._stopped = False
        self._captures: Captures | None = None
        self._thread = threading.Thread(target=self._loop, name="doclab-run-ahead", daemon=True)
        self._thread.start()

    def edited(self) -> None:
        """A newer edit: the pass running now (its pages' shells) ends unrecorded, and the next pass runs what is saved."""
        self._edited.set()
        if self._captures is not None:
            self._captures.interrupt()

    def stop(self) -> None:
        """End a pass that is running (its pages' shells are killed, nothing of them recorded) and the thread."""
        self._stopped = True
        self._edited.set()
        if self._captures is not None:
            self._captures.interrupt()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            self._edited.wait()
            if self._stopped:
                return
            self._edited.clear()
            self._pass()

    def _pass(self) -> None:
        pages = []
        for name in self.pages:
            try:
                page = read_page(self.docs_dir / name, self.docs_dir, self.settings.snippets_dir)
            except (OSError, PageError):
                continue  # moved, or not valid yet: the build says so, naming the page
            if page.captures:
                pages.append(page)
        captures = Captures(self.settings)
        if self.settings.strict or not captures.facts.reachable:
            return  # nothing is reused under DOCLAB_STRICT, and with no daemon nothing runs
        self._captures = captures
        if self._edited.is_set():
            return  # edited again while the pages were read: the next pass reads them again
        started = time.monotonic()
        outcomes = captures.resolve_all(pages)
        self._captures = None
        ran = sorted(path for path, outcome in outcomes.items() if getattr(outcome, "state", None) is Outcome.LIVE)
        if ran:
            self.report(f"captures: ran {', '.join(ran)} on the edit, in {time.monotonic() - started:.3f} s "
                        "(the build that follows shows it)")
