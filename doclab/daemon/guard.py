"""Whether a page may run live on a Docker daemon doclab does not own (an author's own Docker).

A page shows what a first-time reader sees: the base image pulled from the registry, listings
that hold only what the page made. On someone's own daemon that is true only when the daemon
holds nothing (no image, no container, no build cache) and the host ports the page publishes
are free. Otherwise the page shows its last clean record, labelled with the reason, and nothing
of the author's is removed, retagged, stopped or taken: doclab never empties a daemon it does
not own (``daemon.OWNED_LABEL``).
"""

from __future__ import annotations

import os
import re
import socket
import urllib.parse
from pathlib import Path

from doclab.daemon.info import DaemonFacts
from doclab.errors import DoclabError

#: ``-p 5000:5000``, ``--publish=127.0.0.1:8080:80``: the host port is the part before the container's.
_PUBLISH = re.compile(r"(?:^|\s)(?:-p|--publish)(?:\s+|=)(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]*\]):)?(?P<port>\d+):\d+")
#: What the daemon prints when a published port is held by something else.
PORT_TAKEN = re.compile(
    r"(?:Bind for |listen tcp[46]? )\S*?:(?P<port>\d+)(?: failed: port is already allocated|: bind: address already in use)"
)
HOW_TO_RUN_LIVE = (
    "for live outputs, point DOCKER_HOST at an empty daemon, or let doclab start its own as root "
    "(sudo scripts/serve, or sudo .venv/bin/python -m doclab.lab up and export the DOCKER_HOST it prints)"
)


class NotClean(DoclabError):
    """The daemon holds something that would change the page's outputs: the message says what (for the build
    log), ``public`` says it without the author's paths (for the page's stamp)."""

    def __init__(self, reason: str, public: str):
        super().__init__(reason)
        self.public = public


#: What the page's stamp says instead of the build log's reason, which may name the author's paths.
HELD_PUBLICLY = "the Docker this page was built with held images of its own, where a first pull cannot be shown"
PORT_PUBLICLY = "a port this page publishes was taken where it was built"


def on_this_machine(docker_host: str) -> bool:
    """Whether the daemon publishes its ports here (a Unix socket, or TCP on loopback), where they can be checked."""
    if docker_host.startswith("unix://"):
        return True
    hostname = urllib.parse.urlsplit(docker_host).hostname or ""
    return hostname == "localhost" or hostname.startswith("127.") or hostname == "::1"


def published_ports(sources: list[str]) -> list[int]:
    """The host ports the page's commands publish, in order, once each."""
    ports: list[int] = []
    for source in sources:
        for match in _PUBLISH.finditer(source):
            port = int(match["port"])
            if port not in ports:
                ports.append(port)
    return ports


def port_holder(port: int) -> str | None:
    """None when ``port`` is free here (for the page's ``localhost``), else who holds it, as far as /proc tells."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As docker-proxy binds: a port whose last connections linger in TIME_WAIT is free, a listened one is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            pass
        else:
            return None
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
        if sockets & _open_files(pid):
            try:
                return f"{Path(f'/proc/{pid}/comm').read_text().strip()} (pid {pid})"
            except OSError:
                continue
    return "another process"


def _open_files(pid: str) -> set[str]:
    """What the process's descriptors point at; those it closes meanwhile, or we may not read, are left out."""
    links = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return links
    for descriptor in descriptors:
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{descriptor}"))
        except OSError:
            continue
    return links


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def check_clean(facts: DaemonFacts, build_cache_entries: int, ports: list[int], local: bool) -> None:
    """Raise NotClean, saying why in one line, unless the page can run live on this daemon."""
    if facts.owned:
        return
    held = [f"{count} {what}{'s' if count != 1 else ''}" for count, what in (
        (facts.images, "image"), (facts.containers, "container"), (build_cache_entries, "build-cache entry"))
        if count]
    if held:
        held_text = ", ".join(held).replace("entrys", "entries")
        raise NotClean(f"your Docker ({facts.host}) already holds {held_text} of its own, so a build there would not "
                       "show the first pull a reader sees, and doclab never removes what is not its own", HELD_PUBLICLY)
    for port in ports if local else []:
        holder = port_holder(port)
        if holder:
            raise NotClean(f"port {port}, which this page publishes, is taken on this machine by {holder}", PORT_PUBLICLY)


def port_taken_hint(output: str) -> str:
    """A failure note for a block whose published port was taken: which, by what, what to do."""
    match = PORT_TAKEN.search(output)
    if not match:
        return ""
    port = int(match["port"])
    holder = port_holder(port) or "something that has since let it go"
    return (
        f"\n--- note ---\nPort {port} is taken on this machine (by {holder}). Stop what holds it; or publish another "
        f"host port (-p {port + 1}:{port}, then use localhost:{port + 1}); or build with doclab's own daemon, where each "
        "page has a network namespace and every port is free: sudo scripts/serve"
    )
