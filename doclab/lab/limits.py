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

    def folders(self) -> list[tuple[Path, dict[str, str]]]:
        """The group's folder in each hierarchy, and the limits written there."""
        if (self.root / "cgroup.controllers").is_file():
            return [(self.root / self.name, {"pids.max": str(PIDS_MAX), "memory.max": str(MEMORY_MAX)})]
        return [(self.root / "pids" / self.name, {"pids.max": str(PIDS_MAX)}),
                (self.root / "memory" / self.name, {"memory.limit_in_bytes": str(MEMORY_MAX)})]

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
