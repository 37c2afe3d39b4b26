"""Page daemons as a pool (``pool-0``, ``pool-1`` …), kept running between pages and between builds.

A page leases one (a ``flock`` on its lease file), runs on it, and gives it back empty. Starting a daemon costs
more CPU than most pages' commands, so reuse is what lets pages run in parallel on a small machine. A daemon
whose lease did not end cleanly (a killed build), or that a page changed beyond what emptying undoes, is
started again before anyone uses it. The lease file says which: ``CLEAN``, or ``RESTART`` and why.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from doclab import daemon
from doclab.lab.daemons import Daemons
from doclab.lab.folder import POOL_PREFIX, DaemonHandle, LabError, LabFolder
from doclab.lab.network import netns_fingerprint
from doclab.lab.services import Registry
from doclab.settings import JOBS, Settings

#: What a pool daemon's lease file holds while nobody uses it and nothing of a page is left on it.
CLEAN = "clean"
#: How a lease file starts when its daemon must start again before its next page (then why).
RESTART = "to be started again"
#: Most page daemons ``up`` starts ahead, whatever the number of cores (more start when needed).
MAX_READY = 8


class PoolState(StrEnum):
    LEASED = "leased"  # a live process holds it
    CLEAN = "clean"  # idle and empty
    STOPPED = "stopped"  # after a page that changed what emptying cannot undo
    ABANDONED = "abandoned"  # its lease ended with its process


def first_free_lease(folder: LabFolder):
    """The first pool daemon nobody leases, and its lease file, locked (the pool grows by one when all are)."""
    for index in itertools.count():
        name = f"{POOL_PREFIX}{index}"
        lease = folder.daemon(name).lease.open("a+")
        try:
            fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return name, lease
        except BlockingIOError:
            lease.close()


def _stop_for_the_next(daemons: Daemons, name: str, lease, why: str) -> None:
    """Stop the daemon (its data goes with it), to be started anew by the next lease: a pull cut short can stay in its
    content store, where no API call reaches, and the next page's first pull would find it."""
    daemons.stop(name)
    _rewrite(lease, f"{RESTART}: {why}\n")


def _rewrite(lease, text: str) -> None:
    lease.seek(0)
    lease.truncate()
    lease.write(text)
    lease.flush()


