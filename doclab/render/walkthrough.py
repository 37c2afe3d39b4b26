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


_LAYER = r"^[0-9a-f]{12}: "
_STEP = r"^#\d+ "
RULES: tuple[Rule, ...] = (
    # A client newer than 23 without the buildx plugin, talking to an older Engine's classic builder.
    _rule(r"^DEPRECATED: The legacy builder", (CLIENT,),
          "The client uses the daemon's classic builder (it has no BuildKit plugin, buildx, or DOCKER_BUILDKIT=0 asks for it) "
          "and warns that this builder will be removed."),
    _rule(r"^\s+Install the buildx component", (CLIENT,),
          "The client says how to get BuildKit: install buildx, the client plugin that drives the daemon's BuildKit."),
    _rule(r"^\s+https://docs\.docker\.com/go/buildx", (CLIENT,), "Where the client points you to install buildx."),
    _rule(r"^\s+BuildKit is currently disabled|^\s+environment-variable\.$", (CLIENT,),
          "DOCKER_BUILDKIT=0 asked for the classic builder; the client says how to have BuildKit again."),
    # The classic builder (DOCKER_BUILDKIT=0, or a 20.10 client's default).
    _rule(r"^Sending build context to Docker daemon", (CLIENT, DAEMON),
          "The client packs the build context (the folder `.`, here just the Dockerfile) into a tar and uploads it to the daemon through the Engine API."),
    _rule(r"^Step \d+/\d+ : FROM ", (DAEMON, REGISTRY),
          "The daemon reads the Dockerfile from the uploaded context and runs its first instruction: start from the base "
          "image, which it fetches from the registry when it does not have it."),
    _rule(r"^Step \d+/\d+ : ", (DAEMON,), "The daemon runs the next instruction of the Dockerfile."),
    _rule(r"^\S+: Pulling from ", (DAEMON, REGISTRY),
          "The base image is not in the daemon's image store, so the daemon asks the registry for the tag's manifest (official images live under `library/`)."),
    _rule(_LAYER + r"Pulling fs layer", (DAEMON, REGISTRY),
          "The manifest lists this layer (named by the first 12 hex digits of its digest); the daemon starts downloading it from the registry."),
    _rule(_LAYER + r"Waiting", (REGISTRY, DAEMON), "The daemon downloads a few layers at a time; this one waits for its turn."),
    _rule(_LAYER + r"Downloading", (REGISTRY, DAEMON), "The registry sends the layer's bytes, a compressed tar, to the daemon."),
    _rule(_LAYER + r"Verifying Checksum", (REGISTRY, DAEMON),
          "The download has ended; the daemon computes the layer's SHA-256 and compares it with the digest the manifest names."),
    _rule(_LAYER + r"Download complete", (REGISTRY, DAEMON),
          "The checksum matched: the daemon keeps the downloaded layer (a tampered or truncated one would have stopped the pull here)."),
    _rule(_LAYER + r"Extracting", (REGISTRY, DAEMON), "The daemon unpacks the layer's tar, from the registry, into its storage driver."),
    _rule(_LAYER + r"Pull complete", (REGISTRY, DAEMON),
          "The layer from the registry is unpacked and registered in the daemon's layer store."),
    _rule(_LAYER + r"Already exists", (DAEMON,), "The daemon already has this layer and does not download it."),
    _rule(r"^Digest: sha256:", (REGISTRY, DAEMON),
          "The digest of the manifest the registry served: the content address of exactly this version of the image."),
    _rule(r"^Status: Downloaded newer image for ", (REGISTRY, DAEMON),
          "The pull is over: the daemon stored the image the registry served under its tag."),
    _rule(r"^Status: Image is up to date for ", (DAEMON, REGISTRY),
          "The daemon asked the registry and already had the image it serves."),
    _rule(r"^ ---> Running in ", (DAEMON,), "The daemon starts a temporary container to run the instruction."),
    _rule(r"^ ---> Using cache", (DAEMON,), "The daemon reuses the result of an earlier identical step."),
    _rule(r"^ ---> [0-9a-f]{12}$", (DAEMON,),
          "The ID of the image this step left behind (the start of the SHA-256 of the image's configuration)."),
    _rule(r"^Removing intermediate container |^ ---> Removed intermediate container ", (DAEMON,),
          "The daemon removes the step's temporary container."),
    _rule(r"^Using default tag: ", (CLIENT,), "The client adds the tag `latest` to a name given without one."),
    _rule(r"^Successfully built ", (DAEMON,), "The daemon finished the build: the ID of the new image."),
    _rule(r"^Successfully tagged ", (DAEMON,),
          "The daemon names the image with the tag the client passed with `-t` (`:latest` when no tag is given)."),
    # BuildKit (Docker Desktop, Engine 23 and later, or DOCKER_BUILDKIT=1): numbered steps, printed as they end.
    _rule(r"^\[\+\] Building ", (CLIENT,),
          "In a terminal the client (buildx) draws BuildKit's progress live: time so far, steps done of all, the builder."),
    _rule(r"^#0 building with \".*\" instance using \S+ driver$", (CLIENT,),
          "The client (buildx) says which builder runs the build: `default` is the daemon's own BuildKit."),
    _rule(r"^View build details: docker-desktop://", (CLIENT,), "Docker Desktop's client links the build's record in its dashboard."),
    _rule(_STEP + r"\[internal\] load build definition", (CLIENT, DAEMON),
          "BuildKit step 1: the daemon asks the client for the Dockerfile."),
    _rule(_STEP + r"transferring dockerfile", (CLIENT, DAEMON), "The client sends the Dockerfile; the size is what crossed the socket."),
    _rule(_STEP + r"\[internal\] load \.dockerignore", (CLIENT, DAEMON),
          "The daemon asks the client for the `.dockerignore` rules, which say what to leave out of the context."),
    _rule(_STEP + r"transferring context", (CLIENT, DAEMON),
          "The client sends what was asked for (here an empty `.dockerignore`, or the files the build needs)."),
    _rule(_STEP + r"\[internal\] load build context", (CLIENT, DAEMON),
          "The daemon asks the client for only the files the Dockerfile uses (`COPY`, `ADD`)."),
    _rule(_STEP + r"\[internal\] load metadata for ", (DAEMON, REGISTRY),
          "The daemon asks the registry which manifest the base image's tag points to now."),
    _rule(_STEP + r"\[\d+/\d+\] FROM ", (DAEMON, REGISTRY),
          "The daemon starts from the base image, pinned to the digest the registry just gave; the lines under it fetch it."),
    _rule(_STEP + r"\[\d+/\d+\] ", (DAEMON,), "The daemon runs the next instruction of the Dockerfile."),
    _rule(_STEP + r"resolve ", (DAEMON, REGISTRY), "The daemon fetches the manifest for that digest from the registry."),
    _rule(_STEP + r"extracting sha256:", (REGISTRY, DAEMON), "The daemon unpacks the layer it downloaded from the registry into its snapshotter."),
    _rule(_STEP + r"exporting to image", (DAEMON,), "The daemon turns the build's result into an image."),
    _rule(_STEP + r"exporting layers", (DAEMON,), "The daemon stores the layers the build made (none new when the Dockerfile only has `FROM`)."),
    _rule(_STEP + r"writing image sha256:\S+ done", (DAEMON,), "The image's configuration is written: its SHA-256 is the image ID."),
    _rule(_STEP + r"writing image sha256:", (DAEMON,), "The daemon writes the image's configuration (its SHA-256 becomes the image ID)."),
    _rule(_STEP + r"naming to ", (DAEMON,),
          "The daemon names the image with the tag from `-t`, in its full form (`docker.io/library/…:latest`)."),
    _rule(_STEP + r"sha256:[0-9a-f]{64}$", (DAEMON,),
          "The step's own ID: a digest of what the step does, used to find it in the build cache."),
    _rule(_STEP + r"DONE ", (DAEMON,), "The step ended, and how long it took."),
    _rule(_STEP + r"\.\.\.$", (DAEMON,), "BuildKit breaks off this step's lines to print another step's; it goes on below."),
    _rule(_STEP + r"CACHED$|" + _STEP + r"CACHED \[", (DAEMON,), "The step's result was in the build cache: nothing ran."),
    _rule(_STEP + r"exporting (?:manifest|config|attestation manifest|manifest list) sha256:", (DAEMON,),
          "With the containerd image store, the daemon writes the image as content: its manifest, configuration and index."),
    _rule(_STEP + r"unpacking to ", (DAEMON,), "With the containerd image store, the daemon unpacks the new image for containers to use."),
    _rule(_STEP + r"WARN: ", (DAEMON, CLIENT), "BuildKit checked the Dockerfile and warns; the build goes on."),
    # Failures: who reports them.
    _rule(r"^Error response from daemon: ", (DAEMON, CLIENT), "The daemon refused or failed the request, and the client prints why."),
    _rule(r"^ERROR: |^#\d+ ERROR: |^error: ", (DAEMON, CLIENT), "The build failed in the daemon; the client prints the error it reported."),
    _rule(r"^Cannot connect to the Docker daemon|^error during connect", (CLIENT,),
          "The client found no daemon at the address it uses (DOCKER_HOST or its context)."),
    _rule(r"^permission denied while trying to connect to the Docker daemon socket", (CLIENT,),
          "The client found the daemon's socket but may not use it: your user is not in the `docker` group (or use sudo)."),
    _rule(r"^Dockerfile:\d+$|^-{10,}$|^ *\d+ \| ", (DAEMON, CLIENT),
          "BuildKit quotes the Dockerfile around the line it could not read (`>>>` marks it); the client prints it."),
    _rule(r"^Usage:  docker |^Run 'docker .*--help' for more information$", (CLIENT,),
          "The client shows how the command is used: it stopped before asking the daemon anything."),
    _rule(r"^unable to prepare context", (CLIENT,), "The client could not pack the build context (e.g. there is no Dockerfile)."),
    _rule(r": not found$", (DAEMON, CLIENT), "The daemon could not find what the step needs, and the client prints its error."),
    _rule(r"^(?:[\w.-]+(?::\d+)?/)?[\w./-]+(?::[\w.-]+|@sha256:[0-9a-f]{64})$", (CLIENT,),
          "The client prints the full name of what it pulled: registry, repository and tag (or digest)."),
)
#: A blob line of a BuildKit pull: ``#4 sha256:DIGEST 3.40MB / 3.40MB 0.1s done``.
_BLOB = re.compile(_STEP + r"sha256:(?P<digest>[0-9a-f]{12,64}) \S+ / \S+")  # cut to the screen's width in a terminal
_LAYER_BLOB = Rule(_BLOB, (REGISTRY, DAEMON),
                   "A layer of the base image, downloaded from the registry and checked against its digest by the daemon.")
