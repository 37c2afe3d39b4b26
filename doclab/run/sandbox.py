"""The page shell's sandbox, made inside its own mount namespace just before bash starts (``isolated_in`` runs it).

    python -I -S sandbox.py private-tmp|nothing-of-the-machine KEPT... -- READ_ONLY... -- [SHOWN... --] COMMAND...

``private-tmp``: a /tmp of its own (a tmpfs) where only the KEPT paths (relative to /tmp: the page's folder, the
daemon's socket) are bound back from the machine's, so a page sees neither other pages' folders nor the lab's files;
then the READ_ONLY paths (the page's control folder) read-only, so the page plants nothing where doclab writes.
``nothing-of-the-machine`` (a root shell) then also hides everything of the machine's: home folders (the SHOWN paths
in them, the interpreter, bound back read-only) and the files of /etc only root may read; devices are only the
harmless ones (and pseudo-terminals of its own); host-wide kernel settings and every other mount are read-only; /run
(the machine's Docker socket) is empty. Then it executes COMMAND in the folder it started in.

Standard library only and no doclab import, run with ``-I -S``: it starts in about 10 ms, where the shell script it
replaces forked ``mount`` some forty times (120 ms per page, twice that on a busy machine). Any step that fails ends
it (exit 1) with a message naming what could not be done, and no page shell starts.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 4096, 16384, 1 << 21, 1 << 24
MNT_DETACH = 2
#: statvfs's flags of a mount, and the mount flags that keep them: a bind remount sets every flag anew, and one it
#: dropped would loosen the mount (or be refused, for a mount a user namespace inherited locked).
_KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))
#: Folders a root page shell sees empty; what it needs from them (SHOWN) is bound back.
HIDDEN_FOLDERS = ("/root", "/home", "/srv", "/mnt", "/media")
#: Mounts left as they are by the read-only pass: the sandbox's own, and those inside the hidden folders.
OWN_MOUNTS = ("/tmp", "/proc", "/dev", "/run", *HIDDEN_FOLDERS)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        raise SystemExit(f"doclab's sandbox could not {what}: {os.strerror(ctypes.get_errno())}")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0, data: str | None = None) -> None:
    encode = lambda text: None if text is None else os.fsencode(text)  # noqa: E731
    _call(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
          f"mount {source or ''} on {target}")


def bind(source: str, target: str, recursive: bool = False) -> None:
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))


def read_only(target: str) -> None:
    """Make the mount at ``target`` read-only, keeping its other flags."""
    flags = os.statvfs(target).f_flag
    kept = sum(mount_flag for stat_flag, mount_flag in _KEPT_FLAGS if flags & stat_flag)
    if not flags & (os.ST_NOATIME | os.ST_RELATIME):
        kept |= MS_STRICTATIME
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def detach(target: str) -> None:
    _call(_libc.umount2(os.fsencode(target), MNT_DETACH), f"unmount {target}")


def tmpfs(target: str, name: str, mode: str) -> None:
    mount(name, target, "tmpfs", 0, f"mode={mode}")


def mount_points(mounts: str) -> list[str]:
    """The mount points of a ``/proc/self/mounts`` text, unescaped (``\\040`` is a space), each once, sorted."""
    points = set()
    for line in mounts.splitlines():
        fields = line.split(" ")
        if len(fields) > 1:
            points.add(re.sub(r"\\([0-7]{3})", lambda escape: chr(int(escape.group(1), 8)), fields[1]))
    return sorted(points)


def made_read_only(point: str) -> bool:
    """Whether the read-only pass changes ``point``: not the sandbox's own mounts, nor what the hidden folders hold."""
    return not any(point == top or point.startswith(top + "/") for top in OWN_MOUNTS)


def split_lists(args: list[str], count: int) -> tuple[list[list[str]], list[str]]:
    """``count`` lists each ended by ``--``, then the rest."""
    lists = []
    for _ in range(count):
        end = args.index("--")
        lists.append(args[:end])
        args = args[end + 1:]
    return lists, args


