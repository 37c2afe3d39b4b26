"""The lab's two services beside its daemons: the Distribution registry they pull through, seeded from files on
this machine, and the authorization plugin every lab daemon asks before a page's request (``doclab.lab.authz``)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import requests

from doclab.daemon.guard import port_holder
from doclab.lab import authz
from doclab.lab.folder import LabError, LabFolder
from doclab.lab.processes import spawn, terminate, wait_until
from doclab.lab.rootfs import ensure_rootfs
from doclab.lab.seed import push_alpine, push_registry_image, served_images, verify_checksum
from doclab.settings import REGISTRY_PORT, Settings


class Registry:
    def __init__(self, folder: LabFolder, settings: Settings):
        self.folder = folder
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.registry_port}"
        self.log = folder.dir / "registry.log"
        self.config = folder.dir / "registry.yml"
        self.pidfile = folder.dir / "registry.pid"

    def up(self) -> bool:
        try:
            return requests.get(f"{self.url}/v2/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start(self, writable: bool = False) -> None:
        """Serve the registry; read-only unless ``writable`` (the seeding): a page may pull from it, never push to it,
        so no page can change what the next one pulls."""
        if self.up():
            return
        self.config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.folder.dir / 'registry-data'}\n  delete:\n    enabled: true\n"
            f"  maintenance:\n    readonly:\n      enabled: {'false' if writable else 'true'}\n"
            f"http:\n  addr: 127.0.0.1:{self.settings.registry_port}\n"
        )
        holder = port_holder(self.settings.registry_port)
        if holder:
            raise LabError(f"port {self.settings.registry_port}, where the lab's registry listens, is taken by {holder}: "
                           f"choose another with {REGISTRY_PORT}=N (the lab's daemons follow it), or stop what holds it")
        pid = spawn(["docker-registry", "serve", str(self.config)], self.log, self.pidfile)
        wait_until(self.up, 30, f"the registry on {self.url}", self.log, pid)

    def stop(self) -> None:
        terminate(self.pidfile, names=str(self.config))

    def start_seeded(self, seeded: dict[str, str] | None) -> dict[str, str]:
        """The registry up, read-only, serving the images pages use; their manifest digests. ``seeded``: the digests
        ``lab up`` recorded before: a registry that serves them is left as it runs, any other is seeded again."""
        if seeded and self.up() and self.serves(seeded):
            return seeded
        self.stop()
        self.start(writable=True)
        try:
            digests = self.seed()
        finally:
            self.stop()
        self.start()
        return digests

    def seeded_images(self) -> dict[str, str] | None:
        """The images ``lab up`` seeded the registry with and their digests (lab.json), if it did."""
        try:
            return json.loads((self.folder.dir / "lab.json").read_text())["images"]
        except (OSError, ValueError, KeyError):
            return None

    def require_seeded(self) -> None:
        """Raise LabError unless the registry serves what it was seeded with (no page can push to it: something else did)."""
        seeded = self.seeded_images()
        if seeded and not self.serves(seeded):
            raise LabError(f"the lab's registry on {self.url} no longer serves the images it was seeded with "
                           f"({', '.join(f'{image} {digest[:19]}…' for image, digest in seeded.items())}); run python "
                           "-m doclab.lab down, then up, to seed it again")

    def serves(self, digests: dict[str, str]) -> bool:
        """Whether each image is served with the digest it was seeded with (a changed one was pushed by someone else)."""
        for image, digest in digests.items():
            repository, tag = image.split(":")
            try:
                answer = requests.head(f"{self.url}/v2/library/{repository}/manifests/{tag}", timeout=5,
                                       headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            except requests.RequestException:
                return False
            if answer.headers.get("Docker-Content-Digest") != digest:
                return False
        return True

    def seed(self) -> dict[str, str]:
        """Push the images pages use; their manifest digests."""
        rootfs = ensure_rootfs(self.settings)
        sums = rootfs.parent / "SHA256SUMS"
        if sums.is_file():
            verify_checksum(rootfs, sums)
        alpine = push_alpine(rootfs, self.url)
        registry = push_registry_image(Path(shutil.which("docker-registry")), self.url)
        return {"alpine:3.18": alpine.manifest_digest, "registry:2": registry.manifest_digest}

    def served_images(self) -> list[str]:
        return served_images(self.url)


class AuthzPlugin:
    """What a page's commands may not do to the machine: every lab daemon asks it first."""

    def __init__(self, folder: LabFolder):
        self.folder = folder
        #: The name the lab's daemons know it by, one per lab folder.
        self.name = f"{folder.netns_prefix}authz"
        # Where dockerd discovers plugins by name; the lab's one file outside its folder, removed on down.
        self.socket = Path("/run/docker/plugins") / f"{self.name}.sock"
        self.pidfile = folder.dir / "authz.pid"

    def up(self) -> bool:
        return authz.answers(self.socket)

    def start(self) -> None:
        if self.up():
            return
        log = self.folder.dir / "authz.log"
        pid = spawn([sys.executable, "-m", "doclab.lab.authz", str(self.socket)], log, self.pidfile)
        wait_until(self.up, 10, f"the authorization plugin on {self.socket}", log, pid)

    def stop(self) -> None:
        terminate(self.pidfile, names=str(self.socket))
        if not self.up():
            self.socket.unlink(missing_ok=True)
