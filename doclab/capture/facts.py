"""What an output means: the facts a reader learns from it, read from the text and compared exactly.

Normalization (``doclab.run.scrub``) lets two correct runs compare equal as text; it masks sizes,
IDs and progress, and so it would also let a real regression through. The facts are compared
besides it: the build context's size, the base image, the layers pulled or pushed and the final
status of each, the steps and whether each was cached, the tag, the pull's status line, the
rows of an image list with their sizes (within a tolerance), the error lines and the exit code.
Nothing here reads an ID, a digest, a date or a duration: those vary between correct runs.

    python -m doclab facts --command "docker build -t NAME ." FILE    # the facts of a saved output, as JSON
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doclab.run.scrub import BUILDKIT_WRAPPER, BUILDKIT_WRAPPER_AS

#: Sizes that two correct runs print differently stay within this ratio (an image's metadata, a gzip).
SIZE_TOLERANCE = 0.05

_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?) ?(?P<unit>B|kB|KB|KiB|MB|MiB|GB|GiB)$")
_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 1024 ** 2, "GB": 1e9, "GiB": 1024 ** 3}
#: A layer's statuses on its way: the daemon sends only the latest to a slow client, so a run may print any of them or none.
PROGRESS_STATUSES = ("Download complete", "Pulling fs layer", "Waiting", "Verifying Checksum", "Preparing", "Pushing",
                     "Downloading", "Extracting")
_LAYER_STATUS = re.compile(r"^(?P<layer>[0-9a-f]{12}): (?P<status>Pull complete|Already exists|Pushed|Layer already exists"
                           r"|Mounted from \S+|" + "|".join(PROGRESS_STATUSES) + r")\b")
#: A layer's last word: what the reader is told happened to it (the statuses before it are progress).
_FINAL = ("Pull complete", "Already exists", "Pushed", "Layer already exists", "Mounted from")
_ERROR = re.compile(r"(?:^|\s)(?:Error response from daemon|ERROR:|error:|failed to |unable to |unknown instruction|denied:)"
                    r"|\brequires (?:exactly |at least )?\d+ arguments?\b|^invalid argument \".*\" for \""
                    r"|^#\d+ ERROR\b|\bnot found$")
_VOLATILE = (
    (re.compile(r"sha256:[0-9a-f]{12,64}"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{12,64}\b"), "<id>"),
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?s\b"), "<duration>"),
    (re.compile(r"\[::1\]|\b127\.0\.0\.1\b"), "<loopback>"),
)


def _stable(text: str) -> str:
    """A line with its IDs, digests and durations masked: what stays the same between correct runs."""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


#: Which builder printed a ``docker build`` output: the one rule set the facts, the walk-through and the page's
#: compare-your-output use (``doclab-logic.js`` gets it through the page, as ``doclab-builder-rules``).
BUILDERS = (
    ("BuildKit", r"^#\d+ (?:\[|exporting to image|naming to)|^\[\+\] Building |^#0 building with "),
    ("classic builder", r"^(?:Sending build context to Docker daemon|Step \d+/\d+ : )"),
)


def builder_of(output: str) -> str | None:
    """Which builder printed a ``docker build`` output, or None when it is not one."""
    return next((name for name, pattern in BUILDERS if re.search(pattern, output, re.MULTILINE)), None)


def kind_of(output: str, command: str = "") -> str | None:
    """Which of the outputs this site teaches ``output`` is, or None."""
    builder = builder_of(output)
    if builder:
        return "build-buildkit" if builder == "BuildKit" else "build-classic"
    if re.search(r"^The push refers to repository", output, re.MULTILINE):
        return "push"
    if re.search(r": Pulling from |^Status: (?:Downloaded newer image|Image is up to date)", output, re.MULTILINE):
        return "pull"
    if re.search(r"^REPOSITORY\s+TAG\s+IMAGE ID|^IMAGE\s+ID\s+DISK USAGE", output, re.MULTILINE):
        return "image-ls"
    if re.search(r"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE", output, re.MULTILINE):
        return "history"
    if re.search(r"^\s*Server Version: ", output, re.MULTILINE):
        return "info"  # `docker info` also starts with a Client: section
    if re.search(r"^Client:.*\n(?:.*\n)*?\s*Version:", output, re.MULTILINE) and "Server:" in output:
        return "version"
    if re.search(r"\bdocker\b.*\b(?:build|pull|push|run|image|images|rmi|tag)\b", command) and _errors(output):
        return "docker-error"
    return None


def facts_of(output: str, command: str = "", exit_code: int | None = None) -> dict:
    """The facts of ``output``: {"kind": …, fact: value …}; kind None when it is none this site teaches."""
    kind = kind_of(output, command)
    facts: dict = {"kind": kind, "exit_code": exit_code, "errors": _errors(output)}
    reader = _READERS.get(kind)
    if reader:
        facts.update(reader(output))
    return facts


def _errors(output: str) -> list[str]:
    return [_stable(BUILDKIT_WRAPPER.sub(BUILDKIT_WRAPPER_AS, line)) for line in output.splitlines()
            if _ERROR.search(line) and not line.startswith("DEPRECATED")]


def _layers(output: str) -> dict[str, str]:
    """Each layer's final status, in the order the layers first appear (named by position: IDs vary)."""
    final: dict[str, str] = {}
    for line in output.splitlines():
        match = _LAYER_STATUS.match(line)
        if match:
            status = match["status"]
            if status.startswith(_FINAL) or match["layer"] not in final:
                final[match["layer"]] = "Mounted from" if status.startswith("Mounted from") else status
    return {f"layer {index + 1}": status for index, status in enumerate(final.values())}


