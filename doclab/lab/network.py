"""The lab's networks: a bridge for the main daemon, a network namespace (and a host name) per page daemon,
and the fingerprint of a namespace that tells whether a page changed it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from doclab.lab.folder import LabError

#: The host name page daemons and page shells have: the machine's own never reaches an output.
PAGE_HOSTNAME = "docker-lesson"
NETNS_FOLDER = Path("/var/run/netns")


def bridge_name(lab_dir: Path, daemon_name: str) -> str:
    """A Linux bridge name for one daemon of one lab (at most 15 characters)."""
    return "dlab" + hashlib.sha1(f"{lab_dir.resolve()}/{daemon_name}".encode()).hexdigest()[:10]


def create_bridge(lab_dir: Path, daemon_name: str) -> str:
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


def delete_bridge(lab_dir: Path, daemon_name: str) -> None:
    subprocess.run(["ip", "link", "delete", bridge_name(lab_dir, daemon_name)], capture_output=True)


def create_netns(name: str) -> None:
    if name in netns_names():
        delete_netns(name)
    for command in (["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise LabError(f"could not set up network namespace {name}: {' '.join(command)}: {done.stderr.strip()}")


def delete_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def netns_names() -> list[str]:
    return sorted(path.name for path in NETNS_FOLDER.iterdir()) if NETNS_FOLDER.is_dir() else []


def netns_pids(netns: str) -> list[int]:
    if netns not in netns_names():
        return []
    listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout
    return [int(pid) for pid in listed.split() if pid.isdigit() and int(pid) != os.getpid()]


def netns_command(netns: str) -> list[str]:
    """The prefix that runs a command in ``netns``, under the host name pages show (``PAGE_HOSTNAME``).

    A host name of its own (a UTS namespace) keeps the machine's name out of every output, so the
    scrubber never has to guess where it appears; nsenter, not `ip netns exec`, which remounts /sys.
    """
    return ["unshare", "--uts", "--", *set_hostname_then(), "nsenter", f"--net={NETNS_FOLDER}/{netns}", "--"]


def set_hostname_then() -> list[str]:
    """``sh -c`` that sets the (namespaced) host name, then runs the rest of the command line."""
    return ["sh", "-c", 'hostname "$0" && exec "$@"', PAGE_HOSTNAME]


#: Programs the fingerprint reads with, each with its Debian package: a missing one fails the lab's check by name.
FINGERPRINT_PROGRAMS = (("nft", "nftables"), ("iptables-legacy-save", "iptables"))

#: What a page's root shell, or a container on the daemon's network, could change in a page daemon's
#: namespace and the next page would inherit. Run by bash with errexit and pipefail: a reader that fails
#: fails the fingerprint, so a missing program never reads as an empty firewall.
_NETNS_STATE = (
    "set -eo pipefail; "
    'ip -o link | sed "s/^[0-9]*: //"; ip -o addr; ip route show table all; ip -6 route show table all; '
    "ip rule; ip -6 rule; ip neigh show nud permanent; tc qdisc show; ip xfrm policy; ip xfrm state; "
    # Every readable sysctl of the namespace (stable_secret reads as an I/O error until set; write-only ones are not readable).
    'cd /proc/sys/net && find . -type f -perm -u=r ! -name stable_secret -print0 | sort -z | xargs -0 grep -H ""; '
    # Firewall rules, nf_tables (where Debian's iptables writes) and legacy, without their packet counters.
    'nft list ruleset | sed -E "s/counter packets [0-9]+ bytes [0-9]+/counter/"; '
    '{ iptables-legacy-save; ip6tables-legacy-save; } | { grep -v "^#" || [ $? = 1 ]; } | sed -E "s/\\[[0-9]+:[0-9]+\\]//"'
)
#: On any daemon, the bridge takes a link-local IPv6 address (and its multicast route) the first time a container
#: joins it, and its carrier comes and goes with containers (and lags behind their removal): not compared.
_CARRIER = re.compile(r"NO-CARRIER,|,LOWER_UP| state \S+| (tentative|linkdown)\b")


def netns_fingerprint(netns: str) -> str:
    done = subprocess.run(["nsenter", f"--net={NETNS_FOLDER}/{netns}", "--", "bash", "-c", _NETNS_STATE],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0 or not done.stdout:
        raise LabError(f"could not read the state of network namespace {netns}: {done.stderr.strip()}")
    kept = [_CARRIER.sub("", line) for line in done.stdout.splitlines() if "fe80:" not in line and "ff00::/8" not in line]
    return "\n".join(kept) + "\n"
