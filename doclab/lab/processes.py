"""The lab's processes: start one detached, wait for it, and end only what is the lab's own.

A process counts as the lab's when it is one of the lab's programs (``LAB_PROGRAMS``, ``LAB_MODULES``) and
an argument names the lab's folder whole: an author's ``tail -f`` of a lab log, or another lab whose folder
name extends this one's, is never ended.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from doclab.lab.folder import LabError

#: The programs the lab runs: only these are ever ended by what their arguments name.
LAB_PROGRAMS = frozenset({b"dockerd", b"containerd", b"containerd-shim", b"containerd-shim-runc-v2", b"docker-proxy",
                          b"docker-registry", b"runc"})
#: The lab's own Python services (``python -m …``) and a page daemon's launcher; the last two are their names before the stage packages, so a
#: lab started by an earlier checkout is still ended by ``lab down``.
LAB_MODULES = (b"doclab.lab.forward", b"doclab.lab.authz", b"doclab.lab.userns", b"doclab.forward", b"doclab.authz")


#: What the lab's processes keep of the environment of whoever started them (a build, a test, serve): they outlive it,
#: and nothing of a builder's own (its tokens, its secrets) may live on in a daemon.
KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH")


def lab_environment(environ) -> dict[str, str]:
    return {name: environ[name] for name in KEPT_ENVIRONMENT if name in environ}


def spawn(command: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None) -> int:
    """Start ``command`` detached (``setsid --fork``) and return its pid, which ``pidfile`` holds; ``env``: its
    environment (else ``lab_environment`` of this process's).

    Not a child of this process: the lab outlives the build or test that started a daemon, and
    this process never holds an exit status nobody collects (no zombie, no ResourceWarning).
    """
    env = lab_environment(os.environ) if env is None else env
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.unlink(missing_ok=True)
    with log.open("ab") as stream:
        subprocess.run(["setsid", "--fork", "sh", "-c", 'echo $$ > "$0" && exec "$@"', str(pidfile), *command],
                       stdin=subprocess.DEVNULL, stdout=stream, stderr=stream, check=True, env=env)
    deadline = time.monotonic() + 10
    while not (pidfile.is_file() and pidfile.read_text().strip()):
        if time.monotonic() > deadline:
            raise LabError(f"{command[0]} did not start within 10 s; see {log}")
        time.sleep(0.01)
    return int(pidfile.read_text())


def wait_until(ready, seconds: float, what: str, log: Path, pid: int | None = None) -> None:
    """Return once ``ready()``; else raise, with the log's last lines, when ``pid`` exits or time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        if pid is not None and not running(pid):
            break
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
    how = "exited" if pid is not None and not running(pid) else f"did not become ready in {seconds:g} s"
    raise LabError(f"{what} {how}; last lines of {log}:\n{tail}")


def running(pid: int) -> bool:
    """Alive, and not a zombie: a process whose parent has ended waits for this machine's init to
    reap it, which may take seconds."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def pid_in(pidfile: Path) -> int:
    """The pid ``pidfile`` holds; 0 when it is gone, empty or not a number (another run may remove it at any time)."""
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return int(text) if text.isdigit() else 0


def terminate(pidfile: Path, names: str, seconds: float = 20) -> None:
    """End the process ``pidfile`` names, if it is still the lab's: a program of the lab's whose arguments
    name ``names`` (a pid the machine reused since is someone else's, and is left alone)."""
    pid = pid_in(pidfile)
    if pid <= 0 or pid not in processes_mentioning(names, lab_programs_only=True):
        pidfile.unlink(missing_ok=True)
        return
    kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and running(pid):
        time.sleep(0.05)
    if running(pid):
        kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def lab_processes(lab_dir: Path) -> list[int]:
    """PIDs of the lab's programs whose arguments name the lab folder: dockerd, containerd, shims, the registry."""
    return processes_mentioning(str(lab_dir), lab_programs_only=True)


def processes_mentioning(text: str, whole: bool = True, lab_programs_only: bool = False) -> list[int]:
    """PIDs with an argument that names ``text``: whole, ``/tmp/lab`` matches ``/tmp/lab/main.sock`` and
    ``--data-root=/tmp/lab``, never ``/tmp/lab-2`` (another lab's folder whose name extends it)."""
    found = []
    pattern = re.compile(re.escape(text.encode()) + (rb"(?![\w.-])" if whole else b""))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if lab_programs_only and not is_lab_program(arguments):
            continue
        if any(pattern.search(argument) for argument in arguments):
            found.append(int(entry.name))
    return found


def is_lab_program(arguments: list[bytes]) -> bool:
    return arguments[0].rsplit(b"/", 1)[-1] in LAB_PROGRAMS or any(module in arguments for module in LAB_MODULES)


def processes_in_cgroups_of(container_ids: list[str]) -> list[int]:
    """PIDs whose cgroup names one of ``container_ids`` (the processes inside those containers)."""
    if not container_ids:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cgroup = (entry / "cgroup").read_text()
        except OSError:
            continue
        if any(container in cgroup for container in container_ids):
            found.append(int(entry.name))
    return found