def _first(pattern: str, output: str, group: str | int = 1) -> str | None:
    match = re.search(pattern, output, re.MULTILINE)
    return match[group] if match else None


def _classic_build(output: str) -> dict:
    steps = re.findall(r"^Step \d+/(\d+) : (.*)$", output, re.MULTILINE)
    return {
        "builder": "classic",
        "context_size": _first(r"^Sending build context to Docker daemon\s+(\S+)$", output),
        "steps": [_stable(instruction) for _, instruction in steps],
        "steps_declared": int(steps[0][0]) if steps else 0,
        "cached_steps": output.count(" ---> Using cache"),
        "base_image": _first(r"^Step 1/\d+ : FROM (?:--platform=\S+ )?(\S+)", output),
        "layers": _layers(output),
        "pull_status": _stable(_first(r"^Status: (.*)$", output) or "") or None,
        "built": bool(re.search(r"^Successfully built [0-9a-f]{12}$", output, re.MULTILINE)),
        "tags": re.findall(r"^Successfully tagged (\S+)$", output, re.MULTILINE),
    }


_VERTEX_TITLE = re.compile(r"^#(\d+) (\[.*)$")


def _buildkit_build(output: str) -> dict:
    titles: dict[str, str] = {}
    states: dict[str, str] = {}
    for line in output.splitlines():
        title = _VERTEX_TITLE.match(line)
        if title and title[1] not in titles:
            titles[title[1]] = _stable(title[2])
        state = re.match(r"^#(\d+) (DONE|CACHED|ERROR)\b", line)
        if state:
            states[state[1]] = state[2]
    # Steps that run at the same time print in the order they finish: the facts are a set, by title.
    steps = {titles[number]: states.get(number, "unfinished") for number in titles}
    for line in output.splitlines():  # the tty form: "=> CACHED [1/1] FROM …", "=> [internal] load …"
        tty = re.match(r"^ *=> (CACHED |ERROR )?(\[[^\]]+\] .*?)(?:\s+\d+(?:\.\d+)?s)?$", line)
        if tty:
            steps[_stable(tty[2])] = (tty[1] or "DONE ").strip()
    base = _first(r"\[(?:\S+ )?\d+/\d+\] FROM (?:docker\.io/library/)?([^@\s]+)", output)
    # An untagged build is named "moby-dangling@sha256:…" on the containerd store: the digest varies.
    tags = [_stable(tag) for tag in re.findall(r"naming to (?:docker\.io/library/)?(\S+)", output)]
    return {
        "builder": "buildkit",
        # Sent only when the Dockerfile uses it (COPY, ADD): "load .dockerignore" transfers a context of its own.
        "context_size": _first(r"\[internal\] load build context\n(?:#\d+ .*\n)*?#\d+ transferring context: (\S+)", output)
        or _first(r"=> \[internal\] load build context.*\n *=> => transferring context: (\S+)", output),
        "dockerfile_size": _first(r"transferring dockerfile: (\S+?)(?: \d+(?:\.\d+)?s)? done$", output)
        or _first(r"=> => transferring dockerfile: (\S+)", output),
        "steps": dict(sorted(steps.items())),
        "base_image": base,
        # Each layer downloaded (both image stores print its bytes; only overlay2 then prints "extracting").
        "layers_pulled": len(set(re.findall(r"^(?:#\d+| *=> =>) sha256:([0-9a-f]{12})[0-9a-f]* \S+ / \S+", output,
                                            re.MULTILINE)) - _document_blobs(output)),
        "tags": list(dict.fromkeys(tags)),
    }


