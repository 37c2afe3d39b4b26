"""The lab's folder (``DOCLAB_LAB_DIR``): where each of its files lives, and the rule of what it may remove.

The lab claims a folder it made or found empty (a marker file says so), puts only ``OWN_ENTRIES`` in it,
and on ``down`` removes those and the folder only if nothing else is left: an author's files stay.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from doclab.errors import DoclabError
from doclab.settings import LAB_DIR

MAIN_DAEMON = "main"
#: Names of the pooled page daemons: ``pool-0``, ``pool-1`` … (as many as pages ever ran at once).
POOL_PREFIX = "pool-"
#: Longest daemon name doclab makes (``build-`` + 20 characters of the page + ``-`` + 6 hex digits).
LONGEST_DAEMON_NAME = 33
#: Written by ``up`` into a lab folder it made or found empty: only such a folder is ever used or cleaned.
MARKER = ".doclab-lab"
#: What a lab puts in its folder, and all that ``down`` removes from it (anything else there is left alone).
OWN_ENTRIES = ("*.sock", "*.pid", "*.owner", ".*.owner.*.partial", "*.lease", "*.log", ".daemon.json.*", "daemon.json",
               "lab.json", "engine.json", "registry.yml", "registry-data", "data", "x")
#: The tmpfs the lab mounts on its daemons' folders, by folder: the only mounts ``down`` removes that the lab's daemons
#: did not make below their own folders. Data roots take what memory and the containers' limits allow; exec roots
#: (state and sockets, a few MB) are bounded, so a page that writes there fills no disk of the machine's.
TMPFS = {"data": ("doclab-data", "mode=0711"), "x": ("doclab-exec", "mode=0711,size=256m")}


class LabError(DoclabError, RuntimeError):
    """The lab cannot do what was asked; the message says what is in the way and how to clear it."""


@dataclass(frozen=True)
class DaemonPaths:
    socket: Path
    pidfile: Path
    forwarder: Path
    owner: Path
    lease: Path
    log: Path
    data: Path
    #: containerd's sockets live here: it must stay short (108-byte socket paths).
    exec: Path

    @property
    def fingerprint(self) -> Path:
        """What the page daemon's network namespace was like before any page."""
        return self.exec / "netns.fingerprint"


@dataclass(frozen=True)
class DaemonHandle:
    name: str
    socket: Path
    netns: str | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


class LabFolder:
    def __init__(self, folder: Path):
        self.dir = folder

    def daemon(self, name: str) -> DaemonPaths:
        d = self.dir
        return DaemonPaths(socket=d / f"{name}.sock", pidfile=d / f"{name}.pid", forwarder=d / f"{name}.forward.pid",
                           owner=d / f"{name}.owner", lease=d / f"{name}.lease", log=d / f"{name}.log",
                           data=d / "data" / name, exec=d / "x" / name)

    @property
    def netns_prefix(self) -> str:
        """Names of this lab's network namespaces (and its plugin) start with a hash of its folder."""
        return "doclab-" + hashlib.sha1(str(self.dir.resolve()).encode()).hexdigest()[:8] + "-"

    def netns(self, name: str) -> str:
        """The network namespace of page daemon ``name`` (the main daemon has none)."""
        return f"{self.netns_prefix}{name}"

    def handle(self, name: str) -> DaemonHandle:
        return DaemonHandle(name, self.daemon(name).socket, None if name == MAIN_DAEMON else self.netns(name))

    def longest_socket_path(self) -> int:
        return len(str(self.daemon("x" * LONGEST_DAEMON_NAME).exec / "containerd" / "containerd.sock.ttrpc"))

    def claimed(self) -> bool:
        return (self.dir / MARKER).is_file()

    def require_up(self) -> None:
        """Refuse to start or lease a daemon of a lab that is down (``lab down`` during a build): it would
        be started again in a folder nobody owns any more, and outlive everything."""
        if not self.claimed():
            raise LabError(f"the lab at {self.dir} is down (taken down while this ran?); start it with "
                           "python -m doclab.lab up, then run again")

    def claim(self) -> None:
        """Make the lab folder, or use one that is already this lab's or empty; refuse one that holds
        things doclab did not make, so ``down`` never removes an author's files."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if not self.claimed():
                foreign = self.foreign_entries()
                if foreign:
                    shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
                    raise LabError(
                        f"{LAB_DIR}={self.dir} holds files the lab did not make ({shown}); the lab keeps a folder of its "
                        f"own and removes it on down: point {LAB_DIR} at a new or empty folder"
                    )
                (self.dir / MARKER).write_text("made by python -m doclab.lab up; removed by python -m doclab.lab down\n")
        except OSError as error:
            raise LabError(f"{LAB_DIR}={self.dir}: cannot use it as the lab's folder ({error.strerror or error}); "
                           f"point {LAB_DIR} at a writable folder") from error

    def release(self) -> bool:
        """Stop being claimed (first thing ``down`` does: a build running meanwhile then starts or leases no daemon
        of this lab any more); whether the folder was the lab's to clean."""
        own = self.dir.is_dir() and (self.claimed() or not self.foreign_entries())
        (self.dir / MARKER).unlink(missing_ok=True)
        return own

    def data_in_memory(self) -> None:
        """The daemons' data and exec roots on tmpfs: unpacking layers on a journaled disk took a third of a
        cold build's CPU time. Where it cannot be mounted, they stay on disk (slower, same outputs)."""
        for name, (source, options) in TMPFS.items():
            folder = self.dir / name
            folder.mkdir(exist_ok=True)
            if not os.path.ismount(folder):
                subprocess.run(["mount", "-t", "tmpfs", "-o", options, source, str(folder)], capture_output=True)

    def foreign_entries(self) -> list[str]:
        """What the lab folder holds that no lab makes (a lab of an earlier doclab has no marker, only its own)."""
        own = {path.name for pattern in (MARKER, *OWN_ENTRIES) for path in self.dir.glob(pattern)}
        return sorted(path.name for path in self.dir.iterdir() if path.name not in own)

    def remove_own_entries(self) -> None:
        """Remove what the lab put in its folder, and the folder if nothing else is left; never a folder
        the lab did not claim, never a mount it did not make."""
        for name, (source, _) in TMPFS.items():
            if os.path.ismount(self.dir / name) and mount_source(self.dir / name) == source:
                subprocess.run(["umount", "-l", str(self.dir / name)], capture_output=True)
        for pattern in OWN_ENTRIES:
            for path in self.dir.glob(pattern):
                if os.path.ismount(path):
                    continue  # a mount of someone else's: left as it is
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        (self.dir / MARKER).unlink(missing_ok=True)
        self.remove_if_empty()

    def remove_if_empty(self) -> None:
        with suppress(OSError):
            self.dir.rmdir()  # only when empty: files an author added stay


def mount_source(path: Path) -> str:
    """The device or source of the mount at ``path`` (the last one, if mounted over)."""
    target = str(path.resolve())
    sources = [line.split()[0] for line in Path("/proc/mounts").read_text().splitlines() if line.split()[1] == target]
    return sources[-1] if sources else ""


def unmount_below(path: Path) -> None:
    """Unmount everything at or below ``path`` (a killed dockerd leaves its data root bind-mounted on itself)."""
    root = str(path.resolve())
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m == root or m.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
