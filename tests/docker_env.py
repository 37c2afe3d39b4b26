"""How tests reach Docker: always through the lab (a real registry and real daemons).

Without it, a test that needs Docker skips with the reason shown (``-rxs``) on a laptop, and
fails under ``CI=true``: in CI a missing daemon is a broken build, never a silent skip.
"""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager

import pytest

from doclab.capture.runner import reads_event_history
from doclab.lab.control import Lab
from doclab.lab.folder import MAIN_DAEMON
from doclab.settings import Settings

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
#: Ends every reason a test that needs the lab skips with: the suite's summary counts them by it.
HOW_TO_START = (
    "start the lab first (it needs root): `sudo scripts/test` does it all, or by hand "
    "`sudo DOCLAB_ALPINE_ROOTFS=../shared/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz .venv/bin/python -m doclab.lab up`"
)


def unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this is a failure, not a skip); {HOW_TO_START}", pytrace=False)
    pytest.skip(f"{message}; {HOW_TO_START}")


def running_lab() -> Lab:
    """The lab started by ``python -m doclab.lab up``; skip or fail (CI) when it is not up."""
    lab = Lab(Settings.from_env())
    if not lab.registry_up():
        unavailable(f"no lab registry answers on {lab.registry_url}")
    if not lab.daemon_up(MAIN_DAEMON):
        unavailable(f"the lab daemon '{MAIN_DAEMON}' does not answer at {lab.daemon(MAIN_DAEMON).docker_host}")
    if os.geteuid() != 0:
        unavailable("starting a fresh lab daemon for a test needs root")
    return lab


@contextmanager
def page_daemon(page):
    """A pooled lab daemon of the page's own, empty, as the site build leases one (given back emptied)."""
    with running_lab().lease_daemon(restarted=reads_event_history(page)) as handle:
        yield handle


@contextmanager
def fresh_daemon(purpose: str):
    """A new lab daemon with an empty image store, stopped (and its data removed) afterwards: for tests
    that stop, kill or change a daemon beyond what a page does."""
    lab = running_lab()
    name = re.sub(r"[^a-z0-9-]", "-", purpose.lower())[:24] + "-" + uuid.uuid4().hex[:6]
    handle = lab.start_daemon(name)
    try:
        yield handle
    finally:
        lab.stop_daemon(name)
