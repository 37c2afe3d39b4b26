"""Start a page daemon whose root is not the machine's: in a user namespace of its own (its root is an unprivileged
user of the machine, ``uid_base``), with a network, host name, IPC and process ids of its own (dockerd is the child of
that namespace's first process, with its own ``/proc``), and a view of the machine's files where nothing of it is
writable and nothing private is visible. Linux 5.11 or later: overlayfs in a user namespace.

A request the authorization plugin misses still reaches nothing of the machine: a container bound to ``/`` sees this
view (home folders, ``/tmp`` and ``/srv`` empty, the rest read-only), and its root, even ``--privileged``, holds
capabilities only over what this namespace owns.

    python -m doclab.lab.userns --netns NAME --uid-base N --socket PATH --writable DIR … --readable PATH … -- dockerd …

The socket is made here, as the machine's root, and handed to dockerd as ``fd://`` (systemd's socket activation):
dockerd's root may not write where the lab keeps its sockets. The network namespace is made inside the user
namespace (so the daemon may set up its bridge) and named ``NAME`` (``ip netns``) for the lab's forwarder and pages.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import zlib
from pathlib import Path

from doclab.lab.folder import LabError
from doclab.lab.network import NETNS_FOLDER, PAGE_HOSTNAME

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_PR_SET_PDEATHSIG = 1
#: Passed on to the daemon: what ``terminate`` and an interrupted run send.
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

#: The machine uids a page daemon's root and users are: 65,536 of them, from a slot of this range no account uses.
UID_RANGE_START = 1_000_000_000
UID_COUNT = 65536
UID_SLOTS = 4096

#: Folders a page daemon sees empty: home folders, the machine's temporary files (other pages', the lab's), shared
#: memory, and /run (the machine's sockets; the daemon's root gets a /run of its own).
HIDDEN = ("/root", "/home", "/srv", "/mnt", "/media", "/tmp", "/var/tmp", "/dev/shm", "/run")

#: Run as the machine's root in the daemon's own mount namespace, before the user namespace, with the daemon's root's
#: uid, then ``rw|ro PATH`` pairs kept visible, then ``--``. Every other mount becomes read-only; ``/proc``, ``/sys``
#: and ``/dev`` stay as they are (the daemon's root may write there only what its own namespaces own). Nothing is
#: made on the machine: the kept paths wait on a tmpfs over /mnt, which is hidden last.
_VIEW = r"""set -e
uid=$1; shift
mount --make-rslave /
stash=/mnt
mount -t tmpfs -o mode=0700 doclab-view "$stash"
count=0
while [ "$1" != -- ]; do
  count=$((count + 1))
  if [ -d "$2" ]; then mkdir "$stash/$count"; else : > "$stash/$count"; fi
  mount --rbind "$2" "$stash/$count"; printf '%s %s\n' "$1" "$2" >> "$stash/kept"
  shift 2
done
for folder in """ + " ".join(folder for folder in HIDDEN if folder != "/mnt") + r"""; do
  case "$folder" in /tmp|/var/tmp|/dev/shm) mode=1777 ;; *) mode=0755 ;; esac
  [ ! -d "$folder" ] || mount -t tmpfs -o "mode=$mode" doclab-hidden "$folder"
done
# /run is the daemon's own (runc's and containerd's state); so is /etc/docker, where Engine 20.10 keeps its key.
chown "$uid:$uid" /run && mkdir -p /run/docker/plugins
keep=
[ ! -d /etc/docker ] || { mount -t tmpfs -o mode=0700 doclab-hidden /etc/docker && chown "$uid:$uid" /etc/docker && keep=/etc/docker; }
count=0
while read -r mode target; do
  count=$((count + 1))
  if [ -d "$stash/$count" ]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; : > "$target"; fi
  mount --rbind "$stash/$count" "$target"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$target"; else keep="$keep $target"; fi