_DOCUMENT_BLOB = Rule(_BLOB, (REGISTRY, DAEMON),
                      "A small JSON document of the base image (its manifest or its configuration), downloaded from the registry.")
#: Blank lines separate BuildKit's steps; they say nothing.
_QUIET = re.compile(r"^\s*$")


def _as_plain(line: str) -> str:
    """A line of BuildKit's tty view (`` => [1/2] FROM …  0.3s``, `` => => naming to …``) in its plain form, so one
    set of rules explains both."""
    if not re.match(r"^ *=> ", line):
        return line
    return re.sub(r"\s+\d+(?:\.\d+)?s$", "", re.sub(r"^ *=> (?:=> )?", "#0 ", line.rstrip()))


@dataclass(frozen=True)
class Explained:
    line: str
    actors: tuple[str, ...]
    meaning: str


def explain(output: str) -> tuple[list[Explained], list[str]]:
    """Return the explained lines and the lines no rule knows (which should be none)."""
    explained, unknown = [], []
    plain_output = "\n".join(_as_plain(line) for line in output.splitlines())
    extracted = {digest[:12] for digest in re.findall(_STEP + r"extracting sha256:([0-9a-f]{12,64})", plain_output, re.MULTILINE)}
    for line in output.splitlines():
        if _QUIET.match(line):
            continue
        plain = _as_plain(line)
        blob = _BLOB.search(plain)
        if blob:
            # With the containerd image store nothing is extracted during the pull, and BuildKit lists only layers.
            rule = _LAYER_BLOB if blob["digest"][:12] in extracted or not extracted else _DOCUMENT_BLOB
        else:
            rule = next((rule for rule in RULES if rule.pattern.search(plain)), None)
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


def rules_for_browser() -> list[list]:
    """The rules as JavaScript can use them, ``[pattern, actors]`` (the page's "compare your output" labels a
    reader's lines by part; the meanings are in the page's walk-through tables already)."""
    return [[rule.pattern.pattern.replace("(?P<", "(?<"), list(rule.actors)] for rule in (*RULES, _LAYER_BLOB)]
