"""Stage 1, a Docker daemon as doclab reaches it, one module a concern: where it is (``address``), the client that
talks to it (``client``), the Engine API itself (``api``), what it says about itself (``info``), removing what a
page made (``cleanup``), and whether a daemon that is not doclab's own is clean enough to run a page (``guard``).
Imports only ``doclab.errors`` and ``doclab.settings`` (and the docker SDK). Its face, below, hands the names on:
``from doclab import daemon`` then ``daemon.daemon_facts(…)``."""

from doclab.daemon.address import DEFAULT_HOST, DockerSetupError, resolve_docker_host
from doclab.daemon.api import EngineAPIError, connect, connected, engine_get, ping
from doclab.daemon.cleanup import DEFAULT_NETWORKS, DaemonSnapshot, empty_daemon, made_by, names_built, remove_added, remove_made
from doclab.daemon.client import ClientFacts, client_facts, client_plugins, client_prefix
from doclab.daemon.info import (
    OWNED_LABEL, DaemonFacts, base_images, build_cache_entries, daemon_facts, facts_where, image_exists, image_store,
    local_digest, registry_digest,
)

__all__ = [
    "DEFAULT_HOST", "DockerSetupError", "resolve_docker_host", "EngineAPIError", "connect", "connected", "engine_get",
    "ping", "DEFAULT_NETWORKS", "DaemonSnapshot", "empty_daemon", "made_by", "names_built", "remove_added", "remove_made", "ClientFacts",
    "client_facts", "client_plugins", "client_prefix", "OWNED_LABEL", "DaemonFacts", "base_images",
    "build_cache_entries", "daemon_facts", "facts_where", "image_exists", "image_store", "local_digest", "registry_digest",
]
