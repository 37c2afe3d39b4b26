"""Owner files, and a page run's folder in the temporary folder: made with its owner's process id, removed
once that process is gone.

An owner file appears whole or not at all (written beside, then renamed): ``lab prune`` running beside a
build once read a just-created, still empty owner file as "no owner" and removed a page's home under it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

#: The folders' name prefix; a folder counts as a page run's only with a whole owner file in it.
PAGE_RUN_PREFIX = "doclab-page-"
OWNER_FILE = "owner"


def page_folders_root() -> Path:
    return Path(tempfile.gettempdir()).resolve()


def new_page_folder() -> Path:
    """An empty page-run folder owned by this process."""
    folder = Path(tempfile.mkdtemp(prefix=PAGE_RUN_PREFIX, dir=page_folders_root()))
    write_owner(folder / OWNER_FILE)
    return folder


def write_owner(path: Path) -> None:
    """Write this process's id into ``path`` whole (beside it, then renamed): a reader never sees it empty."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(f"{os.getpid()}\n")
    os.replace(partial, path)


def owner_of(folder: Path) -> int | None:
    """The process that made ``folder``, or None when it is not (or not yet) a page run's folder."""
    owner = folder / OWNER_FILE
    if not folder.name.startswith(PAGE_RUN_PREFIX) or folder.is_symlink() or owner.is_symlink() or not owner.is_file():
        return None
    try:
        text = owner.read_text()
    except FileNotFoundError:  # its page ended and removed it between the look and the read
        return None
    if not text.endswith("\n") or not text.strip().isdigit():
        return None  # not written by new_page_folder: not ours to remove
    return int(text)


def remove_ended_page_folders(alive, parent: Path | None = None) -> list[str]:
    """Remove each page-run folder whose owner ``alive(pid)`` says has ended; their names."""
    removed = []
    for folder in sorted((parent or page_folders_root()).glob(f"{PAGE_RUN_PREFIX}*")):
        pid = owner_of(folder)
        if pid is not None and not alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
