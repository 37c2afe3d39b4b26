"""The offline lab: a Distribution registry on 127.0.0.1 seeded with alpine:3.18, and private
Docker daemons that use it as their registry mirror, so ``FROM alpine:3.18`` is pulled through a
real registry with no route to Docker Hub.

    python -m doclab.lab up       # registry + seed + the daemon "main" on DOCLAB_ENGINE; prints DOCKER_HOST
    python -m doclab.lab env      # `export DOCKER_HOST=… DOCLAB_DOCKER_CLI=…`: the lab's daemon and its engine's client
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
import json
import os
import shutil
import signal
import sys
import time

from doclab.errors import DoclabError
from doclab.lab.daemons import Daemons
from doclab.lab.engines import Engine, resolve
from doclab.lab.folder import MAIN_DAEMON, POOL_PREFIX, DaemonHandle, LabError, LabFolder
from doclab.lab.network import FINGERPRINT_PROGRAMS, delete_netns, netns_names
from doclab.lab.pagefolders import remove_ended_page_folders
from doclab.lab.pool import RESTART, Pool, PoolState
from doclab.lab.processes import kill, lab_processes, processes_mentioning, running
from doclab.lab.rootfs import fetch_enabled
from doclab.lab.services import AuthzPlugin, Registry
from doclab.settings import ALPINE_ROOTFS, LAB_DIR, Settings


class Lab:
    """The facade: ``up``, ``down``, ``prune`` and ``missing`` over the lab's folder, registry, authorization plugin,
    daemons and pool, and the few of their calls that builds and tests make."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = LabFolder(settings.lab_dir)
        self.dir = self.folder.dir
        self.registry = Registry(self.folder, settings)
        self.registry_url = self.registry.url
        self.registry_log = self.registry.log
        self.authz = AuthzPlugin(self.folder)
        self.daemons = Daemons(self.folder, settings, self.registry.url, self.authz)
        self.pool = Pool(self.folder, settings, self.daemons, self.registry)

    # -- what builds and tests ask of it -----------------------------------------------------
    def daemon(self, name: str) -> DaemonHandle:
        return self.folder.handle(name)

    def daemon_up(self, name: str) -> bool:
        return self.daemons.up(name)

    def start_daemon(self, name: str, owned: bool = True) -> DaemonHandle:
        return self.daemons.start(name, owned)

    def stop_daemon(self, name: str) -> None:
        self.daemons.stop(name)

    def daemon_names(self) -> list[str]:
        return self.daemons.names()

    def lease_daemon(self, restarted: bool = False, fresh_after: bool = False):
        return self.pool.lease(restarted, fresh_after)

    def pool_state(self, name: str) -> PoolState:
        return self.pool.state(name)

    def registry_up(self) -> bool:
        return self.registry.up()

    def served_images(self) -> list[str]:
        return self.registry.served_images()

    def engine(self) -> Engine:
        return self.daemons.engine()

    def require_up(self) -> None:
        self.folder.require_up()

    # -- the whole lab ---------------------------------------------------------------------------
    def missing(self) -> list[str]:
        """What this machine lacks to run the lab, each with how to get it."""
        problems = []
        if os.geteuid() != 0:
            problems.append("root: dockerd needs it (run as root, or point DOCKER_HOST at a daemon you have)")
        # docker.io brings runc, which every engine's daemons run with (sid's needs a newer glibc than Debian 12's).
        for binary, package in (("dockerd", "docker.io"), ("runc", "runc"), ("docker-registry", "docker-registry"),
                                *FINGERPRINT_PROGRAMS):
            if shutil.which(binary) is None:
                problems.append(f"{binary}: apt-get install {package}")
        rootfs = self.settings.alpine_rootfs
        if rootfs is None and not fetch_enabled():  # else downloaded and checked by ``up`` (doclab.lab.rootfs)
            problems.append(
                f"{ALPINE_ROOTFS}: set it to the path of alpine-minirootfs-3.18.9-x86_64.tar.gz "
                "(in CI: ../shared/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz)"
            )
        elif rootfs is not None and not rootfs.is_file():
            problems.append(f"{ALPINE_ROOTFS}: {rootfs} does not exist")
        longest = self.folder.longest_socket_path()
        if longest > 107:
            problems.append(
                f"{LAB_DIR}: {self.dir} is too long: containerd's socket paths under it would be {longest} bytes, and "
                f"Unix sockets allow 107; choose a folder at most {len(str(self.dir)) - (longest - 107)} characters long"
            )
        return problems

    def up(self) -> DaemonHandle:
        problems = self.missing()
        if problems:
            raise LabError("the lab cannot start on this machine:\n  - " + "\n  - ".join(problems))
        engine = self.engine() if self.daemons.engine_file.is_file() else resolve(self.settings.engine)
        self.folder.claim()
        starting = not self.registry.up()
        try:
            self.daemons.engine_file.write_text(json.dumps(engine.to_json(), indent=2) + "\n")
            self.folder.data_in_memory()
            digests = self.registry.start_seeded(self.registry.seeded_images())
            (self.dir / "lab.json").write_text(json.dumps({"registry": self.registry.url, "images": digests}, indent=2) + "\n")
            main = self.daemons.start(MAIN_DAEMON)
            self.pool.start(self.pool.size)
        except BaseException:
            if starting:
                self.down()  # a lab that did not come up leaves nothing: no registry, daemon, mount or folder
            raise
        return main

    def orphans(self) -> list[str]:
        """Page daemons whose owner (the build or test process that started them) has ended, and pool
        daemons whose lease ended without giving them back empty."""
        names = self.daemons.names()
        abandoned = [name for name in names if name.startswith(POOL_PREFIX) and self.pool.state(name) is PoolState.ABANDONED]
        return sorted(abandoned + self.daemons.ownerless([name for name in names if not name.startswith(POOL_PREFIX)]))

    def prune(self) -> list[str]:
        """Stop the page daemons whose owner has ended, e.g. after Ctrl-C, and remove the folders of
        their page runs; what live runs use stays."""
        names = self.daemons.names()
        ownerless = self.daemons.ownerless([name for name in names if not name.startswith(POOL_PREFIX)])
        for name in ownerless:
            self.daemons.stop(name)
        return ownerless + self.pool.prune(names) + remove_ended_page_folders(running)

    def down(self) -> list[str]:
        """Stop every daemon and the registry; return the lab processes still alive (should be none)."""
        from concurrent.futures import ThreadPoolExecutor

        own = self.folder.release()
        names = self.daemons.names()
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as threads:  # each waits a second or so for dockerd
            list(threads.map(self.daemons.stop, names))
        self.registry.stop()
        self.authz.stop()
        # Forwarders of daemons an interrupted run left: the prefix holds a hash of this lab's own folder.
        for pid in processes_mentioning(self.folder.netns_prefix, whole=False, lab_programs_only=True):
            kill(pid, signal.SIGKILL)
        for netns in netns_names():
            if netns.startswith(self.folder.netns_prefix):
                delete_netns(netns)
        for pid in lab_processes(self.dir):
            kill(pid, signal.SIGKILL)
        if own:
            self.folder.remove_own_entries()
        return [f"{pid}" for pid in lab_processes(self.dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status", "prune", "check", "env"])
    args = parser.parse_args(argv)
    lab = Lab(Settings.from_env())
    try:
        if args.action == "up":
            started = time.monotonic()
            handle = lab.up()
            print(f"lab up in {time.monotonic() - started:.1f} s (folder {lab.dir}, {LAB_DIR} to move it)")
            print(f"registry: {lab.registry_url} (library/alpine:3.18 seeded), log {lab.registry_log}")
            print(f"page daemons: {lab.pool.size} ready ({POOL_PREFIX}0 … {POOL_PREFIX}{lab.pool.size - 1}; "
                  "more start when more pages run at once)")
            engine = lab.engine()
            versions = ", ".join(f"{package} {version}" for package, version in engine.versions.items())
            print(f"engine {engine.name} ({engine.image_store} image store): {versions}")
            if engine.note:
                print(f"  {engine.note}")
            print("point a shell at the lab's daemon, with the engine's own client, with:")
            print(f"  export DOCKER_HOST={handle.docker_host} DOCLAB_DOCKER_CLI={engine.client}")
        elif args.action == "env":
            lab.require_up()
            print(f"export DOCKER_HOST={lab.daemon(MAIN_DAEMON).docker_host} DOCLAB_DOCKER_CLI={lab.engine().client}")
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
            up_now = [name for name in lab.daemon_names() if lab.daemon_up(name)]
            print(f"registry {lab.registry_url}: {'up' if lab.registry_up() else 'down'}")
            for name in up_now:
                state = f" ({lab.pool_state(name)})" if name.startswith(POOL_PREFIX) else ""
                print(f"daemon {name}: up{state}, DOCKER_HOST={lab.daemon(name).docker_host}")
            for lease in sorted(lab.dir.glob(f"{POOL_PREFIX}*.lease")):
                state = lab.pool_state(lease.stem)
                if lease.stem not in up_now and state in (PoolState.ABANDONED, PoolState.STOPPED):
                    why = lease.read_text().strip().removeprefix(f"{RESTART}: ") if state is PoolState.STOPPED else state
                    print(f"daemon {lease.stem}: down ({why}; started again when next leased)")
            return 0 if up_now and lab.registry_up() else 1
    except (DoclabError, OSError) as error:  # OSError: a full disk, a folder gone read-only
        print(f"doclab.lab {args.action}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
