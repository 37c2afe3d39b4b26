"""Captures: the outputs a page shows, produced by a real run, kept in ``captures/`` and reused.

A page's captures are one record: state carries from block to block, so a page is run whole.
The record's key hashes every real input (the blocks with their snippets, the client and
server versions and image store, the digests of the base images the registry serves now, whether the
daemon is ours to empty, and the capture format the engine declares), never the text of the engine's code:
a refactor that changes no output changes no record. Same key: nothing runs. No daemon: the committed record is shown,
labelled as recorded, if its blocks are still the page's blocks.

A record carries a checksum of what the engine wrote: a record edited by hand is never shown
as captured (with a daemon the page runs again; without one the build fails naming the file).

Pages whose records must be made run at the same time, each on a daemon nobody else uses while
it runs: a lab daemon of its own (in a network namespace of its own), or, on any other daemon
(an author's Docker), one page at a time under a machine-wide lock.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from doclab import daemon
from doclab.daemon import guard
from doclab.page.parse import Block, BlockKind, Page
from doclab.capture.record import CAPTURE_FORMAT, CaptureError, CaptureStore, PageRecord, edited_by_hand, sha256_of
from doclab.capture.runner import NO_DAEMON_PUBLICLY, PageDaemons, PageRunner
from doclab.settings import RECORDED, STRICT, Settings

def block_inputs(b: Block) -> list:
    """What of a block makes its output (and the next blocks'): a record's key hashes these of every block."""
    return [b.language, sorted(b.attrs.items()), b.source, b.capture_id, b.expected_exit, b.client, b.skip_reason,
            list(b.env), b.fresh, b.trace, b.terminal, *(["replay"] if b.replay else [])]


def inputs_key(page: Page) -> str:
    return sha256_of([CAPTURE_FORMAT, [block_inputs(b) for b in page.blocks]])


def first_edited_capture(before: Page | None, after: Page) -> str | None:
    """The first output an edit from ``before`` to ``after`` can change: the first one at or after the first block
    that differs (the blocks before it run as before). None when there is no earlier version or no such output."""
    if before is None:
        return None
    same = 0
    while (same < min(len(before.blocks), len(after.blocks))
           and block_inputs(before.blocks[same]) == block_inputs(after.blocks[same])):
        same += 1
    return next((b.capture_id for b in after.blocks[same:] if b.capture_id and not b.skip_reason), None)


def capture_key(inputs: str, environment: dict) -> str:
    return sha256_of([inputs, environment])


class Outcome(StrEnum):
    """How a page's record was obtained."""

    LIVE = "live"  # run now
    CACHED = "cached"  # its key unchanged: nothing ran
    RECORDED = "recorded"  # no daemon (or not a clean one): the committed record, and why
    RUNNING = "running"  # under serve, as far as the run after an edit has gone: the page is built again at its end


@dataclass
class Resolved:
    record: PageRecord
    state: Outcome
    #: Why a record is shown instead of a live run: for the build log, and without paths for the page.
    reason: str = ""
    public_reason: str = ""
    #: Other engines' records of this page, for its ``<!-- output: ID engine=NAME -->`` markers: engine → record.
    engine_records: dict[str, PageRecord] = field(default_factory=dict)


class DaemonQuestions:
    """What a build asks the daemon once, whatever the number of pages: its facts, and the registry digest of each
    base image (a record's key depends on both). A new build asks anew (``Captures.refresh``)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._facts: daemon.DaemonFacts | None = None
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()
        self._facts_lock = threading.Lock()

    def ask_ahead(self) -> None:
        """The daemon's facts, then the registry digests of the snippets' base images (each a round trip
        through the daemon to the registry), before the pages need them."""
        if not self.facts.reachable:
            return
        dockerfiles = [path.read_text(errors="replace") for path in sorted(self.settings.snippets_dir.rglob("Dockerfile*"))]
        for ref in daemon.base_images(dockerfiles):
            try:
                self.registry_digest(ref)
            except OSError:
                return  # asked again, and reported, when a page needs it

    @property
    def facts(self) -> daemon.DaemonFacts:
        with self._facts_lock:
            return self._ask_facts()

    def _ask_facts(self) -> daemon.DaemonFacts:
        if self._facts is None:
            if self.settings.recorded:
                self._facts = daemon.DaemonFacts(reachable=False, reason=f"{RECORDED}=1 is set (recorded outputs only)")
            else:
                self._facts = daemon.facts_where(os.environ)  # the one place a build resolves its daemon
        return self._facts

    def environment(self, page: Page) -> dict:
        facts = self.facts
        client = daemon.client_facts(self.settings.docker_cli)
        dockerfiles = [b.source for b in page.blocks if b.kind is BlockKind.FILE]
        return {
            "client": client.version,
            "buildx": client.buildx,
            "server": facts.server_version,
            "containerd": facts.containerd_version,
            "image_store": facts.image_store,
            "owned": facts.owned,
            "base_images": {ref: self.registry_digest(ref) for ref in daemon.base_images(dockerfiles)},
        }

    def registry_digest(self, ref: str) -> str:
        """Asked once per build, whatever the number of pages that start from ``ref``."""
        with self._lock:
            if ref not in self._digests:
                self._digests[ref] = daemon.registry_digest(self.facts.address, ref)
            return self._digests[ref]


class Captures:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = CaptureStore(settings.captures_dir)
        self.runner = PageRunner(settings)
        self.asked = DaemonQuestions(settings)
        self._resolved: dict[str, tuple[str, Resolved | CaptureError]] = {}

    def interrupt(self) -> None:
        """End every page that is running (its shell is killed: its blocks fail, nothing of it is recorded)."""
        self.runner.interrupt()

    @property
    def pages_run(self) -> list[str]:
        return self.runner.pages_run

    def refresh(self) -> None:
        """Ask the daemon again (once per site build): it may have started or stopped.

        The question is sent at once, in the background: the answer arrives while MkDocs reads
        the pages, and a warm rebuild does not wait for it.
        """
        self.asked = DaemonQuestions(self.settings)
        self._resolved = {}
        threading.Thread(target=self.asked.ask_ahead, daemon=True).start()

    @property
    def facts(self) -> daemon.DaemonFacts:
        return self.asked.facts

    def environment(self, page: Page) -> dict:
        return self.asked.environment(page)

    def resolve(self, page: Page, force: bool = False) -> Resolved:
        """The page's captures: reused when nothing changed, run when something did."""
        done = self._resolved.get(page.path)
        outcome = done[1] if done is not None and done[0] == inputs_key(page) and not force else (
            self.resolve_all([page], force)[page.path])
        if isinstance(outcome, CaptureError):
            raise outcome
        return with_engine_records(self.settings, page, outcome)

    def resolve_all(self, pages: list[Page], force: bool = False) -> dict[str, Resolved | CaptureError]:
        """Resolve every page; the pages that must run do so at the same time (up to DOCLAB_JOBS)."""
        outcomes: dict[str, Resolved | CaptureError] = {}
        to_run: list[tuple[Page, str, str]] = []
        for page in pages:
            inputs = inputs_key(page)
            try:
                recorded = self.store.load(page.path)
                if not self.facts.reachable:
                    outcomes[page.path] = self._recorded(page, recorded, inputs)
                    continue
                key = capture_key(inputs, self.environment(page))
            except CaptureError as error:
                outcomes[page.path] = error
                continue
            if self._reusable(recorded, key, force):
                outcomes[page.path] = Resolved(recorded, Outcome.CACHED)
            elif not (force or self.settings.strict) and (committed := self.store.put_back_committed(page.path, key)):
                outcomes[page.path] = Resolved(committed, Outcome.CACHED)  # an edit undone: as committed, nothing runs
            else:
                to_run.append((page, key, inputs, recorded.stamp.get("seconds", 0) if recorded else float("inf")))
        # Longest first (as last recorded; never recorded counts as longest): the slowest page sets the build's time.
        to_run.sort(key=lambda item: -item[3])
        if to_run:
            try:
                daemons = self._daemons()
            except CaptureError as error:
                outcomes.update({page.path: error for page, *_ in to_run})
                to_run = []
        if to_run:
            jobs = self.settings.jobs if daemons.isolated else 1
            pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="doclab-page")
            futures = {page.path: pool.submit(self._run_and_save, page, key, inputs, daemons, force) for page, key, inputs, _ in to_run}
            try:
                for path, future in futures.items():
                    try:
                        outcomes[path] = future.result()
                    except CaptureError as error:
                        outcomes[path] = error
            except KeyboardInterrupt:
                # Ctrl-C: the running pages end now (their shells killed, nothing recorded, their daemons given
                # back), the waiting ones never start; without this the pool would wait for every page to finish.
                self.interrupt()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            daemons.wait_given_back()
        for page in pages:
            self._resolved[page.path] = (inputs_key(page), outcomes[page.path])
        return outcomes

    def _reusable(self, recorded: PageRecord | None, key: str, force: bool) -> bool:
        """A record is reused only when intact and current, and never under DOCLAB_STRICT: what is
        published or tested strictly is run now (a record's checksum stops edits, not forgeries)."""
        return recorded is not None and recorded.intact and recorded.key == key and not force and not self.settings.strict

    def _daemons(self) -> PageDaemons:
        return PageDaemons(self.settings, self.facts)

    def record_of(self, page: str) -> PageRecord | None:
        """The record of ``page`` as this build resolved it, else as stored (for quotes across pages)."""
        done = self._resolved.get(page)
        if done is not None and isinstance(done[1], Resolved):
            return done[1].record
        return self.store.load_intact(page)

    def _run_and_save(self, page: Page, key: str, inputs: str, daemons: PageDaemons, force: bool) -> Resolved:
        """Run the page and save its record; on a daemon that is not clean for it, show its last clean record."""
        try:
            with self.store.running(page.path, self.runner.interrupted):
                if self._reusable(recorded := self.store.load(page.path), key, force):  # another build ran it meanwhile
                    return Resolved(recorded, Outcome.CACHED)
                record = self.runner.run_page(page, key, inputs, daemons)
                self.store.save(record)
        except guard.NotClean as unclean:
            return self._recorded(page, self.store.load(page.path), inputs, str(unclean), unclean.public, guard.HOW_TO_RUN_LIVE)
        except (OSError, RuntimeError) as error:
            if isinstance(error, CaptureError):
                raise
            # A connection refused because the lab was taken down meanwhile says so, not what the socket said.
            raise CaptureError.about(page.path, f"could not run the page: {daemons.lab_down() or error}") from error
        return Resolved(record, Outcome.LIVE)

    def recorded_for(self, page: Page, public: str) -> Resolved:
        """For a front door that never runs a page (another site generator): the page's last clean record,
        the stamp saying ``public``; an error when there is none, or it is of an earlier version of the page."""
        return with_engine_records(self.settings, page, self._recorded(
            page, self.store.load(page.path), inputs_key(page), public, public,
            "build with MkDocs against a daemon (scripts/serve, or the lab) to record them"))

    def _recorded(
        self, page: Page, recorded: PageRecord | None, inputs: str, reason: str = "", public: str = "", how: str = ""
    ) -> Resolved:
        names = ", ".join(sorted(page.captures))
        if self.facts.broken:  # a daemon is there: showing recorded outputs would hide why it is not used
            raise CaptureError.about(page.path, f"{self.facts.reason}; or build with {RECORDED}=1 for the recorded outputs")
        reason = reason or self.facts.reason
        public = public or (f"the recorded outputs were asked for ({RECORDED}=1)" if self.settings.recorded
                            else NO_DAEMON_PUBLICLY)
        how = how or "start the lab (python -m doclab.lab up) and export the DOCKER_HOST it prints, then build again"
        if self.settings.strict:
            raise CaptureError.about(page.path, f"captures {names} need a live run ({STRICT} is set) but {reason}; {how}")
        if recorded is None:
            raise CaptureError.about(page.path, f"captures {names} were never recorded and {reason}; {how}")
        if not recorded.intact:
            raise CaptureError(edited_by_hand(self.store.path(page.path), page.path))
        if recorded.inputs_key != inputs:
            raise CaptureError.about(
                page.path, f"the recorded captures {names} are of an earlier version of this page's "
                f"examples, and {reason}, so they cannot be run again now; {how}"
            )
        return Resolved(recorded, Outcome.RECORDED, reason, public)


def with_engine_records(settings: Settings, page: Page, resolved: Resolved) -> Resolved:
    """``resolved`` with the records its ``engine=`` output markers show (engine-captures/ENGINE/)."""
    records = {}
    for marker in page.outputs:
        if marker.engine is None or marker.engine in records:
            continue
        record = CaptureStore(settings.engine_captures_dir / marker.engine).load_intact(page.path)
        if record is None or marker.capture_id not in record.captures:
            raise CaptureError.about(
                page.path, f"<!-- output: {marker.capture_id} engine={marker.engine} --> has no record of engine "
                f"{marker.engine}; make it with python -m doclab.tools.matrix --write (it runs the page there)", marker.line)
        if record.inputs_key != inputs_key(page):
            raise CaptureError.about(
                page.path, f"the record of engine {marker.engine} is of an earlier version of this page's examples; "
                "record it again with python -m doclab.tools.matrix --write", marker.line)
        records[marker.engine] = record
    return dataclasses.replace(resolved, engine_records=records) if records else resolved