def private_tmp(kept: list[str], read_only_paths: list[str]) -> None:
    base = "/run" if os.access("/run", os.W_OK) else "/dev/shm"  # outside /tmp, where this user may write
    keep = tempfile.mkdtemp(prefix="doclab-keep.", dir=base)
    bind("/tmp", keep, recursive=True)
    tmpfs("/tmp", "doclab-tmp", "1777")
    for name in kept:
        source, target = os.path.join(keep, name), os.path.join("/tmp", name)
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "w").close()
        bind(source, target)
    detach(keep)
    os.rmdir(keep)
    for path in read_only_paths:
        bind(path, path)
        read_only(path)


def nothing_of_the_machine(shown: list[str]) -> None:
    stash = tempfile.mkdtemp(prefix="doclab-stash.", dir="/run")
    stashed = []
    for number, path in enumerate(shown, 1):
        place = os.path.join(stash, str(number))
        os.mkdir(place)
        bind(path, place, recursive=True)
        stashed.append((place, path))
    devices = tempfile.mkdtemp(prefix="doclab-dev.", dir="/run")
    bind("/dev", devices, recursive=True)
    tmpfs("/dev", "doclab-dev", "0755")
    for node in DEVICES:
        open(f"/dev/{node}", "w").close()
        bind(f"{devices}/{node}", f"/dev/{node}")
    os.mkdir("/dev/shm")
    tmpfs("/dev/shm", "doclab-shm", "1777")
    # Pseudo-terminals of the sandbox's own (a block with terminal=…): a new devpts instance, none of the machine's.
    os.mkdir("/dev/pts")
    mount("doclab-pts", "/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=0620")
    for link, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "fd/0"), ("stdout", "fd/1"),
                         ("stderr", "fd/2")):
        os.symlink(target, f"/dev/{link}")
    detach(devices)
    os.rmdir(devices)
    for folder in HIDDEN_FOLDERS:
        if os.path.isdir(folder):
            tmpfs(folder, "doclab-empty", "0755")
    # The interpreter a page's python3 runs may live in a hidden folder (~/.pyenv, a checkout in /home): back, read-only.
    for place, path in stashed:
        os.makedirs(path, exist_ok=True)
        bind(place, path, recursive=True)
        read_only(path)
        detach(place)
        os.rmdir(place)
    os.rmdir(stash)
    for secret in unreadable_files("/etc"):
        bind("/dev/null", secret)
    bind("/proc/sys", "/proc/sys")
    read_only("/proc/sys")
    for file in ("/proc/sysrq-trigger", "/proc/kcore"):
        if os.path.exists(file):
            bind("/dev/null", file)
    for point in mount_points(_read("/proc/self/mounts")):
        if not made_read_only(point):
            continue
        try:
            read_only(point)
        except OSError:
            if point in mount_points(_read("/proc/self/mounts")):  # one that went away meanwhile (a container) needs nothing
                raise SystemExit(f"doclab's sandbox could not make {point} read-only") from None
    tmpfs("/run", "doclab-run", "0755")


def unreadable_files(top: str) -> list[str]:
    """Regular files under ``top`` (on its file system) that others may not read: /etc/shadow and its kind."""
    device = os.lstat(top).st_dev
    found = []
    for folder, folders, files in os.walk(top):
        folders[:] = [name for name in folders if os.lstat(os.path.join(folder, name)).st_dev == device]
        for name in files:
            status = os.lstat(os.path.join(folder, name))
            if (status.st_mode & 0o170000) == 0o100000 and not status.st_mode & 0o004 and status.st_dev == device:
                found.append(os.path.join(folder, name))
    return found


def _read(path: str) -> str:
    with open(path) as file:
        return file.read()


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode not in ("private-tmp", "nothing-of-the-machine"):
        raise SystemExit(f"doclab's sandbox: unknown mode {mode!r}")
    started_in = os.getcwd()  # under the machine's /tmp: entered again once the private /tmp covers it
    (kept, read_only_paths), args = split_lists(args, 2)
    private_tmp(kept, read_only_paths)
    if mode == "nothing-of-the-machine":
        (shown,), args = split_lists(args, 1)
        nothing_of_the_machine(shown)
    os.chdir(started_in)
    os.execvp(args[0], args)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except OSError as error:  # a folder it could not make or remove
        raise SystemExit(f"doclab's sandbox: {error}") from None
