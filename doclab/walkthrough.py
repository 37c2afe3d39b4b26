"""Explain a captured ``docker build`` output line by line: which part (client, daemon, registry)
printed or caused it. Rendered for ``<!-- walkthrough: id -->``; the lines quoted are the real ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

CLIENT, DAEMON, REGISTRY = "client", "daemon", "registry"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    actors: tuple[str, ...]
    meaning: str


def _rule(pattern: str, actors: tuple[str, ...], meaning: str) -> Rule:
    return Rule(re.compile(pattern), actors, meaning)


RULES: tuple[Rule, ...] = (
    _rule(r"^DEPRECATED: The legacy builder", (CLIENT,),
          "The client has no BuildKit plugin (buildx), so it asks the daemon's classic builder and warns that it is deprecated."),
    _rule(r"^\s+(Install the buildx component|https://docs\.docker\.com/go/buildx)", (CLIENT,),
          "The rest of the client's deprecation notice."),
    _rule(r"^Sending build context to Docker daemon", (CLIENT, DAEMON),
          "The client packs the build context (the folder `.`, here just the Dockerfile) into a tar and uploads it to the daemon through the Engine API."),
    _rule(r"^Step \d+/\d+ : FROM ", (DAEMON,),
          "The daemon reads the Dockerfile it received and runs its instruction: start from the base image."),
    _rule(r"^Step \d+/\d+ : ", (DAEMON,), "The daemon runs the next instruction of the Dockerfile."),
    _rule(r"^\S+: Pulling from ", (DAEMON, REGISTRY),
          "The base image is not in the daemon's image store, so the daemon asks the registry for it (official images live under `library/`)."),
    _rule(r"^[0-9a-f]{12}: (Pulling fs layer|Waiting)", (DAEMON, REGISTRY),
          "The daemon starts fetching a layer of the image from the registry."),
    _rule(r"^[0-9a-f]{12}: (Downloading|Verifying Checksum|Download complete)", (REGISTRY, DAEMON),
          "The registry sends the layer (a compressed tar of the root filesystem); the daemon checks its SHA-256."),
    _rule(r"^[0-9a-f]{12}: (Extracting|Pull complete)", (DAEMON,),
          "The daemon unpacks the layer into its storage driver."),
    _rule(r"^[0-9a-f]{12}: Already exists", (DAEMON,), "The daemon already has this layer and does not download it."),
    _rule(r"^Digest: sha256:", (REGISTRY,),
          "The manifest digest the registry served: the content address of exactly this version of the image."),
    _rule(r"^Status: Downloaded newer image for ", (DAEMON,), "The daemon stored the pulled image under its tag."),
    _rule(r"^Status: Image is up to date for ", (DAEMON, REGISTRY),
          "The daemon asked the registry and already had the image it serves."),
    _rule(r"^ ---> Running in ", (DAEMON,), "The daemon starts a temporary container to run the instruction."),
    _rule(r"^ ---> Using cache", (DAEMON,), "The daemon reuses the result of an earlier identical step."),
    _rule(r"^ ---> [0-9a-f]{12}$", (DAEMON,), "The ID of the image this step left behind."),
    _rule(r"^Removing intermediate container ", (DAEMON,), "The daemon removes the step's temporary container."),
    _rule(r"^Successfully built ", (DAEMON,), "The daemon finished the build: the ID of the new image."),
    _rule(r"^Successfully tagged ", (DAEMON,),
          "The daemon names the image with the tag the client passed with `-t` (`:latest` when no tag is given)."),
    _rule(r"^#\d+ \[internal\] load build definition", (CLIENT, DAEMON), "BuildKit: the client sends the Dockerfile to the daemon."),
    _rule(r"^#\d+ \[internal\] load \.dockerignore", (CLIENT, DAEMON), "BuildKit: the client sends the `.dockerignore` rules."),
    _rule(r"^#\d+ \[internal\] load build context", (CLIENT, DAEMON), "BuildKit: the client sends only the files the build needs."),
    _rule(r"^#\d+ transferring (dockerfile|context)", (CLIENT, DAEMON), "BuildKit: bytes sent from the client to the daemon."),
    _rule(r"^#\d+ \[internal\] load metadata for ", (DAEMON, REGISTRY), "BuildKit: the daemon asks the registry which manifest the tag points to."),
    _rule(r"^#\d+ \[\d+/\d+\] FROM ", (DAEMON,), "BuildKit: the daemon starts from the base image."),
    _rule(r"^#\d+ resolve ", (DAEMON, REGISTRY), "BuildKit: the daemon resolves the tag to a digest at the registry."),
    _rule(r"^#\d+ sha256:[0-9a-f]{64} \S+ / \S+", (REGISTRY, DAEMON), "BuildKit: a layer downloaded from the registry."),
    _rule(r"^#\d+ extracting sha256:", (DAEMON,), "BuildKit: the daemon unpacks the layer."),
    _rule(r"^#\d+ exporting to image", (DAEMON,), "BuildKit: the daemon turns the result into an image."),
    _rule(r"^#\d+ (exporting layers|writing image)", (DAEMON,), "BuildKit: the daemon writes the image and its ID."),
    _rule(r"^#\d+ naming to ", (DAEMON,), "BuildKit: the daemon tags the image with the name from `-t`."),
)
#: Lines that carry no step of their own (BuildKit's step digests, timings and blank lines).
_QUIET = re.compile(r"^(\s*|#\d+ (sha256:[0-9a-f]{64}|DONE .*|CACHED))$")


@dataclass(frozen=True)
class Explained:
    line: str
    actors: tuple[str, ...]
    meaning: str


def explain(output: str) -> tuple[list[Explained], list[str]]:
    """Return the explained lines and the lines no rule knows (which should be none)."""
    explained, unknown = [], []
    for line in output.splitlines():
        if _QUIET.match(line):
            continue
        rule = next((rule for rule in RULES if rule.pattern.search(line)), None)
        if rule is None:
            unknown.append(line)
        else:
            explained.append(Explained(line, rule.actors, rule.meaning))
    return explained, unknown


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.strip()}{pad}{fence}".replace("|", "\\|")


def render_table(output: str) -> str:
    explained, unknown = explain(output)
    rows = ["| Line of the real output | Who | What happens |", "| --- | --- | --- |"]
    for item in explained:
        who = " → ".join(item.actors)
        rows.append(f"| {_code(item.line)} | {who} | {item.meaning} |")
    for line in unknown:
        rows.append(f"| {_code(line)} | ? | Not explained yet. |")
    return "\n".join(rows)