done < "$stash/kept"
umount -l "$stash"
mount -t tmpfs -o mode=0755 doclab-hidden /mnt
for mount in $(cut -d' ' -f2 /proc/self/mounts | sort -u); do
  # Below a hidden folder, a mount is out of sight (and what is kept there was bound above).
  case "$mount" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|""" + "|".join(f"{f}|{f}/*" for f in HIDDEN) + r""") continue ;; esac
  skip=
  for target in $keep; do case "$mount" in "$target"|"$target"/*) skip=1 ;; esac; done
  [ -z "$skip" ] || continue
  # A mount that went away meanwhile needs nothing; one still there must become read-only.
  mount -o remount,bind,ro "$mount" || ! grep -q " $mount " /proc/self/mounts \
    || { echo "doclab: could not make $mount read-only for a page daemon" >&2; exit 1; }
done
"""


def uid_base(lab_dir: Path, name: str) -> int:
    """The first machine uid of daemon ``name``'s range: its own, so one page's containers own nothing of another's."""
    slot = zlib.crc32(f"{lab_dir.resolve()}/{name}".encode()) % UID_SLOTS
    return UID_RANGE_START + slot * UID_COUNT


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise LabError(f"a page daemon's namespaces: {what}: {os.strerror(error)}")


def _listening_socket(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o660)
    listener.listen(128)
    return listener


def _name_namespace(pid: int, netns: str, base: int) -> None:
    """In the machine's namespaces (a child of the launcher): map the new user namespace, name its network."""
    for kind in ("uid_map", "gid_map"):
        Path(f"/proc/{pid}/{kind}").write_text(f"0 {base} {UID_COUNT}\n")
    NETNS_FOLDER.mkdir(parents=True, exist_ok=True)
    target = NETNS_FOLDER / netns
    target.touch()
    for command in (["mount", "--bind", f"/proc/{pid}/ns/net", str(target)], ["ip", "-n", netns, "link", "set", "lo", "up"]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise LabError(f"a page daemon's network namespace: {' '.join(command)}: {done.stderr.strip()}")


def launch(netns: str, base: int, socket_path: Path, writable: list[str], readable: list[str], command: list[str],
           cgroup_procs: tuple[Path, ...] = ()) -> None:
    libc = _libc()
    for procs in cgroup_procs:  # the page's limits: the daemon and all it starts count against them
        procs.write_text(f"{os.getpid()}\n")
    listener = _listening_socket(socket_path)
    for folder in writable:
        os.chown(folder, base, base)
    ready_read, ready_write = os.pipe()
    done_read, done_write = os.pipe()
    helper = os.fork()
    if helper == 0:  # stays in the machine's namespaces: writes the maps and names the network namespace
        os.close(ready_write)
        os.close(done_read)
        status = 1
        try:
            if os.read(ready_read, 1) == b"1":
                _name_namespace(os.getppid(), netns, base)
                os.write(done_write, b"1")
                status = 0
        except BaseException as error:  # noqa: BLE001 - said on stderr (the daemon's log), then the launcher fails
            print(f"doclab: could not set up page daemon namespace {netns}: {error}", file=sys.stderr)
        os._exit(status)
    os.close(ready_read)
    os.close(done_write)
    _check(libc.unshare(_CLONE_NEWNS), "unshare (mount)")
    pairs = [word for path in writable for word in ("rw", path)] + [word for path in readable for word in ("ro", path)]
    subprocess.run(["sh", "-c", _VIEW, "doclab-daemon-view", str(base), *pairs, "--"], check=True)
    # IPC and process ids of its own too: a container given the daemon's (`--ipc host`, `--pid host`) gets no machine's.
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWUTS | _CLONE_NEWNS | _CLONE_NEWIPC | _CLONE_NEWPID),
           "unshare (user, network, IPC, process ids)")
    os.write(ready_write, b"1")
    mapped = os.read(done_read, 1) == b"1"
    os.waitpid(helper, 0)
    if not mapped:
        raise SystemExit(1)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    name = PAGE_HOSTNAME.encode()
    _check(libc.sethostname(name, len(name)), "sethostname")
    # systemd's socket activation: the listener as fd 3, for dockerd.
    if listener.fileno() != 3:
        os.dup2(listener.fileno(), 3)
    os.set_inheritable(3, True)
    init = os.fork()  # the first process of the new process-id namespace: when it ends, all in it end
    if init == 0:
        _init(libc, command)
    sys.exit(_wait_forwarding(init))


def _init(libc, command: list[str]) -> None:
    """Process 1 of the daemon's namespace: its own /proc, then dockerd as its child, reaped like every orphan."""
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the launcher killed: the whole namespace goes with it
    try:
        _check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None), "mount /proc")
    except LabError as error:  # a forked child: said in the daemon's log, and the launcher ends with its code
        print(f"doclab: {error}", file=sys.stderr)
        os._exit(1)
    daemon = os.fork()
    if daemon == 0:
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        os.execvp(command[0], command)
    os._exit(_wait_forwarding(daemon))


def _wait_forwarding(child: int) -> int:
    """Pass the lab's signals on to ``child``, reap whatever else ends, and return ``child``'s exit code."""
    for number in _FORWARDED:
        signal.signal(number, lambda received, _frame: os.kill(child, received))
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m doclab.lab.userns", description=__doc__.split("\n\n")[0])
    parser.add_argument("--netns", required=True)
    parser.add_argument("--uid-base", type=int, required=True)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--writable", action="append", default=[])
    parser.add_argument("--readable", action="append", default=[])
    parser.add_argument("--cgroup-procs", type=Path, action="append", default=[],
                        help="a group to start in (repeatable: one per cgroup v1 hierarchy)")
    parser.add_argument("command", nargs="+")
    options = parser.parse_args(argv)
    launch(options.netns, options.uid_base, options.socket, options.writable, options.readable, options.command,
           tuple(options.cgroup_procs))


if __name__ == "__main__":
    main()
