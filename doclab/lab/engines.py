"""The Docker Engines the lab runs: today's Docker from Debian's archive, fetched into a cache and never installed.

Each engine is a name the lab and the tests accept (``DOCLAB_ENGINE``, default ``28.5-containerd``):

- ``28.5-containerd``: sid's docker.io, docker-cli, docker-buildx and containerd, with the containerd image store
  (``--feature containerd-snapshotter=true``): what Docker Desktop and Engine 29 print;
- ``28.5-overlay2``: the same packages on the overlay2 graph driver: the hosted runner and every upgraded install;
- ``26.1``: Debian 13's (trixie) packages;
- ``20.10``: Debian 12's docker.io, the machine's own package (``/usr/sbin/dockerd``, ``/usr/bin/docker``).

The packages are pinned, each with its SHA-256, in ``engines.toml`` beside this file. ``apt-get download`` runs with
a sources list and state folders of the cache's own (the machine's apt configuration and packages are untouched;
apt checks the archive's signed indexes), each ``.deb`` is checked against its pin, and ``dpkg-deb -x`` extracts it
into a folder of the cache. runc comes from the machine (bookworm's ``runc``, a dependency of ``docker.io``): sid's
needs a newer glibc. When Debian has moved a pinned version out of its archive, the suite's current version of the
same upstream line is taken instead and the engine says so; a machine that cannot reach the archive gets one line
saying so and runs ``20.10``.

    python -m doclab.lab.engines fetch [NAME …]   # fetch, check and extract (prints each engine's versions)
    python -m doclab.lab.engines pin              # pin every package to the archive's current version, with checksums
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from doclab.errors import DoclabError
from doclab.lab.seed import sha256_file
from doclab.settings import ENGINE
#: Where fetched packages and their extracted trees are kept: outside the checkout, shared by every clone.
ENGINE_CACHE = "DOCLAB_ENGINE_CACHE"
PINS = Path(__file__).with_name("engines.toml")
#: The machine's own Engine: Debian 12's docker.io, installed by the project's install steps.
MACHINE_ENGINE = "20.10"
_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class EngineError(DoclabError, RuntimeError):
    """An engine that cannot be had: the message names it, what failed and what to do."""


class ArchiveUnreachable(EngineError):
    """Debian's archive did not answer: its indexes could not be fetched."""


