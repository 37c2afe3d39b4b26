"""What a page's daemon held before the page ran, what the page made on it, and removing exactly that.

On a lab daemon (``facts.owned``) the page starts on an emptied daemon and everything added is removed. On
someone's own daemon the page's requests go through a recording proxy, and only what they made is removed,
with the base images the daemon lacked before (a build pulls its base without a request that names it).
"""

from __future__ import annotations

from pathlib import Path

from doclab import daemon
from doclab.errors import DoclabError
from doclab.run.trace import UnixSocketRecorder


class LedgerError(DoclabError, RuntimeError):
    """What the page made could not be told or removed; the message names what."""


class DaemonLedger:
    def __init__(self, facts: daemon.DaemonFacts, address: str, base_images: list[str]):
        self.facts = facts
        self.address = address
        self.base_images = base_images
        self.recorder: UnixSocketRecorder | None = None
        self.api = None
        self._before = None
        self.base_present: dict[str, bool] = {}
        #: Names the page's BuildKit builds printed they gave (``daemon.names_built``).
        self.named: set[str] = set()

    def note_output(self, output: str) -> None:
        self.named |= daemon.names_built(output)

    def record_through(self, socket_path: Path, upstream: Path | tuple[str, int]) -> str:
        """Someone's own daemon: the page talks to it through a recorder at ``socket_path``; its DOCKER_HOST."""
        self.recorder = UnixSocketRecorder(socket_path, upstream)
        return self.recorder.docker_host

    def open(self) -> None:
        """Connect; on a lab daemon empty it first; note what it holds before the page."""
        if not self.facts.reachable:
            return
        self.api = daemon.connect(self.address)
        if self.facts.owned:
            daemon.empty_daemon(self.api)
        self._before = daemon.DaemonSnapshot.take(self.api, with_build_cache=not self.facts.owned)
        for ref in self.base_images:
            self.base_present[ref] = daemon.image_exists(self.api, ref)

    def as_before(self, label: str) -> None:
        """``fresh=true``: the daemon as before the page, so the block pulls again. A lab daemon is emptied; on
        someone's own daemon only what this page made so far is removed."""
        if self.facts.owned:
            daemon.empty_daemon(self.api)
            return
        if self.recorder is None:
            raise LedgerError(f"{label}: fresh=true needs a daemon doclab can record the page's requests to")
        leftovers = daemon.remove_made(self.api, self._before, self.recorder.so_far(), self.pulled_bases(), self.named)
        if leftovers:
            raise LedgerError(f"{label}: fresh=true could not remove what the page made before it: {leftovers}")

    def pulled_bases(self) -> list[str]:
        """A build pulls its base without a request that names it: those the daemon lacked are the page's."""
        return [ref for ref in self.base_images if not self.base_present.get(ref)]

    def answers(self) -> bool:
        """A ping on a Unix socket: ``/version`` and ``/info`` cost the daemon milliseconds of CPU each."""
        if self.address.startswith("unix://"):
            return daemon.ping(self.address)
        return daemon.daemon_facts(self.address).reachable

    def disconnect(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None

    def base_image_origins(self) -> list[dict[str, str]]:
        """Where each base image came from in this run: pulled (from where) or already there."""
        origins = []
        for ref in self.base_images:
            digest = daemon.local_digest(self.api, ref) if self.api else None
            if self.base_present.get(ref):
                source = "already present on the daemon"
            elif self.facts.mirrors:
                # Why a mirror, where the page says "a real registry": one clause, on the lab's own daemons.
                source = "pulled through the registry mirror " + ", ".join(self.facts.mirrors) + (
                    ", the lab's own Distribution registry standing in for Docker Hub, which the build machine "
                    "cannot reach" if self.facts.owned else "")
            else:
                source = "pulled from its registry"
            origins.append({"image": ref, "digest": digest or "unknown", "source": source})
        return origins

    def abandon(self) -> None:
        """The page never started (its shell did not): stop recording and disconnect, removing nothing."""
        if self.recorder is not None:
            self.recorder.close()
        self.disconnect()

    def close(self) -> list[str]:
        """Remove what the page added to the daemon; what could not be removed."""
        leftovers: list[str] = []
        try:
            made = self.recorder.close() if self.recorder else None
            if self.api is not None and self.answers():
                if self.facts.owned:
                    leftovers = daemon.remove_added(self.api, self._before)
                elif made is not None:
                    leftovers = daemon.remove_made(self.api, self._before, made, self.pulled_bases(), self.named)
        finally:
            self.disconnect()
        return leftovers
