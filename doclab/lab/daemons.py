"""The lab's Docker daemons: each with an empty image store, the lab registry as its mirror, and everything it
makes (data root, exec root, sockets, its namespace or bridge) under the lab's folder, so stopping it leaves nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

from doclab.daemon import OWNED_LABEL, ping
from doclab.lab.engines import Engine
from doclab.lab.folder import MAIN_DAEMON, DaemonHandle, LabError, LabFolder, unmount_below
from doclab.lab.limits import Limits
from doclab.lab.network import NETNS_FOLDER, create_bridge, delete_bridge, delete_netns, netns_names, netns_pids
from doclab.lab.pagefolders import write_owner
from doclab.lab.processes import (
    kill,
    lab_environment,
    pid_in,
    processes_in_cgroups_of,
    processes_mentioning,
    running,
    spawn,
    terminate,
    wait_until,
)
from doclab.lab.services import AuthzPlugin
from doclab.lab.userns import uid_base
from doclab.settings import Settings

#: Port, inside a page daemon's namespace, where the lab registry answers (5000 stays free for pages).
MIRROR_PORT = 45000


class Daemons:
    def __init__(self, folder: LabFolder, settings: Settings, registry_url: str, authz: AuthzPlugin):
        self.folder = folder
        self.settings = settings
        self.registry_url = registry_url
        self.authz = authz

    @property
    def engine_file(self):
        return self.folder.dir / "engine.json"

    def engine(self) -> Engine:
        """The engine ``lab up`` chose: every daemon of a lab runs the same one."""
        try:
            return Engine.from_json(json.loads(self.engine_file.read_text()))
        except (OSError, ValueError, KeyError) as error:
            raise LabError(f"{self.engine_file}: the lab's engine is not recorded ({error}); run `python -m doclab.lab "
                           "down`, then `up` again") from error

    def up(self, name: str) -> bool:
        return ping(f"unix://{self.folder.daemon(name).socket}")

    def start(self, name: str, owned: bool = True) -> DaemonHandle:
        """A daemon with an empty image store whose registry mirror is the lab registry.

        The main daemon shares the host's network; every other one gets a namespace of its own.
        ``owned=False`` leaves out the label that lets doclab empty it: it then stands for a
        reader's or an author's own Docker in tests.
        """
        paths = self.folder.daemon(name)
        if self.up(name):
            return self.folder.handle(name)
        self.folder.require_up()
        if owned:
            self.authz.start()
        # The owner first, whole: `lab prune` beside this takes a daemon folder without a live owner for a leftover.
        write_owner(paths.owner)
        paths.data.mkdir(parents=True, exist_ok=True)
        paths.exec.mkdir(parents=True, exist_ok=True)
        config = self.folder.dir / "daemon.json"
        if not config.is_file():
            # Written once, atomically: daemons starting at the same time must never read it half-written.
            partial = self.folder.dir / f".daemon.json.{os.getpid()}.{name}"
            partial.write_text("{}\n")
            partial.replace(config)
        engine = self.engine()
        command = [
            engine.dockerd,
            *engine.dockerd_options(),
            "--data-root", str(paths.data),
            "--exec-root", str(paths.exec),
            "--config-file", str(config),
            # An author's Docker has no plugin of ours; the lab's daemons refuse what would reach the machine.
            *(["--label", OWNED_LABEL, "--authorization-plugin", self.authz.name] if owned else []),
            # No iptables: the host's firewall is left alone; published ports go through docker-proxy.
            "--iptables=false",
            "--ip-masq=false",
        ]
        if name == MAIN_DAEMON:
            # A bridge of its own: the main daemon shares the host's network with other labs' main daemons.
            command += ["--host", f"unix://{paths.socket}", "--pidfile", str(paths.pidfile),
                        "--registry-mirror", self.registry_url, "--bridge", create_bridge(self.folder.dir, name)]
            # dockerd writes its own pid file once it runs (and refuses one that names a live process): the
            # launch's pid goes beside its exec root instead.
            pid = spawn(command, paths.log, paths.exec / "launched.pid", engine.environment(lab_environment(os.environ)))
        else:
            pid = self._start_page_daemon(name, engine, command, config)
        wait_until(lambda: self.up(name), 60, f"dockerd '{name}' on {paths.socket}", paths.log, pid)
        return self.folder.handle(name)

    def _start_page_daemon(self, name: str, engine: Engine, command: list[str], config) -> int:
        """A page daemon in a user namespace of its own (``doclab.lab.userns``), its network named for the forwarder
        to the lab registry and for pages' shells; returns its pid."""
        paths, netns = self.folder.daemon(name), self.folder.netns(name)
        base = uid_base(self.folder.dir, name)
        limits = self.limits(name)
        joined = []
        if limits.available:  # the page's containers together: processes and memory (its files are in memory too)
            limits.create()
            joined = [word for procs in limits.delegate(base) for word in ("--cgroup-procs", str(procs))]
            command += ["--cgroup-parent", limits.cgroup_parent(), "--exec-opt", "native.cgroupdriver=cgroupfs"]
        delete_netns(netns)  # an interrupted run's
        command += ["--host", "fd://", "--pidfile", str(paths.exec / "dockerd.pid"),
                    "--registry-mirror", f"http://127.0.0.1:{MIRROR_PORT}"]
        # The engine's programs, its settings and, for a daemon of the lab's own, the authorization plugin's socket.
        plugin = [str(self.authz.socket)] if "--authorization-plugin" in command else []
        readable = sorted({str(Path(engine.dockerd).parent), *engine.path, str(config), *plugin})
        launcher = [sys.executable, "-m", "doclab.lab.userns", "--netns", netns, "--uid-base", str(base), *joined,
                    "--socket", str(paths.socket), "--writable", str(paths.data), "--writable", str(paths.exec),
                    *(word for path in readable for word in ("--readable", path)), "--", *command]
        pid = spawn(launcher, paths.log, paths.pidfile, engine.environment(lab_environment(os.environ)))
        wait_until(lambda: os.path.ismount(NETNS_FOLDER / netns), 30, f"the namespaces of dockerd '{name}'", paths.log, pid)
        spawn([sys.executable, "-m", "doclab.lab.forward", netns, str(MIRROR_PORT), str(self.settings.registry_port)],
              paths.log, paths.forwarder)
        return pid

    def limits(self, name: str) -> Limits:
        """The cgroup of page daemon ``name``'s containers, named as its network namespace."""
        return Limits(self.folder.netns(name), every_hierarchy=True)

    def stop(self, name: str) -> None:
        """Stop the daemon and everything it started (shims too), unmount, and remove its folders and network."""
        paths = self.folder.daemon(name)
        terminate(paths.pidfile, names=str(paths.exec))
        for folder in (paths.data, paths.exec):
            for pid in processes_mentioning(str(folder), lab_programs_only=True):
                kill(pid, signal.SIGKILL)
        # A daemon killed with its containers running leaves their processes (parent: init): end them too.
        containers = [path.name for path in (paths.data / "containers").glob("*")]
        for pid in processes_in_cgroups_of(containers):
            kill(pid, signal.SIGKILL)
        terminate(paths.forwarder, seconds=5, names=self.folder.netns(name))
        if name != MAIN_DAEMON:
            # Whatever still runs in the page's namespace (a killed build's shell and its children) ends too.
            for pid in netns_pids(self.folder.netns(name)):
                kill(pid, signal.SIGKILL)
        for folder in (paths.data, paths.exec):
            unmount_below(folder)
        for folder in (paths.data, paths.exec):
            shutil.rmtree(folder, ignore_errors=True)
        if name == MAIN_DAEMON:
            delete_bridge(self.folder.dir, name)
        else:
            delete_netns(self.folder.netns(name))
            if self.limits(name).available:
                self.limits(name).remove()
        # A pool daemon's lease file stays: deleting it under its lock would let two builds lock two files.
        for path in (paths.socket, paths.log, paths.pidfile, paths.owner):
            path.unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Every daemon of this lab, also one an interrupted run left without its socket."""
        lab_dir, prefix = self.folder.dir, self.folder.netns_prefix
        names = {path.stem for pattern in ("*.sock", "*.pid", "*.owner") for path in lab_dir.glob(pattern)}
        names |= {path.name for folder in ("data", "x") for path in (lab_dir / folder).glob("*")}
        names |= {ns.removeprefix(prefix) for ns in netns_names() if ns.startswith(prefix)}
        names -= {"registry", "authz"}  # the lab's own services, not daemons
        return sorted(name for name in names if not name.endswith(".forward"))

    def ownerless(self, names: list[str]) -> list[str]:
        """Of ``names`` (daemons not in the pool), those whose owner, the build or test that started them, has ended."""
        found = []
        for name in names:
            pid = pid_in(self.folder.daemon(name).owner)
            if name != MAIN_DAEMON and not (pid and running(pid)):
                found.append(name)
        return found