@dataclass(frozen=True)
class Engine:
    """A Docker Engine's programs: where they are, which versions, and which image store its daemons use."""

    name: str
    image_store: str
    dockerd: str
    client: str
    #: Folders put first on dockerd's PATH (containerd, its shim, docker-proxy), empty for the machine's own engine.
    path: tuple[str, ...] = ()
    #: Package → version actually extracted (or installed, for the machine's engine).
    versions: dict[str, str] = field(default_factory=dict)
    #: What differs from the pins (a version Debian replaced), said wherever the engine is named.
    note: str = ""

    def dockerd_options(self) -> list[str]:
        return ["--feature", "containerd-snapshotter=true"] if self.image_store == "containerd" else []

    def environment(self, environ: dict[str, str]) -> dict[str, str]:
        """dockerd's environment: the engine's own containerd, shim and docker-proxy first on PATH."""
        if not self.path:
            return dict(environ)
        return {**environ, "PATH": os.pathsep.join([*self.path, environ.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin"])}

    def to_json(self) -> dict:
        return {"name": self.name, "image_store": self.image_store, "dockerd": self.dockerd, "client": self.client,
                "path": list(self.path), "versions": self.versions, "note": self.note}

    @classmethod
    def from_json(cls, data: dict) -> "Engine":
        return cls(data["name"], data["image_store"], data["dockerd"], data["client"], tuple(data["path"]),
                   dict(data["versions"]), data.get("note", ""))


def pins(path: Path = PINS) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EngineError(f"{path}: cannot read the engines' pins ({error}); restore it with git, or run "
                          "`python -m doclab.lab.engines pin`", file=str(path)) from error


def engine_names(path: Path = PINS) -> list[str]:
    return [*pins(path)["engines"], MACHINE_ENGINE]


def default_cache() -> Path:
    configured = os.environ.get(ENGINE_CACHE)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doclab" / "engines"


def machine_engine() -> Engine:
    """Debian 12's docker.io, as installed on the machine."""
    dockerd, client = shutil.which("dockerd"), shutil.which("docker", path="/usr/bin")
    if dockerd is None or client is None:
        raise EngineError("engine 20.10 is the machine's own docker.io, which is not installed: apt-get install docker.io")
    versions = {}
    for package in ("docker.io", "containerd", "runc"):
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
        if done.returncode != 0:
            raise EngineError(f"engine 20.10: dpkg-query cannot tell the version of {package}: {done.stderr.strip()}")
        versions[package] = done.stdout
    return Engine(MACHINE_ENGINE, "overlay2", dockerd, client, (), versions)


def upstream_line(version: str) -> str:
    """``28.5.2+dfsg4-5`` → ``28.5``: the release line a replacement version must keep."""
    match = re.match(r"(?:\d+:)?(\d+\.\d+)\.", version)
    if match is None:
        raise EngineError(f"{version}: not a Debian version of the form MAJOR.MINOR.PATCH…")
    return match[1]


class Archive:
    """Debian's archive as seen through a sources list and state folders of the cache's own."""

    def __init__(self, cache: Path, url: str, suite: str):
        self.folder = cache / "apt" / suite
        self.suite = suite
        self.sources = self.folder / "sources.list"
        self.line = f"deb [signed-by={_KEYRING}] {url} {suite} main\n"

    def options(self) -> list[str]:
        return ["-o", f"Dir::Etc::sourcelist={self.sources}", "-o", "Dir::Etc::sourceparts=/dev/null",
                "-o", f"Dir::State::Lists={self.folder / 'lists'}", "-o", f"Dir::Cache={self.folder / 'cache'}",
                "-o", "APT::Sandbox::User=root", "-q"]

    def update(self) -> None:
        for folder in ("lists/partial", "cache/archives/partial"):
            (self.folder / folder).mkdir(parents=True, exist_ok=True)
        self.sources.write_text(self.line)
        # apt-get update ends 0 when an index could not be fetched, with a warning: that warning is the answer.
        warned = self._apt("apt-get", "update", stderr_too=True)
        failed = [line for line in warned.splitlines() if "Failed to fetch" in line or line.startswith("E: ")]
        if failed:
            raise ArchiveUnreachable(f"Debian's archive ({self.line.split()[2]}) did not answer for {self.suite}: "
                                     f"{failed[0].strip()[-300:]}")

    def candidates(self, package: str) -> list[str]:
        """The versions of ``package`` this suite offers now."""
        shown = self._apt("apt-cache", "madison", package)
        return [parts[1].strip() for parts in (line.split("|") for line in shown.splitlines()) if len(parts) >= 3]

    def sha256(self, package: str, version: str) -> str:
        shown = self._apt("apt-cache", "show", f"{package}={version}")
        match = re.search(r"^SHA256: ([0-9a-f]{64})$", shown, re.MULTILINE)
        if match is None:
            raise EngineError(f"Debian {self.suite}: the index names no SHA-256 for {package} {version}")
        return match[1]

    def download(self, package: str, version: str, into: Path) -> Path:
        into.mkdir(parents=True, exist_ok=True)
        self._apt("apt-get", "download", f"{package}={version}", cwd=into)
        found = sorted(into.glob(f"{package}_{version.split(':')[-1]}_*.deb"))
        if not found:
            raise EngineError(f"apt-get download {package}={version} from Debian {self.suite} wrote no .deb into {into}")
        return found[0]

    def _apt(self, program: str, *arguments: str, cwd: Path | None = None, stderr_too: bool = False) -> str:
        command = [program, *self.options(), *arguments]
        try:
            done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)
        except FileNotFoundError as error:
            raise EngineError(f"{program} is not on PATH: the lab fetches Debian's packages with apt") from error
        if done.returncode != 0:
            failure = ArchiveUnreachable if arguments[0] == "update" else EngineError
            raise failure(f"{' '.join(command)} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}",
                          reproduce=" ".join(command))
        return done.stdout + (done.stderr if stderr_too else "")


def fetch(name: str, cache: Path | None = None, pinned: dict | None = None) -> Engine:
    """The engine ``name``, its packages fetched, checked and extracted into ``cache`` once."""
    if name == MACHINE_ENGINE:
        return machine_engine()
    pinned = pinned or pins()
    engines = pinned["engines"]
    if name not in engines:
        raise EngineError(f"{ENGINE}={name}: no such engine; choose one of {', '.join(engine_names())}")
    spec = engines[name]
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs fetching at once: one fetches, the other finds it done
        return _fetch_locked(name, spec, pinned["archive"], cache)


def _fetch_locked(name: str, spec: dict, url: str, cache: Path) -> Engine:
    packages = {package["name"]: package for package in spec["packages"]}
    tree = cache / "trees" / hashlib.sha256(repr(sorted((p["name"], p["version"], p["sha256"])
                                                        for p in packages.values())).encode()).hexdigest()[:16]
    done_marker = tree / ".complete"
    note = ""
    if not done_marker.is_file():
        archive = Archive(cache, url, spec["suite"])
        archive.update()
        replaced = []
        debs = []
        for package in packages.values():
            version, sha256 = package["version"], package["sha256"]
            offered = archive.candidates(package["name"])
            if version not in offered:
                same_line = [v for v in offered if upstream_line(v) == upstream_line(version)]
                if not same_line:
                    raise EngineError(
                        f"engine {name}: Debian {spec['suite']} no longer has {package['name']} {version} nor any "
                        f"{upstream_line(version)}.x (it offers {', '.join(offered) or 'none'}); choose newer pins "
                        "with `python -m doclab.lab.engines pin`")
                replaced.append(f"{package['name']} {version} → {same_line[0]}")
                version, sha256 = same_line[0], archive.sha256(package["name"], same_line[0])
            deb = archive.download(package["name"], version, cache / "debs")
            if sha256_file(deb) != sha256:
                deb.unlink()
                raise EngineError(f"engine {name}: {deb.name} does not match its SHA-256 {sha256} "
                                  f"(pinned in {PINS}); it was removed, fetch again")
            debs.append((package["name"], version, deb))
        if replaced:
            note = (f"Debian {spec['suite']} replaced pinned versions ({'; '.join(replaced)}): the same lines' current "
                    "versions run; `python -m doclab.lab.engines pin` pins them")
        partial = tree.with_name(tree.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for _, _, deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True, capture_output=True)
        (partial / ".versions").write_text("".join(f"{p} {v}\n" for p, v, _ in debs) + (f"#note {note}\n" if note else ""))
        (partial / ".complete").write_text("")
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
    versions, note = {}, ""
    for line in (tree / ".versions").read_text().splitlines():
        if line.startswith("#note "):
            note = line.removeprefix("#note ")
        else:
            package, version = line.split(" ", 1)
            versions[package] = version
    bins = (str(tree / "usr" / "bin"), str(tree / "usr" / "sbin"))
    return Engine(name, spec["image_store"], str(tree / "usr" / "sbin" / "dockerd"), str(tree / "usr" / "bin" / "docker"),
                  bins, versions, note)


def resolve(name: str, cache: Path | None = None, say=print, pinned: dict | None = None,
            ci: bool | None = None) -> Engine:
    """The engine ``name`` (``Settings.engine``). Where Debian's archive cannot be reached and the engine was never
    fetched, one line says so and the machine's 20.10 runs (under CI=true that is a failure)."""
    try:
        return fetch(name, cache, pinned)
    except ArchiveUnreachable as error:
        if os.environ.get("CI") == "true" if ci is None else ci:
            raise
        say(f"engine {name} cannot be fetched from Debian's archive ({str(error).splitlines()[0][-200:]}): "
            f"the lab runs engine {MACHINE_ENGINE}, the machine's own docker.io")
        return machine_engine()


def refresh_pins(cache: Path | None = None, path: Path = PINS) -> str:
    """Every package of every engine pinned to its suite's current version, with its SHA-256; the engines kept."""
    pinned = pins(path)
    cache = cache or default_cache()
    archives: dict[str, Archive] = {}
    lines = [
        "# The Docker Engines the lab runs (doclab/lab/engines.py): Debian packages, each pinned to a version and its",
        "# SHA-256. generated by `python -m doclab.lab.engines pin` (the archive's current versions); edit the engines'",
        "# names, suites and image stores here, never a version or checksum by hand.",
        f'archive = "{pinned["archive"]}"',
    ]
    for name, spec in pinned["engines"].items():
        archive = archives.get(spec["suite"])
        if archive is None:
            archive = archives[spec["suite"]] = Archive(cache, pinned["archive"], spec["suite"])
            archive.update()
        lines += ["", f'[engines."{name}"]', f'suite = "{spec["suite"]}"', f'image_store = "{spec["image_store"]}"',
                  "packages = ["]
        for package in spec["packages"]:
            offered = archive.candidates(package["name"])
            if not offered:
                raise EngineError(f"engine {name}: Debian {spec['suite']} has no {package['name']}")
            lines.append(f'  {{ name = "{package["name"]}", version = "{offered[0]}", '
                         f'sha256 = "{archive.sha256(package["name"], offered[0])}" }},')
        lines.append("]")
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.lab.engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["fetch", "pin", "list"])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.action == "pin":
            refresh_pins()
            print(f"{PINS}: every package pinned to Debian's current version")
        elif args.action == "list":
            print("\n".join(engine_names()))
        else:
            for name in args.names or engine_names():
                engine = fetch(name)
                versions = ", ".join(f"{package} {version}" for package, version in engine.versions.items())
                print(f"{name}: {versions}" + (f" ({engine.note})" if engine.note else ""))
    except DoclabError as error:
        print(f"doclab.lab.engines {args.action}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