def _document_blobs(output: str) -> set[str]:
    """Blobs the graph-driver store downloads beside the layers (manifest, configuration): never extracted."""
    extracted = set(re.findall(r"extracting sha256:([0-9a-f]{12})", output))
    if not extracted:
        return set()
    downloaded = set(re.findall(r"^(?:#\d+| *=> =>) sha256:([0-9a-f]{12})[0-9a-f]* \S+ / \S+", output, re.MULTILINE))
    return downloaded - extracted


def _pull(output: str) -> dict:
    return {
        "image": _first(r"^(\S+): Pulling from (\S+)$", output, 2),
        "layers": _layers(output),
        "pull_status": _stable(_first(r"^Status: (.*)$", output) or "") or None,
        "digest_shown": bool(re.search(r"^Digest: sha256:[0-9a-f]{64}$", output, re.MULTILINE)),
    }


def _push(output: str) -> dict:
    return {
        "repository": _first(r"^The push refers to repository \[(\S+)\]$", output),
        "layers": _layers(output),
        "pushed_tag": _first(r"^(\S+): digest: sha256:[0-9a-f]{64} size: \d+$", output),
    }


def _image_ls(output: str) -> dict:
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if re.match(r"^(?:REPOSITORY\s+TAG|IMAGE\s+ID)\s", line))
    containerd_view = lines[header].startswith("IMAGE")
    rows = []
    for line in lines[header + 1:]:
        fields = re.split(r"\s{2,}", line.strip())
        if containerd_view and len(fields) >= 3:
            # Engine 29's view: IMAGE (name:tag, or name@digest), ID, DISK USAGE, CONTENT SIZE, EXTRA.
            name, _, digest = fields[0].partition("@")
            repository, _, tag = name.rpartition(":") if not digest and ":" in name.rsplit("/", 1)[-1] else (name, "", "")
            rows.append({"repository": repository, "tag": tag or _stable(f"@{digest}"), "size": fields[2]})
        elif len(fields) >= 5:
            rows.append({"repository": fields[0], "tag": fields[1], "size": fields[-1]})
    return {"images": sorted(rows, key=lambda row: (row["repository"], row["tag"]))}


