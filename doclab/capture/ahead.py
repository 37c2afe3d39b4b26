"""Recapture what an edit changed the moment it is saved. ``mkdocs serve`` waits for more edits, loads its
config and plugins again and reads every page before its build reaches the captures; the page's commands, the
longest part, run meanwhile. The build shows the page as far as the run has gone once the edited block has run
(``so_far``; the blocks after it say they run again) and asks for another build, which waits for the run's record
under the page's lock (``CaptureStore.running``) instead of running the page a second time, as a build does when
no edited block is known."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from doclab.capture.captures import Captures, Outcome, inputs_key
from doclab.capture.record import CaptureError, CaptureStore, PageRecord
from doclab.page.parse import Page, PageError, read_page
from doclab.settings import Settings


class RunAhead:
    """One thread that, after each edit, resolves the pages ``mkdocs serve`` built; edits made while it runs are
    seen by its next pass. It only saves time: whatever it cannot do, the build does and reports."""

    def __init__(self, settings: Settings, docs_dir: Path, pages: list[str], report: Callable[[str], None],
                 rebuild: Callable[[], None]):
        self.settings = settings
        self.docs_dir = docs_dir
        self.pages = pages
        self.report = report
        self.rebuild = rebuild
        self._shown = threading.Condition()
        self._so_far: dict[str, PageRecord] = {}  # page → its record so far, in the pass running now
        #: (page, inputs key) a build of this pass showed in part: the next build waits for their records.
        self._shown_early: set[tuple[str, str]] = set()
        self._passing = False
        self._failures: dict[str, tuple[str, CaptureError]] = {}  # page → (its inputs key, why its run failed)
        self._store = CaptureStore(settings.captures_dir)
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

    def so_far(self, page: Page, capture_id: str | None) -> PageRecord | None:
        """``page``'s record as far as its run has gone, once it holds ``capture_id``, and another build is asked for at
        once: it renders the other pages while the run goes on, then waits for the whole record. None when no run of
        this version of the page goes on here, it ended before that output, or, for a run shown in part already, once
        its record is saved: the build then finds the record, or ``failed`` says why there is none."""
        key = inputs_key(page)
        with self._shown:
            shown_before = (page.path, key) in self._shown_early
            while self.busy:  # a pass of an earlier edit may still be ending: only this version's run counts
                record = self._so_far.get(page.path)
                record = record if record is not None and record.inputs_key == key else None
                if shown_before:
                    if record is not None and self._saved(page, record):
                        return None  # its record is there for the build
                elif record is not None and capture_id in record.captures:
                    self._shown_early.add((page.path, key))
                    break
                self._shown.wait(0.05)
            else:
                return None  # the pass ended (its record saved, or ``failed`` says why) or never ran the page
        self.rebuild()
        return record

    def _saved(self, page: Page, so_far: PageRecord) -> bool:
        """Whether the run shown in part has saved its record (a later block may still fail it: ``failed`` says so)."""
        try:
            saved = self._store.load(page.path)
        except CaptureError:
            return False
        return saved is not None and saved.key == so_far.key

    @property
    def busy(self) -> bool:
        """A pass runs, or one is due (an edit was seen): the pages an edit changed are its to run, not a build's."""
        return self._passing or self._edited.is_set()

    def failed(self, page: Page) -> CaptureError | None:
        """Why the last pass's run of this version of ``page`` failed: the build shows it instead of running the page
        again (the author waited for one run; a second would fail the same way)."""
        with self._shown:
            key, error = self._failures.get(page.path, (None, None))
        return error if key == inputs_key(page) else None

    def _captured(self, page: Page, record: PageRecord) -> None:
        with self._shown:
            self._so_far[page.path] = record
            self._shown.notify_all()

    def _loop(self) -> None:
        while True:
            self._edited.wait()
            if self._stopped:
                return
            with self._shown:  # passing before the edit is cleared: ``busy`` never reads false between the two
                self._passing, self._so_far, self._shown_early, self._failures = True, {}, set(), {}
                self._edited.clear()
            try:
                self._pass()
            finally:
                with self._shown:
                    self._passing = False
                    self._shown.notify_all()

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
        captures.runner.on_capture = self._captured
        if self.settings.strict or not captures.facts.reachable:
            return  # nothing is reused under DOCLAB_STRICT, and with no daemon nothing runs
        self._captures = captures
        if self._edited.is_set():
            return  # edited again while the pages were read: the next pass reads them again
        started = time.monotonic()
        outcomes = captures.resolve_all(pages)
        self._captures = None
        if not captures.runner.interrupted.is_set():  # a run stopped by a newer edit failed for no reason of its own
            with self._shown:
                self._failures = {page.path: (inputs_key(page), outcomes[page.path]) for page in pages
                                  if isinstance(outcomes.get(page.path), CaptureError)}
            for path in sorted(self._failures):
                self.report(f"captures: {path} failed on the edit (its page shows why)")
        ran = sorted(path for path, outcome in outcomes.items() if getattr(outcome, "state", None) is Outcome.LIVE)
        if ran:
            self.report(f"captures: ran {', '.join(ran)} on the edit, in {time.monotonic() - started:.3f} s "
                        "(the build that follows shows it)")
