"""Limits for what a page runs: a cgroup of the lab's for each page daemon's containers and one for each page's shell,
capping processes and memory (a page's files land in memory too: the lab's data root is a tmpfs).

Control groups v2 (``/sys/fs/cgroup/cgroup.controllers``) or v1 (``/sys/fs/cgroup/pids`` and ``/memory``), whichever
the machine has; only root may make them, and only root runs the lab's daemons and sandboxes (where the hierarchies are
read-only, as in some containers, pages run without these limits, as without root). Every group is named after what it
limits and removed with it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: Processes and memory a page's shell (with what it starts) may use, and a page daemon's containers together.
PIDS_MAX = 1024
MEMORY_MAX = 2 << 30


@dataclass(frozen=True)
class Limits:
    """``name``: the group's name, the same in every hierarchy (``doclab-…``)."""

    name: str
    root: Path = CGROUP_ROOT
    #: A group handed to a page daemon's root (``delegate``): on v1, runc then needs one in every hierarchy.
    every_hierarchy: bool = False

    @property
    def unified(self) -> bool:
        return (self.root / "cgroup.controllers").is_file()

    def folders(self) -> list[tuple[Path, dict[str, str]]]:
        """The group's folder in each hierarchy, and the limits written there."""
        if self.unified:
            return [(self.root / self.name, {"pids.max": str(PIDS_MAX), "memory.max": str(MEMORY_MAX)})]
        limited = [(self.root / "pids" / self.name, {"pids.max": str(PIDS_MAX)}),
                   (self.root / "memory" / self.name, {"memory.limit_in_bytes": str(MEMORY_MAX)})]
        if not self.every_hierarchy:
            return limited
        # Every other hierarchy, the hybrid layout's unified one too: runc makes the container's group in each of them.
        others = sorted(path for path in self.root.iterdir()
                        if path.name not in ("pids", "memory") and (path / "cgroup.procs").is_file())
        # A new cpuset group has no CPUs or memory nodes: it takes the machine's, as its parent has them.
        return limited + [(path / self.name, {name: (path / name).read_text().strip() for name in ("cpuset.cpus", "cpuset.mems")}
                           if path.name == "cpuset" else {}) for path in others]

    @property
    def available(self) -> bool:
        """Root, on a machine whose cgroup hierarchies it may write (a container may mount them read-only)."""
        return os.geteuid() == 0 and all(folder.parent.is_dir() and os.access(folder.parent, os.W_OK)
                                         for folder, _ in self.folders())

    def create(self) -> None:
        """Make the group with its limits (again, if a killed run left it)."""
        for folder, limits in self.folders():
            folder.mkdir(exist_ok=True)
            for control, value in limits.items():
                (folder / control).write_text(value)

    def delegate(self, uid: int) -> list[Path]:
        """Let ``uid`` (a page daemon's root, doclab.lab.userns) make its containers' groups inside the group and move
        processes into them; the group's own limits stay the machine root's to change. Returns the ``cgroup.procs``
        the daemon starts in, so its own memory (the logs it writes to the data tmpfs too) and processes count against
        the page's limits: on v1 the limited groups themselves; on v2 a leaf of the group (a process may only be moved
        between groups below one it may write, and a group with processes passes no controllers down)."""
        delegated = [folder for folder, _ in self.folders()]
        if self.unified:
            group = self.root / self.name
            controllers = (group / "cgroup.controllers").read_text().split()
            if controllers:
                (group / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in controllers))
            (group / "daemon").mkdir(exist_ok=True)
            delegated.append(group / "daemon")
        for folder in delegated:
            for path in (folder, *(folder / name for name in ("cgroup.procs", "tasks", "cgroup.subtree_control",
                                                               "cgroup.threads"))):
                if path.exists():
                    os.chown(path, uid, uid)
        if self.unified:
            return [self.root / self.name / "daemon" / "cgroup.procs"]
        return [folder / "cgroup.procs" for folder, limits in self.folders()
                if any(control.startswith(("pids.", "memory.")) for control in limits)]

    def enter(self) -> str:
        """Shell words that move the shell running them into the group (run before it ``exec``s the page's shell)."""
        return " && ".join(f'echo $$ > "{folder}/cgroup.procs"' for folder, _ in self.folders())

    def cgroup_parent(self) -> str:
        """The group as dockerd's ``--cgroup-parent`` (cgroupfs driver): its containers go inside it."""
        return f"/{self.name}"

    def remove(self, seconds: float = 5) -> None:
        """Remove the group once nothing runs in it (its processes were ended first; the kernel frees them late)."""
        for folder, _ in self.folders():
            deadline = time.monotonic() + seconds
            while folder.is_dir():
                for child in sorted(folder.glob("*/"), reverse=True):  # dockerd's containers' groups inside it
                    if child.is_dir():
                        _rmdir(child)
                if _rmdir(folder) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)


def _rmdir(folder: Path) -> bool:
    try:
        folder.rmdir()
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