def _history(output: str) -> dict:
    """Each layer of ``docker history``: what made it and its size (the lesson's layers are the same bytes every run)."""
    lines = output.splitlines()
    header = next(line for line in lines if re.match(r"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE", line))
    # By the header's columns: CREATED BY itself holds runs of spaces ("#(nop)  CMD …").
    by, size, comment = (header.index(name) for name in ("CREATED BY", "SIZE", "COMMENT"))
    rows = [{"created_by": _stable(line[by:size]), "size": line[size:comment].strip()}
            for line in lines[lines.index(header) + 1:] if line.strip()]
    return {"layers": rows}


def _version(output: str) -> dict:
    return {"client_shown": "Client:" in output, "server_shown": bool(re.search(r"^Server:", output, re.MULTILINE)),
            "api_version_lines": len(re.findall(r"API version:", output))}


_READERS = {
    "build-classic": _classic_build,
    "build-buildkit": _buildkit_build,
    "pull": _pull,
    "push": _push,
    "image-ls": _image_ls,
    "history": _history,
    "version": _version,
}


def across_versions(facts: dict) -> dict:
    """The facts every supported Docker prints alike: what a build, pull or push did, not how it words it
    (Engine 23+ builds with BuildKit where 20.10 used the classic builder; the containerd store lists images
    in other columns). A run on another Engine than the record's is compared on these."""
    kind = facts.get("kind") or ""
    kept: dict = {"exit_code": facts.get("exit_code"), "failed": bool(facts.get("errors"))}
    if kept["failed"]:
        return kept  # a failure is worded by each Engine its own way (and the older ones fail before a build starts)
    if kind.startswith("build-"):
        kept["kind"] = "build"
        kept["base_image"] = facts.get("base_image")
        # An untagged result is named only on the containerd store ("moby-dangling@…"): not a tag of the reader's.
        kept["tags"] = sorted({tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest" for tag in facts.get("tags") or []
                               if not tag.startswith("moby-dangling@")})
        # How many layers the daemon pulled: every store prints it, by another word (20.10's classic builder too).
        kept["layers_pulled"] = (facts.get("layers_pulled") if kind == "build-buildkit"
                                 else sum(status == "Pull complete" for status in (facts.get("layers") or {}).values()))
    elif kind in ("pull", "push", "image-ls"):
        kept["kind"] = kind
        if kind == "pull":
            kept["image"] = facts.get("image")
        elif kind == "push":
            kept.update(repository=facts.get("repository"), pushed_tag=facts.get("pushed_tag"))
        else:
            kept["images"] = sorted(f"{row['repository']}:{row['tag']}" for row in facts.get("images") or [])
    return kept


@dataclass(frozen=True)
class FactChange:
    fact: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.fact}: expected {self.expected!r}, got {self.actual!r}"


def size_bytes(text: str) -> float | None:
    match = _SIZE.match(text or "")
    return float(match["number"]) * _UNITS[match["unit"]] if match else None


def _same(fact: str, expected, actual) -> bool:
    if fact.endswith("size") and isinstance(expected, str) and isinstance(actual, str):
        low, high = size_bytes(expected), size_bytes(actual)
        if low is not None and high is not None:
            return abs(low - high) <= SIZE_TOLERANCE * max(low, high, 1)
    return expected == actual


def compare(expected: dict, actual: dict, prefix: str = "") -> list[FactChange]:
    """Every fact of ``expected`` that ``actual`` does not have the same (sizes within SIZE_TOLERANCE)."""
    changes: list[FactChange] = []
    for fact in sorted(set(expected) | set(actual)):
        name = f"{prefix}{fact}"
        left, right = expected.get(fact), actual.get(fact)
        if isinstance(left, dict) and isinstance(right, dict):
            changes += compare(left, right, f"{name}.")
        elif (isinstance(left, list) and isinstance(right, list) and len(left) == len(right)
              and all(isinstance(row, dict) for row in left + right)):
            for index, (one, other) in enumerate(zip(left, right, strict=True)):
                changes += compare(one, other, f"{name}[{index}].")
        elif not _same(fact, left, right):
            changes.append(FactChange(name, left, right))
    return changes
