"""The offline lab: a Distribution registry on 127.0.0.1 seeded with alpine:3.18, and private
Docker daemons that use it as their registry mirror, so ``FROM alpine:3.18`` is pulled through a
real registry with no route to Docker Hub.

    python -m doclab.lab up       # registry + seed + the daemon "main"; prints DOCKER_HOST
    python -m doclab.lab status
    python -m doclab.lab prune    # stops page daemons whose build or test run has ended (Ctrl-C)
    python -m doclab.lab down     # stops everything it started, removes its folder

Everything lives under DOCLAB_LAB_DIR (default /tmp/doclab-lab): sockets, data roots, pid files,
logs. A system Docker daemon, its socket and /etc/docker are never touched.

The registry serves ``library/alpine:3.18`` (from Alpine's minirootfs) and ``library/registry:2``
(Debian's Distribution registry, the program the lab itself runs). Page daemons (every daemon
but "main") run in a network namespace of their own: ``localhost`` and published ports are the
page's own, so two pages can both run ``docker run -p 5000:5000 registry:2`` at the same time.
They reach the lab registry through ``doclab.lab.forward`` on 127.0.0.1:MIRROR_PORT of their namespace.

Page daemons are a pool (``pool-0``, ``pool-1`` …) kept running between pages and between builds:
a page leases one (a lock), runs on it, and gives it back empty. Starting a daemon costs more CPU
than most pages' commands, so reuse is what lets pages run in parallel on a small machine. A daemon
whose lease did not end cleanly (a killed build) is started again before anyone uses it.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from doclab.lab import authz
from doclab.engine import daemon as engine
from doclab.engine.daemon import OWNED_LABEL, ping
from doclab.errors import DoclabError
from doclab.lab.rootfs import ensure_rootfs, fetch_enabled
from doclab.lab.pagefolders import remove_ended_page_folders, write_owner
from doclab.lab.seed import push_alpine, push_registry_image, served_images, verify_checksum
from doclab.engine.guard import port_holder
from doclab.settings import ALPINE_ROOTFS, JOBS, LAB_DIR, REGISTRY_PORT, Settings

MAIN_DAEMON = "main"
#: The host name page daemons and page shells have: the machine's own never reaches an output.
PAGE_HOSTNAME = "docker-lesson"
#: Longest daemon name doclab makes (``build-`` + 20 characters of the page + ``-`` + 6 hex digits).
LONGEST_DAEMON_NAME = 33
#: Port, inside a page daemon's namespace, where the lab registry answers (5000 stays free for pages).
MIRROR_PORT = 45000
#: Names of the pooled page daemons: ``pool-0``, ``pool-1`` … (as many as pages ever ran at once).
POOL_PREFIX = "pool-"
#: What a pool daemon's lease file holds while nobody uses it and nothing of a page is left on it.
CLEAN = "clean"
#: Most page daemons ``up`` starts ahead, whatever the number of cores (more start when needed).
MAX_READY = 8
#: How a lease file starts when its daemon must start again before its next page (then why).
RESTART = "to be started again"


class LabError(DoclabError, RuntimeError):
    """The lab cannot do what was asked; the message says what is in the way and how to clear it."""


#: Written by ``up`` into a lab folder it made or found empty: only such a folder is ever used or cleaned.
MARKER = ".doclab-lab"
#: What a lab puts in its folder, and all that ``down`` removes from it (anything else there is left alone).
OWN_ENTRIES = ("*.sock", "*.pid", "*.owner", ".*.owner.*.partial", "*.lease", "*.log", ".daemon.json.*", "daemon.json", "lab.json",
               "registry.yml", "registry-data", "data", "x")
#: The device name of the tmpfs the lab mounts on its data folder: the only mount ``down`` removes that the
#: lab's daemons did not make below their own folders.
DATA_TMPFS = "doclab-data"


@dataclass(frozen=True)
class DaemonHandle:
    name: str
    socket: Path
    netns: str | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


class Lab:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = settings.lab_dir
        self.registry_url = f"http://127.0.0.1:{settings.registry_port}"

    # -- paths -------------------------------------------------------------------------------
    def _daemon_paths(self, name: str) -> dict[str, Path]:
        return {
            "socket": self.dir / f"{name}.sock",
            "pidfile": self.dir / f"{name}.pid",
            "forwarder": self.dir / f"{name}.forward.pid",
            "owner": self.dir / f"{name}.owner",
            "lease": self.dir / f"{name}.lease",
            "log": self.dir / f"{name}.log",
            "data": self.dir / "data" / name,
            # exec-root holds containerd's sockets: it must stay short (108-byte socket paths).
            "exec": self.dir / "x" / name,
        }

    def netns(self, name: str) -> str:
        """The network namespace of page daemon ``name`` (the main daemon has none)."""
        return f"{self.netns_prefix}{name}"

    @property
    def netns_prefix(self) -> str:
        return "doclab-" + hashlib.sha1(str(self.dir.resolve()).encode()).hexdigest()[:8] + "-"

    @property
    def registry_log(self) -> Path:
        return self.dir / "registry.log"

    # -- checks ------------------------------------------------------------------------------
    def missing(self) -> list[str]:
        """What this machine lacks to run the lab, each with how to get it."""
        problems = []
        if os.geteuid() != 0:
            problems.append("root: dockerd needs it (run as root, or point DOCKER_HOST at a daemon you have)")
        for binary, package in (("dockerd", "docker.io"), ("docker-registry", "docker-registry")):
            if shutil.which(binary) is None:
                problems.append(f"{binary}: apt-get install {package}")
        rootfs = self.settings.alpine_rootfs
        if rootfs is None and fetch_enabled():
            pass  # downloaded and checked by ``up`` (doclab.lab.rootfs)
        elif rootfs is None:
            problems.append(
                f"{ALPINE_ROOTFS}: set it to the path of alpine-minirootfs-3.18.9-x86_64.tar.gz "
                "(in CI: ../shared/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz)"
            )
        elif not rootfs.is_file():
            problems.append(f"{ALPINE_ROOTFS}: {rootfs} does not exist")
        longest = len(str(self._daemon_paths("x" * LONGEST_DAEMON_NAME)["exec"] / "containerd" / "containerd.sock.ttrpc"))
        if longest > 107:
            problems.append(
                f"{LAB_DIR}: {self.dir} is too long: containerd's socket paths under it would be {longest} bytes, and "
                f"Unix sockets allow 107; choose a folder at most {len(str(self.dir)) - (longest - 107)} characters long"
            )
        return problems

    # -- registry ----------------------------------------------------------------------------
    def registry_up(self) -> bool:
        try:
            return requests.get(f"{self.registry_url}/v2/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start_registry(self) -> None:
        if self.registry_up():
            return
        config = self.dir / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.dir / 'registry-data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.settings.registry_port}\n"
        )
        holder = port_holder(self.settings.registry_port)
        if holder:
            raise LabError(f"port {self.settings.registry_port}, where the lab's registry listens, is taken by {holder}: "
                           f"choose another with {REGISTRY_PORT}=N (the lab's daemons follow it), or stop what holds it")
        pid = self._spawn(["docker-registry", "serve", str(config)], self.registry_log, self.dir / "registry.pid")
        self._wait(self.registry_up, 30, f"the registry on {self.registry_url}", self.registry_log, pid)

    @property
    def authz_plugin(self) -> str:
        """The name the lab's daemons know their authorization plugin by (doclab.lab.authz), one per lab folder."""
        return f"{self.netns_prefix}authz"

    @property
    def authz_socket(self) -> Path:
        # Where dockerd discovers plugins by name; the lab's one file outside its folder, removed on down.
        return Path("/run/docker/plugins") / f"{self.authz_plugin}.sock"

    def authz_up(self) -> bool:
        return authz.answers(self.authz_socket)

    def start_authz(self) -> None:
        """What a page's commands may not do to the machine (doclab.lab.authz): every lab daemon asks it first."""
        if self.authz_up():
            return
        log = self.dir / "authz.log"
        pid = self._spawn([sys.executable, "-m", "doclab.lab.authz", str(self.authz_socket)], log, self.dir / "authz.pid")
        self._wait(self.authz_up, 10, f"the authorization plugin on {self.authz_socket}", log, pid)

    def seed(self) -> dict[str, str]:
        rootfs = ensure_rootfs(self.settings)
        sums = rootfs.parent / "SHA256SUMS"
        if sums.is_file():
            verify_checksum(rootfs, sums)
        alpine = push_alpine(rootfs, self.registry_url)
        registry = push_registry_image(Path(shutil.which("docker-registry")), self.registry_url)
        return {"alpine:3.18": alpine.manifest_digest, "registry:2": registry.manifest_digest}

    def served_images(self) -> list[str]:
        return served_images(self.registry_url)

    # -- daemons -----------------------------------------------------------------------------
    def daemon(self, name: str) -> DaemonHandle:
        return DaemonHandle(name, self._daemon_paths(name)["socket"], None if name == MAIN_DAEMON else self.netns(name))

    def daemon_up(self, name: str) -> bool:
        return ping(f"unix://{self._daemon_paths(name)['socket']}")

    def start_daemon(self, name: str, owned: bool = True) -> DaemonHandle:
        """A daemon with an empty image store whose registry mirror is the lab registry.

        The main daemon shares the host's network; every other one gets a namespace of its own.
        ``owned=False`` leaves out the label that lets doclab empty it: it then stands for a
        reader's or an author's own Docker in tests.
        """
        paths = self._daemon_paths(name)
        if self.daemon_up(name):
            return self.daemon(name)
        self.require_up()
        if owned:
            self.start_authz()
        isolated = name != MAIN_DAEMON
        # The owner first, whole: `lab prune` beside this takes a daemon folder without a live owner for a leftover.
        write_owner(paths["owner"])
        for key in ("data", "exec"):
            paths[key].mkdir(parents=True, exist_ok=True)
        config = self.dir / "daemon.json"
        if not config.is_file():
            # Written once, atomically: daemons starting at the same time must never read it half-written.
            partial = self.dir / f".daemon.json.{os.getpid()}.{name}"
            partial.write_text("{}\n")
            partial.replace(config)
        command = [
            "dockerd",
            "--host", f"unix://{paths['socket']}",
            "--data-root", str(paths["data"]),
            "--exec-root", str(paths["exec"]),
            "--pidfile", str(paths["pidfile"]),
            "--config-file", str(config),
            # An author's Docker has no plugin of ours; the lab's daemons refuse what would reach the machine.
            *(["--label", OWNED_LABEL, "--authorization-plugin", self.authz_plugin] if owned else []),
            # No iptables: the host's firewall is left alone; published ports go through docker-proxy.
            "--iptables=false",
            "--ip-masq=false",
        ]
        if isolated:
            netns = self.netns(name)
            _create_netns(netns)
            self._spawn([sys.executable, "-m", "doclab.lab.forward", netns, str(MIRROR_PORT), str(self.settings.registry_port)],
                        paths["log"], paths["forwarder"])
            command = [*netns_command(netns), *command, "--registry-mirror", f"http://127.0.0.1:{MIRROR_PORT}"]
        else:
            # A bridge of its own: the main daemon shares the host's network with other labs' main daemons.
            command += ["--registry-mirror", self.registry_url, "--bridge", _create_bridge(self.dir, name)]
        # dockerd writes its own pid file once it runs (and refuses one that names a live process): the
        # launch's pid goes beside its exec root instead.
        pid = self._spawn(command, paths["log"], paths["exec"] / "launched.pid")
        self._wait(lambda: self.daemon_up(name), 60, f"dockerd '{name}' on {paths['socket']}", paths["log"], pid)
        return self.daemon(name)

    @contextmanager
    def lease_daemon(self, restarted: bool = False):
        """A pooled page daemon nobody else uses until the block ends: empty, in a namespace of its own.

        Leases are ``flock``s, so two builds (or a build and the tests) never share a daemon, and a
        lease held by a killed process ends with it. The daemon is emptied when given back; one whose
        lease did not end that way, or that stopped, is started again first. ``restarted``: started
        again in any case, for a page that reads what only a new daemon has not seen (its events).
        """
        self.require_up()
        for index in itertools.count():
            name = f"{POOL_PREFIX}{index}"
            lease = self._daemon_paths(name)["lease"]
            handle = lease.open("a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            break
        if not (self.dir / MARKER).is_file():  # taken down between the check and the lock: leave no lease behind
            lease.unlink(missing_ok=True)
            handle.close()
            with suppress(OSError):
                self.dir.rmdir()  # if `down` found this lease in the way, the folder it left is empty now
            self.require_up()
        try:
            if not self.registry_up():  # it died mid-build: a page would wait minutes for Docker Hub instead
                raise LabError(f"the lab's registry on {self.registry_url} does not answer (its log: {self.registry_log}); "
                               "start it again with python -m doclab.lab up, then run again")
            if restarted:
                _rewrite(handle, f"{RESTART}: the page reads the daemon's event history\n")
            self._ready(name, handle)
            _rewrite(handle, f"leased by {os.getpid()} ({' '.join(sys.argv)[:200]})\n")
            try:
                yield self.daemon(name)
            finally:  # also after a failed page: its run has been closed, the daemon is emptied all the same
                why_stopped = self._give_back(name)
                _rewrite(handle, f"{CLEAN}\n" if why_stopped is None else f"{RESTART}: {why_stopped}\n")
        finally:
            handle.close()  # releases the lock

    def unsound_storage(self, name: str) -> str | None:
        """Why an emptied daemon's storage is not like a new one's (None: it is): a layer left behind, or a
        link to a layer that is gone (a publish once failed on ``symlink ../…/diff …/overlay2/l/…``)."""
        overlay = self._daemon_paths(name)["data"] / "overlay2"
        layers = self._daemon_paths(name)["data"] / "image" / "overlay2" / "layerdb" / "sha256"
        left = [path.name for path in overlay.glob("*") if path.name != "l"] if overlay.is_dir() else []
        left += [path.name for path in layers.glob("*")] if layers.is_dir() else []
        broken = [path.name for path in (overlay / "l").glob("*") if not path.exists()] if (overlay / "l").is_dir() else []
        if left or broken:
            return (f"its storage is not empty after emptying ({len(left)} layer(s) left, {len(broken)} broken link(s) "
                    f"in {overlay})")
        return None

    def _ready(self, name: str, lease) -> bool:
        """Start the pool daemon (again) unless it was given back clean, still answers and its storage is sound;
        True if started."""
        lease.seek(0)
        if lease.read().strip() == CLEAN and self.daemon_up(name):
            unsound = self.unsound_storage(name)
            if unsound is None:
                return False
            print(f"doclab.lab: {name} is started again: {unsound}", file=sys.stderr)
        self.stop_daemon(name)
        handle = self.start_daemon(name)
        # What the namespace is like before any page: a page that changes it makes its daemon start again.
        self._fingerprint_path(name).write_text(_netns_fingerprint(handle.netns))
        return True

    def _give_back(self, name: str) -> str | None:
        """Empty a pool daemon after a page; when it cannot be trusted to be like new, stop it (the
        next lease starts it again) and return why."""
        handle = self.daemon(name)
        try:
            if not self.daemon_up(name):
                raise LabError("stopped answering")
            socket_path = str(handle.socket)
            _, info = engine.engine_get(socket_path, "/info")
            _, plugins = engine.engine_get(socket_path, "/plugins")
            if info.get("Swarm", {}).get("LocalNodeState", "inactive") != "inactive" or plugins:
                raise LabError("a page changed it beyond containers, images and volumes (swarm or plugins)")
            _, networks = engine.engine_get(socket_path, "/networks")
            if {network["Name"] for network in networks} - engine.DEFAULT_NETWORKS:
                # Docker hands out subnets in turn and remembers where it is: the next page would get others.
                raise LabError("a page created networks")
            with engine.connected(base_url=handle.docker_host) as api:
                leftovers = engine.empty_daemon(api)
            if leftovers:
                raise LabError("could not remove " + "; ".join(leftovers))
            unsound = self.unsound_storage(name)
            if unsound:
                raise LabError(unsound)
            before, now = self._fingerprint_path(name).read_text().splitlines(), _netns_fingerprint(handle.netns).splitlines()
            if now != before:
                changed = [f"-{line}" for line in before if line not in now] + [f"+{line}" for line in now if line not in before]
                raise LabError("a page changed its network namespace: " + "; ".join(changed[:4]))
            return None
        except (LabError, OSError, RuntimeError) as error:
            print(f"doclab.lab: {name} is started again before its next page: {error}", file=sys.stderr)
            self.stop_daemon(name)
            return str(error).split("\n", 1)[0][:300]

    def _fingerprint_path(self, name: str) -> Path:
        return self._daemon_paths(name)["exec"] / "netns.fingerprint"

    @property
    def pool_size(self) -> int:
        """Page daemons ``up`` starts ahead: DOCLAB_JOBS, but at most MAX_READY (some 150 MB of memory each)."""
        return min(self.settings.jobs, MAX_READY)

    def start_pool(self, size: int) -> None:
        """Start ``size`` pool daemons at once (``lab up``), so the first build does not wait for them."""
        from concurrent.futures import ThreadPoolExecutor

        def ready(index: int) -> None:
            name = f"{POOL_PREFIX}{index}"
            with self._daemon_paths(name)["lease"].open("a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if self._ready(name, handle):
                    _rewrite(handle, f"{CLEAN}\n")

        with ThreadPoolExecutor(max_workers=size) as threads:
            list(threads.map(ready, range(size)))

    def stop_daemon(self, name: str) -> None:
        """Stop the daemon and everything it started (shims too), unmount, and remove its folders and network."""
        paths = self._daemon_paths(name)
        _terminate(paths["pidfile"], names=str(paths["socket"]))
        for key in ("data", "exec"):
            for pid in processes_mentioning(str(paths[key]), lab_programs_only=True):
                _kill(pid, signal.SIGKILL)
        # A daemon killed with its containers running leaves their processes (parent: init): end them too.
        containers = [path.name for path in (paths["data"] / "containers").glob("*")]
        for pid in processes_in_cgroups_of(containers):
            _kill(pid, signal.SIGKILL)
        _terminate(paths["forwarder"], seconds=5, names=self.netns(name))
        if name != MAIN_DAEMON:
            # Whatever still runs in the page's namespace (a killed build's shell and its children) ends too.
            for pid in _netns_pids(self.netns(name)):
                _kill(pid, signal.SIGKILL)
        _unmount_below(paths["data"])
        _unmount_below(paths["exec"])
        for key in ("data", "exec"):
            shutil.rmtree(paths[key], ignore_errors=True)
        if name == MAIN_DAEMON:
            subprocess.run(["ip", "link", "delete", bridge_name(self.dir, name)], capture_output=True)
        else:
            subprocess.run(["ip", "netns", "delete", self.netns(name)], capture_output=True)
        # A pool daemon's lease file stays: deleting it under its lock would let two builds lock two files.
        for key in ("socket", "log", "pidfile", "owner"):
            paths[key].unlink(missing_ok=True)

    def orphans(self) -> list[str]:
        """Page daemons whose owner (the build or test process that started them) has ended, and pool
        daemons whose lease ended without giving them back empty."""
        found = []
        for name in self.daemon_names():
            if name.startswith(POOL_PREFIX):
                if self.pool_state(name) == "abandoned":
                    found.append(name)
                continue
            owner = self._daemon_paths(name)["owner"]
            pid = int(owner.read_text().strip() or 0) if owner.is_file() else 0
            if name != MAIN_DAEMON and not (pid and running(pid)):
                found.append(name)
        return found

    def pool_state(self, name: str) -> str:
        """``leased`` (a live process holds it), ``clean`` (idle and empty), ``stopped`` (after a page that
        changed what emptying cannot undo) or ``abandoned`` (its lease ended with its process)."""
        lease = self._daemon_paths(name)["lease"]
        if not lease.is_file():
            return "abandoned"
        with lease.open("r") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return "leased"
            text = handle.read().strip()
        if text.startswith(RESTART):
            return "stopped"
        return "clean" if text == CLEAN and self.daemon_up(name) else "abandoned"

    def prune(self) -> list[str]:
        """Stop the page daemons whose owner has ended, e.g. after Ctrl-C, and remove the folders of
        their page runs; what live runs use stays."""
        orphans = self.orphans()
        for name in orphans:
            if name.startswith(POOL_PREFIX):
                self._stop_if_unused(name)
            else:
                self.stop_daemon(name)
        # The pool grows while several builds and test runs share the lab; idle daemons beyond
        # DOCLAB_JOBS (some 150 MB of memory each) are stopped.
        for name in self.daemon_names():
            if name.startswith(POOL_PREFIX) and int(name.removeprefix(POOL_PREFIX)) >= self.settings.jobs:
                if self._stop_if_unused(name, also_clean=True):
                    orphans.append(f"{name} (idle, beyond {JOBS}={self.settings.jobs})")
        orphans += remove_ended_page_folders(running)
        return orphans

    def _stop_if_unused(self, name: str, also_clean: bool = False) -> bool:
        """Stop a pool daemon nobody leases (abandoned, or ``also_clean``: idle), under its lease lock,
        so no build leases it while it stops."""
        with self._daemon_paths(name)["lease"].open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # leased meanwhile: whoever holds it restarts it if it must
            handle.seek(0)
            if also_clean or handle.read().strip() != CLEAN or not self.daemon_up(name):
                self.stop_daemon(name)
                return True
            return False

    def daemon_names(self) -> list[str]:
        """Every daemon of this lab, also one an interrupted run left without its socket."""
        names = {path.stem for pattern in ("*.sock", "*.pid", "*.owner") for path in self.dir.glob(pattern)}
        names |= {path.name for folder in ("data", "x") for path in (self.dir / folder).glob("*")}
        names |= {ns.removeprefix(self.netns_prefix) for ns in _netns_names() if ns.startswith(self.netns_prefix)}
        names -= {"registry", "authz"}  # the lab's own services, not daemons
        return sorted(name for name in names if not name.endswith(".forward"))

    # -- whole lab ---------------------------------------------------------------------------
    def up(self) -> DaemonHandle:
        problems = self.missing()
        if problems:
            raise LabError("the lab cannot start on this machine:\n  - " + "\n  - ".join(problems))
        self.claim_folder()
        starting = not self.registry_up()
        try:
            self._data_in_memory()
            self.start_registry()
            digests = self.seed()
            (self.dir / "lab.json").write_text(json.dumps({"registry": self.registry_url, "images": digests}, indent=2) + "\n")
            main = self.start_daemon(MAIN_DAEMON)
            self.start_pool(self.pool_size)
        except BaseException:
            if starting:
                self.down()  # a lab that did not come up leaves nothing: no registry, daemon, mount or folder
            raise
        return main

    def require_up(self) -> None:
        """Refuse to start or lease a daemon of a lab that is down (``lab down`` during a build): it would
        be started again in a folder nobody owns any more, and outlive everything."""
        if not (self.dir / MARKER).is_file():
            raise LabError(f"the lab at {self.dir} is down (taken down while this ran?); start it with "
                           "python -m doclab.lab up, then run again")

    def claim_folder(self) -> None:
        """Make the lab folder, or use one that is already this lab's or empty; refuse one that holds
        things doclab did not make, so ``down`` never removes an author's files."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if not (self.dir / MARKER).is_file():
                foreign = self._foreign_entries()
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

    def _data_in_memory(self) -> None:
        """The daemons' data roots on a tmpfs: unpacking layers on a journaled disk took a third of a
        cold build's CPU time. Where it cannot be mounted, they stay on disk (slower, same outputs)."""
        data = self.dir / "data"
        data.mkdir(exist_ok=True)
        if not os.path.ismount(data):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0711", DATA_TMPFS, str(data)], capture_output=True)

    def down(self) -> list[str]:
        """Stop every daemon and the registry; return the lab processes still alive (should be none)."""
        from concurrent.futures import ThreadPoolExecutor

        own = self.dir.is_dir() and ((self.dir / MARKER).is_file() or not self._foreign_entries())
        # The marker goes first: a build running meanwhile then starts or leases no daemon of this lab any more.
        (self.dir / MARKER).unlink(missing_ok=True)
        names = self.daemon_names()
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as threads:  # each waits a second or so for dockerd
            list(threads.map(self.stop_daemon, names))
        _terminate(self.dir / "registry.pid", names=str(self.dir / "registry.yml"))
        _terminate(self.dir / "authz.pid", names=str(self.authz_socket))
        if not self.authz_up():
            self.authz_socket.unlink(missing_ok=True)
        # Forwarders of daemons an interrupted run left: the prefix holds a hash of this lab's own folder.
        for pid in processes_mentioning(self.netns_prefix, whole=False, lab_programs_only=True):
            _kill(pid, signal.SIGKILL)
        for netns in _netns_names():
            if netns.startswith(self.netns_prefix):
                subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
        leftovers = lab_processes(self.dir)
        for pid in leftovers:
            _kill(pid, signal.SIGKILL)
        if own:
            self._remove_own_entries()
        return [f"{pid}" for pid in lab_processes(self.dir)]

    def _foreign_entries(self) -> list[str]:
        """What the lab folder holds that no lab makes (a lab of an earlier doclab has no marker, only its own)."""
        own = {path.name for pattern in (MARKER, *OWN_ENTRIES) for path in self.dir.glob(pattern)}
        return sorted(path.name for path in self.dir.iterdir() if path.name not in own)

    def _remove_own_entries(self) -> None:
        """Remove what the lab put in its folder, and the folder if nothing else is left; never a folder
        the lab did not claim, never a mount it did not make."""
        data = self.dir / "data"
        if os.path.ismount(data) and _mount_source(data) == DATA_TMPFS:
            subprocess.run(["umount", "-l", str(data)], capture_output=True)
        for pattern in OWN_ENTRIES:
            for path in self.dir.glob(pattern):
                if os.path.ismount(path):
                    continue  # a mount of someone else's: left as it is
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        (self.dir / MARKER).unlink(missing_ok=True)
        with suppress(OSError):
            self.dir.rmdir()  # only when empty: files an author added stay

    # -- helpers -----------------------------------------------------------------------------
    def _spawn(self, command: list[str], log: Path, pidfile: Path) -> int:
        """Start ``command`` detached (``setsid --fork``) and return its pid, which ``pidfile`` holds.

        Not a child of this process: the lab outlives the build or test that started a daemon, and
        this process never holds an exit status nobody collects (no zombie, no ResourceWarning).
        """
        log.parent.mkdir(parents=True, exist_ok=True)
        pidfile.unlink(missing_ok=True)
        with log.open("ab") as stream:
            subprocess.run(["setsid", "--fork", "sh", "-c", 'echo $$ > "$0" && exec "$@"', str(pidfile), *command],
                           stdin=subprocess.DEVNULL, stdout=stream, stderr=stream, check=True)
        deadline = time.monotonic() + 10
        while not (pidfile.is_file() and pidfile.read_text().strip()):
            if time.monotonic() > deadline:
                raise LabError(f"{command[0]} did not start within 10 s; see {log}")
            time.sleep(0.01)
        return int(pidfile.read_text())

    def _wait(self, ready, seconds: float, what: str, log: Path, pid: int | None = None) -> None:
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


def bridge_name(lab_dir: Path, daemon_name: str) -> str:
    """A Linux bridge name for one daemon of one lab (at most 15 characters)."""
    return "dlab" + hashlib.sha1(f"{lab_dir.resolve()}/{daemon_name}".encode()).hexdigest()[:10]


def _create_bridge(lab_dir: Path, daemon_name: str) -> str:
    """Create the daemon's bridge with a /24 of its own in 172.29.0.0/16, local to this machine."""
    name = bridge_name(lab_dir, daemon_name)
    if Path(f"/sys/class/net/{name}").exists():
        return name
    # One machine-wide lock: daemons of parallel tests (and of other labs) pick subnets at the same time.
    with open(Path(tempfile.gettempdir()) / "doclab-bridges.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True).stdout
        free = next((n for n in range(1, 255) if f"172.29.{n}." not in used), None)
        if free is None:
            raise LabError("no free 172.29.N.0/24 subnet left for another lab daemon's bridge")
        for command in (["ip", "link", "add", name, "type", "bridge"],
                        ["ip", "addr", "add", f"172.29.{free}.1/24", "dev", name],
                        ["ip", "link", "set", name, "up"]):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise LabError(f"could not set up bridge {name}: {' '.join(command)}: {done.stderr.strip()}")
    return name


def _create_netns(name: str) -> None:
    if name in _netns_names():
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    for command in (["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise LabError(f"could not set up network namespace {name}: {' '.join(command)}: {done.stderr.strip()}")


def netns_command(netns: str) -> list[str]:
    """The prefix that runs a command in ``netns``, under the host name pages show (``PAGE_HOSTNAME``).

    A host name of its own (a UTS namespace) keeps the machine's name out of every output, so the
    scrubber never has to guess where it appears; nsenter, not `ip netns exec`, which remounts /sys.
    """
    return ["unshare", "--uts", "--", *set_hostname_then(), "nsenter", f"--net=/var/run/netns/{netns}", "--"]


def set_hostname_then() -> list[str]:
    """``sh -c`` that sets the (namespaced) host name, then runs the rest of the command line."""
    return ["sh", "-c", 'hostname "$0" && exec "$@"', PAGE_HOSTNAME]


#: What a page's root shell, or a container on the daemon's network, could change in a page daemon's
#: namespace and the next page would inherit.
_NETNS_STATE = (
    'ip -o link | sed "s/^[0-9]*: //"; ip -o addr; ip route show table all; ip -6 route show table all; '
    "ip rule; ip -6 rule; ip neigh show nud permanent; tc qdisc show; ip xfrm policy; ip xfrm state; "
    '(sysctl -a 2>/dev/null || true) | grep "^net\\."; '
    # Firewall rules, nf_tables (where Debian's iptables writes) and legacy, without their packet counters.
    '(nft list ruleset 2>/dev/null || true) | sed -E "s/counter packets [0-9]+ bytes [0-9]+/counter/"; '
    '((iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null || true) | grep -v "^#" | sed -E "s/\\[[0-9]+:[0-9]+\\]//"'
)


def _netns_fingerprint(netns: str) -> str:
    done = subprocess.run(["nsenter", f"--net=/var/run/netns/{netns}", "--", "sh", "-c", _NETNS_STATE],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0 or not done.stdout:
        raise LabError(f"could not read the state of network namespace {netns}: {done.stderr.strip()}")
    # On any daemon, the bridge takes a link-local IPv6 address (and its multicast route) the first time a container joins it,
    # and its carrier comes and goes with containers (and lags behind their removal): not compared.
    carrier = re.compile(r"NO-CARRIER,|,LOWER_UP| state \S+| (tentative|linkdown)\b")
    kept = [carrier.sub("", line) for line in done.stdout.splitlines() if "fe80:" not in line and "ff00::/8" not in line]
    return "\n".join(kept) + "\n"


def _rewrite(handle, text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _netns_pids(netns: str) -> list[int]:
    if netns not in _netns_names():
        return []
    listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout
    return [int(pid) for pid in listed.split() if pid.isdigit() and int(pid) != os.getpid()]


def _netns_names() -> list[str]:
    folder = Path("/var/run/netns")
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def lab_processes(lab_dir: Path) -> list[int]:
    """PIDs of the lab's programs whose arguments name the lab folder: dockerd, containerd, shims, the registry."""
    return processes_mentioning(str(lab_dir), lab_programs_only=True)


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


#: The programs the lab runs: only these are ever ended by what their arguments name (an author's
#: ``tail -f`` of a lab log is not).
LAB_PROGRAMS = frozenset({b"dockerd", b"containerd", b"containerd-shim", b"containerd-shim-runc-v2", b"docker-proxy",
                          b"docker-registry", b"runc"})
#: The lab's own Python services (``python -m …``); the last two are their names before the stage packages, so a
#: lab started by an earlier checkout is still ended by ``lab down``.
LAB_MODULES = (b"doclab.lab.forward", b"doclab.lab.authz", b"doclab.forward", b"doclab.authz")


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
        if lab_programs_only and not _is_lab_program(arguments):
            continue
        if any(pattern.search(argument) for argument in arguments):
            found.append(int(entry.name))
    return found


def _is_lab_program(arguments: list[bytes]) -> bool:
    return arguments[0].rsplit(b"/", 1)[-1] in LAB_PROGRAMS or any(module in arguments for module in LAB_MODULES)


def _mount_source(path: Path) -> str:
    """The device or source of the mount at ``path`` (the last one, if mounted over)."""
    target = str(path.resolve())
    sources = [line.split()[0] for line in Path("/proc/mounts").read_text().splitlines() if line.split()[1] == target]
    return sources[-1] if sources else ""


def running(pid: int) -> bool:
    """Alive, and not a zombie: a process whose parent has ended waits for this machine's init to
    reap it, which may take seconds."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _terminate(pidfile: Path, names: str, seconds: float = 20) -> None:
    """End the process ``pidfile`` names, if it is still the lab's: a program of the lab's whose arguments
    name ``names`` (a pid the machine reused since is someone else's, and is left alone)."""
    if not pidfile.is_file():
        return
    pid = int(pidfile.read_text().strip() or 0)
    if pid <= 0 or pid not in processes_mentioning(names, lab_programs_only=True):
        pidfile.unlink(missing_ok=True)
        return
    _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and running(pid):
        time.sleep(0.05)
    if running(pid):
        _kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def _unmount_below(path: Path) -> None:
    """Unmount everything at or below ``path`` (a killed dockerd leaves its data root bind-mounted on itself)."""
    root = str(path.resolve())
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m == root or m.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status", "prune", "check"])
    args = parser.parse_args(argv)
    lab = Lab(Settings.from_env())
    try:
        if args.action == "up":
            started = time.monotonic()
            handle = lab.up()
            print(f"lab up in {time.monotonic() - started:.1f} s (folder {lab.dir}, {LAB_DIR} to move it)")
            print(f"registry: {lab.registry_url} (library/alpine:3.18 seeded), log {lab.registry_log}")
            print(f"page daemons: {lab.pool_size} ready ({POOL_PREFIX}0 … {POOL_PREFIX}{lab.pool_size - 1}; "
                  "more start when more pages run at once)")
            print("point a shell at the lab's daemon with:")
            print(f"  export DOCKER_HOST={handle.docker_host}")
        elif args.action == "check":
            missing = lab.missing()
            print("; ".join(missing) if missing else "the lab can run here")
            return 1 if missing else 0
        elif args.action == "prune":
            orphans = lab.prune()
            print(f"removed {len(orphans)} page daemon(s) and folder(s) left by ended runs or idle" + (f": {', '.join(orphans)}" if orphans else ""))
        elif args.action == "down":
            left = lab.down()
            print("lab down: no process left" if not left else f"lab down, but still running: {left}")
            return 1 if left else 0
        else:
            running = [name for name in lab.daemon_names() if lab.daemon_up(name)]
            print(f"registry {lab.registry_url}: {'up' if lab.registry_up() else 'down'}")
            for name in running:
                state = f" ({lab.pool_state(name)})" if name.startswith(POOL_PREFIX) else ""
                print(f"daemon {name}: up{state}, DOCKER_HOST={lab.daemon(name).docker_host}")
            for lease in sorted(lab.dir.glob(f"{POOL_PREFIX}*.lease")):
                state = lab.pool_state(lease.stem)
                if lease.stem not in running and state in ("abandoned", "stopped"):
                    why = lease.read_text().strip() if state == "stopped" else "abandoned"
                    print(f"daemon {lease.stem}: down ({why}; started again when next leased)")
            return 0 if running and lab.registry_up() else 1
    except (DoclabError, OSError) as error:  # OSError: a full disk, a folder gone read-only
        print(f"doclab.lab {args.action}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