class Pool:
    def __init__(self, folder: LabFolder, settings: Settings, daemons: Daemons, registry: Registry):
        self.folder = folder
        self.settings = settings
        self.daemons = daemons
        self.registry = registry

    @property
    def size(self) -> int:
        """Page daemons ``up`` starts ahead: DOCLAB_JOBS, but at most MAX_READY (some 150 MB of memory each)."""
        return min(self.settings.jobs, MAX_READY)

    def start(self, size: int) -> None:
        """Start ``size`` pool daemons at once (``lab up``), so the first build does not wait for them."""
        from concurrent.futures import ThreadPoolExecutor

        def ready(index: int) -> None:
            name = f"{POOL_PREFIX}{index}"
            with self.folder.daemon(name).lease.open("a+") as lease:
                fcntl.flock(lease, fcntl.LOCK_EX)
                if self.ready(name, lease):
                    _rewrite(lease, f"{CLEAN}\n")

        with ThreadPoolExecutor(max_workers=size) as threads:
            list(threads.map(ready, range(size)))

    @contextmanager
    def lease(self, restarted: bool = False, fresh_after: bool = False):
        """A pooled page daemon nobody else uses until the block ends: empty, in a namespace of its own.

        Leases are ``flock``s, so two builds (or a build and the tests) never share a daemon, and a
        lease held by a killed process ends with it. The daemon is emptied when given back; one whose lease did not end
        that way, or that stopped, is started again first. ``restarted``: started again in any case, for a page that
        reads what only a new daemon has not seen (its events); ``fresh_after``: stopped when given back, not emptied
        (a reader's live terminal may have done anything a page may).
        """
        self.folder.require_up()
        name, lease = first_free_lease(self.folder)
        if not self.folder.claimed():  # taken down between the check and the lock: leave no lease behind
            self.folder.daemon(name).lease.unlink(missing_ok=True)
            lease.close()
            self.folder.remove_if_empty()  # if `down` found this lease in the way, the folder it left is empty now
            self.folder.require_up()
        try:
            if not self.registry.up():  # it died mid-build: a page would wait minutes for Docker Hub instead
                raise LabError(f"the lab's registry on {self.registry.url} does not answer (its log: {self.registry.log}); "
                               "start it again with python -m doclab.lab up, then run again")
            self.registry.require_seeded()
            if restarted:
                _rewrite(lease, f"{RESTART}: the page reads the daemon's event history\n")
            self.ready(name, lease)
            _rewrite(lease, f"leased by {os.getpid()} ({' '.join(sys.argv)[:200]})\n")
            try:
                yield self.folder.handle(name)
            except BaseException:  # stopped midway (Ctrl-C, a failed block): the next page gets a new daemon
                _stop_for_the_next(self.daemons, name, lease, "its last page stopped midway")
                raise
            if fresh_after:
                return _stop_for_the_next(self.daemons, name, lease, "a reader's live terminal used it")
            why_stopped = self.give_back(name)
            _rewrite(lease, f"{CLEAN}\n" if why_stopped is None else f"{RESTART}: {why_stopped}\n")
        finally:
            lease.close()  # releases the lock

    def ready(self, name: str, lease) -> bool:
        """Start the pool daemon (again) unless given back clean, still answering, its storage sound; True if started."""
        lease.seek(0)
        if lease.read().strip() == CLEAN and self.daemons.up(name):
            unsound = unsound_storage(self.folder.daemon(name).data)
            if unsound is None:
                return False
            print(f"doclab.lab: {name} is started again: {unsound}", file=sys.stderr)
        self.daemons.stop(name)
        handle = self.daemons.start(name)
        # What the namespace is like before any page: a page that changes it makes its daemon start again.
        self.folder.daemon(name).fingerprint.write_text(netns_fingerprint(handle.netns))
        return True

    def give_back(self, name: str) -> str | None:
        """Empty a pool daemon after a page; when it cannot be trusted to be like new, stop it and return why."""
        handle = self.folder.handle(name)
        try:
            if not self.daemons.up(name):
                raise LabError("stopped answering")
            self._empty(handle)
            return None
        except (LabError, OSError, RuntimeError) as error:
            print(f"doclab.lab: {name} is started again before its next page: {error}", file=sys.stderr)
            self.daemons.stop(name)
            return str(error).split("\n", 1)[0][:300]

    def _empty(self, handle: DaemonHandle) -> None:
        """Empty the daemon; raise LabError with what a page changed that emptying cannot undo."""
        socket_path = str(handle.socket)
        _, info = daemon.engine_get(socket_path, "/info")
        _, plugins = daemon.engine_get(socket_path, "/plugins")
        if info.get("Swarm", {}).get("LocalNodeState", "inactive") != "inactive" or plugins:
            raise LabError("a page changed it beyond containers, images and volumes (swarm or plugins)")
        _, networks = daemon.engine_get(socket_path, "/networks")
        if {network["Name"] for network in networks} - daemon.DEFAULT_NETWORKS:
            # Docker hands out subnets in turn and remembers where it is: the next page would get others.
            raise LabError("a page created networks")
        with daemon.connected(base_url=handle.docker_host) as api:
            leftovers = daemon.empty_daemon(api)
        if leftovers:
            raise LabError("could not remove " + "; ".join(leftovers))
        unsound = unsound_storage(self.folder.daemon(handle.name).data)
        if unsound:
            raise LabError(unsound)
        before = self.folder.daemon(handle.name).fingerprint.read_text().splitlines()
        now = netns_fingerprint(handle.netns).splitlines()
        if now != before:
            changed = [f"-{line}" for line in before if line not in now] + [f"+{line}" for line in now if line not in before]
            raise LabError("a page changed its network namespace: " + "; ".join(changed[:4]))

    def state(self, name: str) -> PoolState:
        lease_path = self.folder.daemon(name).lease
        if not lease_path.is_file():
            return PoolState.ABANDONED
        with lease_path.open("r") as lease:
            try:
                fcntl.flock(lease, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return PoolState.LEASED
            text = lease.read().strip()
        if text.startswith(RESTART):
            return PoolState.STOPPED
        return PoolState.CLEAN if text == CLEAN and self.daemons.up(name) else PoolState.ABANDONED

    def prune(self, names: list[str]) -> list[str]:
        """Of ``names``, stop the pool's abandoned daemons and idle ones beyond DOCLAB_JOBS (150 MB each); what it stopped."""
        pooled = [name for name in names if name.startswith(POOL_PREFIX)]
        stopped = [name for name in pooled if self.state(name) is PoolState.ABANDONED]
        for name in stopped:
            self._stop_if_unused(name, "its lease ended with its process (a killed build) without giving it back")
        beyond = f"idle, beyond {JOBS}={self.settings.jobs}"
        for name in (name for name in pooled if name not in stopped):
            if int(name.removeprefix(POOL_PREFIX)) >= self.settings.jobs and self._stop_if_unused(name, beyond, True):
                stopped.append(f"{name} ({beyond})")
        return stopped

    def _stop_if_unused(self, name: str, why: str, also_clean: bool = False) -> bool:
        """Stop a pool daemon nobody leases (abandoned, or ``also_clean``: idle), under its lease lock (no build leases
        it meanwhile); its lease says ``why`` (``lab status`` shows it)."""
        with self.folder.daemon(name).lease.open("a+") as lease:
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # leased meanwhile: whoever holds it restarts it if it must
            lease.seek(0)
            if also_clean or lease.read().strip() != CLEAN or not self.daemons.up(name):
                self.daemons.stop(name)
                _rewrite(lease, f"{RESTART}: stopped by lab prune: {why}\n")
                return True
            return False


def unsound_storage(data: Path) -> str | None:
    """Why an emptied daemon's storage (its data root ``data``) is not like a new one's (None: it is): a layer left
    behind, or a link to a layer that is gone (a publish once failed on ``symlink ../…/diff …/overlay2/l/…``)."""
    overlay, layers = data / "overlay2", data / "image" / "overlay2" / "layerdb" / "sha256"
    left = [path.name for path in overlay.glob("*") if path.name != "l"] if overlay.is_dir() else []
    left += [path.name for path in layers.glob("*")] if layers.is_dir() else []
    broken = [path.name for path in (overlay / "l").glob("*") if not path.exists()] if (overlay / "l").is_dir() else []
    if left or broken:
        return (f"its storage is not empty after emptying ({len(left)} layer(s) left, {len(broken)} broken link(s) "
                f"in {overlay})")
    return None
