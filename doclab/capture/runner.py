"""Running pages: where each runs (a lab daemon of its own, or the one daemon there is, under a lock), and
running its blocks for real into a record, stopped at once when the build is interrupted."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from doclab.capture.record import Capture, CaptureError, PageRecord
from doclab import daemon
from doclab.daemon import guard
from doclab.page.parse import Page
from doclab.settings import Settings

NO_DAEMON_PUBLICLY = "no Docker daemon was reachable when this page was built"


#: ``docker [flags] [system] events``, the Engine API's ``/events`` and the SDK's ``events``: they replay what the
#: daemon saw before. Broad on purpose: a page taken for one only runs on a daemon started for it.
_EVENT_HISTORY = re.compile(r"\bdocker\b[^\n;&|]*\bevents\b|/events\b|\.events\(|[\"']events[\"']")


def reads_event_history(page: Page) -> bool:
    return any(_EVENT_HISTORY.search(block.source) for block in page.blocks)


def _give_back(leased: ExitStack) -> None:
    try:
        leased.close()
    except Exception as error:  # the lease ended unclean: the daemon is started again before its next page
        print(f"doclab: a page daemon could not be emptied after its page and starts again before the next: {error}",
              file=sys.stderr)


class PageDaemons:
    """Where a page runs: a lab daemon of its own, or the one daemon there is, held under a lock."""

    def __init__(self, settings: Settings, facts: daemon.DaemonFacts):
        from doclab.lab.control import Lab  # only when pages must run: a warm rebuild loads neither the lab nor requests

        self.settings = settings
        self.facts = facts
        self.lab = Lab(settings) if facts.owned else None
        self._giving_back: list[threading.Thread] = []
        if self.lab is None:
            return
        # A lab daemon with no registry behind it would wait two minutes for Docker Hub, page after page; and the
        # lab's main daemon is never used for pages (no network namespace of its own): both are errors, at once.
        if os.geteuid() != 0:
            raise CaptureError(f"{facts.host} is a lab daemon, and its pages run on page daemons of the lab, which "
                               "need root (network namespaces): build as root, or point DOCKER_HOST at another daemon")
        if not self.lab.registry_up():
            raise CaptureError(
                f"the lab's registry on {self.lab.registry_url} does not answer (its log: {self.lab.registry_log}), so "
                "no page can pull its base image; start it again with python -m doclab.lab up, then build again")

    @property
    def isolated(self) -> bool:
        return self.lab is not None

    def lab_down(self) -> str:
        """Why the lab's daemons are gone, when the lab was taken down meanwhile; else nothing."""
        from doclab.lab.folder import LabError

        if self.lab is None:
            return ""
        try:
            self.lab.require_up()
        except LabError as error:
            return str(error)
        return ""

    @contextmanager
    def daemon_for(self, page: Page):
        """Yield ``(address, netns, facts)`` of a daemon only this page uses while it runs (``facts`` where they were
        asked already, for the page: on someone's own daemon, under its lock)."""
        if self.lab is not None:
            # A pooled lab daemon, emptied between pages: starting one per page cost more CPU than the pages.
            # Emptying cannot clear the daemon's event history: a page that reads it gets a new daemon.
            with ExitStack() as leased:
                handle = leased.enter_context(self.lab.lease_daemon(restarted=reads_event_history(page)))
                yield handle.docker_host, handle.netns, None
                emptied_later = leased.pop_all()  # a page that stopped midway gives its daemon back here, stopped
            self._give_back_later(emptied_later)
            return
        # The address the front door resolved (DOCKER_HOST, or the author's docker context): the page's shell gets it.
        host = self.facts.address
        # One lock per daemon, however its address is spelled (./, symlinks).
        where = os.path.realpath(host.removeprefix("unix://")) if host.startswith("unix://") else host
        lock_name = hashlib.sha1(where.encode()).hexdigest()[:12]
        with open(Path(tempfile.gettempdir()) / f"doclab-daemon-{lock_name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield host, None, self.check_clean(page, host)

    def _give_back_later(self, leased: ExitStack) -> None:
        """Empty a page's daemon once its record is made: the build, and an author waiting under serve, go on."""
        thread = threading.Thread(target=_give_back, args=(leased,), name="doclab-give-back")
        thread.start()
        self._giving_back.append(thread)

    def wait_given_back(self) -> None:
        """Every daemon this build leased is emptied and free for the next build."""
        for thread in self._giving_back:
            thread.join()

    def check_clean(self, page: Page, host: str) -> daemon.DaemonFacts:
        """Raise guard.NotClean unless this daemon, not ours, holds nothing a first-time reader's would not; its facts.
        Asked under the lock, page by page: what the previous page made is gone by then."""
        facts = daemon.daemon_facts(host)
        if facts.owned:
            return facts
        if not facts.reachable:
            raise guard.NotClean(facts.reason, NO_DAEMON_PUBLICLY)
        cache_entries = 0 if facts.images or facts.containers else daemon.build_cache_entries(host)
        ports = guard.published_ports([block.source for block in page.blocks if not block.skip_reason])
        guard.check_clean(facts, cache_entries, ports, local=guard.on_this_machine(host))
        return facts


def stamp_of(run, seconds: float, command_seconds: float, base_images: list[dict[str, str]]) -> dict:
    """A record's stamp: when, with which Docker, the base images' origins, how long (``run``: a ``PageRun``)."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "client": {"version": run.client.version, "buildx": run.client.buildx},
        "server": {"version": run.facts.server_version, "api": run.facts.api_version,
                   "image_store": run.facts.image_store, "containerd": run.facts.containerd_version},
        "owned_daemon": run.facts.owned,
        "base_images": base_images,
        "seconds": round(seconds, 2),
        # Every block's own run time, shown or not: what running the page by hand would take.
        "commands_seconds": round(command_seconds, 2),
    }


class PageRunner:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.commands_run = 0
        self.pages_run: list[str] = []
        self._lock = threading.Lock()
        self._running: set = set()  # the PageRuns of pages running now, for interrupt()
        self._interrupted = threading.Event()
        #: Told ``(page, its record so far)`` after each captured block: under serve, an edited block shows at once.
        self.on_capture: Callable[[Page, PageRecord], None] | None = None

    @property
    def interrupted(self) -> threading.Event:
        return self._interrupted

    def interrupt(self) -> None:
        """End every page that is running (its shell is killed: its blocks fail, nothing of it is recorded)."""
        self._interrupted.set()
        with self._lock:
            running = list(self._running)
        for run in running:
            run.shell.kill()

    def _run_block(self, page: Page, run, block):
        """One block of a running page; an interrupted build stops it (and so the page) with that reason."""
        from doclab.run.session import BlockFailed

        stopped = CaptureError.about(page.path, f"stopped at {block.label}: the build was interrupted, nothing of this page "
                                     "was recorded")
        if self._interrupted.is_set():
            raise stopped
        try:
            return run.run(block)
        except BlockFailed as failure:
            raise stopped if self._interrupted.is_set() else CaptureError.about(page.path, str(failure)) from None

    def run_page(self, page: Page, key: str, inputs: str, daemons: PageDaemons) -> PageRecord:
        """Run every block of the page for real; raise CaptureError naming the block that failed."""
        from doclab.run.session import PageRun, block_client, shown_command  # running pages only: a warm rebuild never loads it

        captures: dict[str, Capture] = {}
        started, command_seconds = time.monotonic(), 0.0
        if self._interrupted.is_set():
            raise CaptureError.about(page.path, "not run: the build was interrupted")
        with daemons.daemon_for(page) as (address, netns, facts), PageRun(page, self.settings, address, netns, facts) as run:
            with self._lock:
                self._running.add(run)
            try:
                for block in page.blocks:
                    if block.skip_reason:
                        continue
                    result = self._run_block(page, run, block)
                    command_seconds += result.seconds
                    if block.capture_id:
                        client = daemon.client_facts(block_client(block) or self.settings.docker_cli)
                        captures[block.capture_id] = Capture(
                            block.capture_id, shown_command(block), result.exit_code, result.output,
                            round(result.seconds, 2), {"version": client.version}, result.trace, result.cast,
                        )
                        if self.on_capture is not None:  # the base images' origins, a question to the daemon, come at the end
                            self.on_capture(page, PageRecord(page.path, key, inputs, stamp_of(
                                run, time.monotonic() - started, command_seconds, []), dict(captures)))
            finally:
                with self._lock:
                    self._running.discard(run)
            stamp = stamp_of(run, time.monotonic() - started, command_seconds, run.base_image_origins())
        if run.leftovers and not run.facts.owned:  # a lab daemon is emptied on give-back; an author's is not
            raise CaptureError.about(page.path, f"the page ran, but could not remove all it made from the daemon at "
                                     f"{run.facts.host}: {'; '.join(run.leftovers)}; remove them by hand (docker rm / docker rmi)")
        with self._lock:
            self.commands_run += run.commands_run
            self.pages_run.append(page.path)
        return PageRecord(page.path, key, inputs, stamp, captures)
