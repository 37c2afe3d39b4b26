"""The lab's Docker daemons: each with an empty image store, the lab registry as its mirror, and everything it
makes (data root, exec root, sockets, its namespace or bridge) under the lab's folder, so stopping it leaves nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys

from doclab.daemon import OWNED_LABEL, ping
from doclab.lab.engines import Engine
from doclab.lab.folder import MAIN_DAEMON, DaemonHandle, LabError, LabFolder, unmount_below
from doclab.lab.limits import Limits
from doclab.lab.network import create_bridge, create_netns, delete_bridge, delete_netns, netns_command, netns_names, netns_pids
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
            "--host", f"unix://{paths.socket}",
            "--data-root", str(paths.data),
            "--exec-root", str(paths.exec),
            "--pidfile", str(paths.pidfile),
            "--config-file", str(config),
            # An author's Docker has no plugin of ours; the lab's daemons refuse what would reach the machine.
            *(["--label", OWNED_LABEL, "--authorization-plugin", self.authz.name] if owned else []),
            # No iptables: the host's firewall is left alone; published ports go through docker-proxy.
            "--iptables=false",
            "--ip-masq=false",
        ]
        if name != MAIN_DAEMON:
            netns = self.folder.netns(name)
            limits = self.limits(name)
            if limits.available:  # the page's containers together: processes and memory (its files are in memory too)
                limits.create()
                command += ["--cgroup-parent", limits.cgroup_parent(), "--exec-opt", "native.cgroupdriver=cgroupfs"]
            create_netns(netns)
            spawn([sys.executable, "-m", "doclab.lab.forward", netns, str(MIRROR_PORT), str(self.settings.registry_port)],
                  paths.log, paths.forwarder)
            command = [*netns_command(netns), *command, "--registry-mirror", f"http://127.0.0.1:{MIRROR_PORT}"]
        else:
            # A bridge of its own: the main daemon shares the host's network with other labs' main daemons.
            command += ["--registry-mirror", self.registry_url, "--bridge", create_bridge(self.folder.dir, name)]
        # dockerd writes its own pid file once it runs (and refuses one that names a live process): the
        # launch's pid goes beside its exec root instead.
        pid = spawn(command, paths.log, paths.exec / "launched.pid", engine.environment(lab_environment(os.environ)))
        wait_until(lambda: self.up(name), 60, f"dockerd '{name}' on {paths.socket}", paths.log, pid)
        return self.folder.handle(name)

    def limits(self, name: str) -> Limits:
        """The cgroup of page daemon ``name``'s containers, named as its network namespace."""
        return Limits(self.folder.netns(name))

    def stop(self, name: str) -> None:
        """Stop the daemon and everything it started (shims too), unmount, and remove its folders and network."""
        paths = self.folder.daemon(name)
        terminate(paths.pidfile, names=str(paths.socket))
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
