"""Two text passes: scrub (before an output is shown) and normalize (before two are compared).

Scrubbing removes what belongs to the machine that ran the command — its temporary folders,
the checkout and virtual environment paths, the home folder, the host name (whatever its
length) and the user name — and keeps everything the command really printed.

Normalizing is only for comparing a fresh run with the recorded one. It masks exactly the
parts that legitimately change from run to run, and nothing else:

====================  ==============================================================
what                  how it is masked
====================  ==============================================================
digests               ``sha256:<64 hex>`` → ``sha256:<digest>``
image and layer IDs   a word of 12 or 64 hex digits → ``<id>``
sizes                 ``2.048kB``, ``3.29MB``, ``7.37 MB`` → ``<size>``
durations             ``0.3s``, ``1.2 seconds``, ``About a minute`` → ``<duration>``
dates                 ISO and HTTP dates and times, ``3 minutes ago`` → ``<date>``
pull/push progress    ``<id>: Waiting`` … ``Download complete`` lines (and the SDK's
                      JSON messages of the same statuses) are dropped; ``Pull
                      complete`` and ``Already exists`` stay. Per-layer push results
                      (``Pushed``, ``Layer already exists``, ``Mounted from``) are
                      dropped: they depend on what the registry held before
BuildKit in-progress  a ``#N`` line that a later ``#N … done`` line starts with is dropped,
                      and so is a progress tick (a ``#N`` line ending in a bare duration,
                      ``#2 transferring context: 0.0s``): whether they show depends on timing
BuildKit step order   steps that run at the same time print in the order they finish:
                      its ``#N`` blocks are sorted by their first line and renumbered,
                      the status lines inside a step (between its title and its last
                      line) are sorted, as they print when their updates arrive; a step
                      printed twice (after an early ``DONE``) counts once; and an
                      optional ``<duration>`` before ``done`` goes
daemon socket path    ``unix:///any/path/name.sock`` → ``unix://<daemon-socket>``: the
                      lab folder is a setting of the machine that ran
machine fields        the value after these labels (``docker info``/``docker version``
                      text, ``Label:``) and JSON keys (the Engine API, ``"Key":``) →
                      ``<machine>``: kernel version (``KernelVersion``), storage driver
                      (``Driver``), cgroup driver and version, CPU count (``CPUs``,
                      ``NCPU``), memory (``Total Memory``, ``MemTotal``), operating
                      system and OS version, architecture (``Arch``, ``OS/Arch``,
                      ``Platform``), backing filesystem, security options, Docker root
                      dir and daemon ID: each differs from one host to another (the
                      host's name never reaches a record: see ``scrub``)
BuildKit's wrapper    ``failed to run Build function:`` → ``failed to solve:``: the same
                      error's cause, wrapped one way or the other from one run to the next
loopback addresses    ``127.0.0.1`` and ``[::1]`` → ``<loopback>``: hosts whose
                      ``/etc/hosts`` maps ``localhost`` to ``::1`` dial that first
image list order      the rows under a ``REPOSITORY  TAG  IMAGE ID`` header are sorted:
                      images created in the same second list in any order
column alignment      runs of spaces between words → two spaces, and trailing spaces go:
                      a table's column widths follow the widths of its volatile values
====================  ==============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Paths that are the system's, not the machine's (a system Python's prefix, root's home inside a container).
_SYSTEM_PATHS = {"/", "/usr", "/usr/local", "/root", "/home"}
#: Names too common to scrub without damaging real output ("root" in "rootfs", "localhost:5000").
_GENERIC_NAMES = {"root", "localhost", "docker", "user", "admin"}


@dataclass(frozen=True)
class MachineFacts:
    """What identifies the machine a command ran on; the scrubber replaces each of these."""

    workdirs: tuple[tuple[str, str], ...] = ()
    home: str | None = None
    hostname: str | None = None
    username: str | None = None


def as_terminal_shows(text: str) -> str:
    """Apply carriage returns as a terminal does: a line shows what was written after its last ``\\r``."""
    lines = []
    for line in text.split("\n"):
        segments = [segment for segment in line.split("\r") if segment]
        lines.append(segments[-1] if segments else "")
    return "\n".join(lines)


def scrub(text: str, facts: MachineFacts) -> str:
    text = as_terminal_shows(text)
    for path, shown_as in sorted(facts.workdirs, key=lambda pair: -len(pair[0])):
        if path not in _SYSTEM_PATHS:
            text = re.sub(rf"{re.escape(path)}(?![\w.-])", shown_as, text)
    if facts.home and facts.home not in _SYSTEM_PATHS:
        text = re.sub(rf"{re.escape(facts.home)}(?=/|\b)", "~", text)
    for name, placeholder in ((facts.hostname, "<host>"), (facts.username, "<user>")):
        if name and name.lower() not in _GENERIC_NAMES:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", placeholder, text)
    return text


_PROGRESS = re.compile(
    r"^[0-9a-f]{12}: (Pulling fs layer|Waiting|Downloading|Verifying Checksum|Download complete|Extracting"
    r"|Preparing|Pushing|Pushed|Layer already exists|Mounted from .*)\b.*$\n?",
    re.MULTILINE,
)
_SDK_PROGRESS = re.compile(
    r"^\{'status': '(Pulling fs layer|Waiting|Downloading|Verifying Checksum|Download complete|Extracting)'.*$\n?",
    re.MULTILINE,
)
#: BuildKit wraps an error's cause in either of these, one run or the next (the cause comes last): one is the other.
BUILDKIT_WRAPPER, BUILDKIT_WRAPPER_AS = re.compile(r"\bfailed to run Build function: "), "failed to solve: "
_RULES: tuple[tuple[re.Pattern, str], ...] = (
    (BUILDKIT_WRAPPER, BUILDKIT_WRAPPER_AS),
    (re.compile(r"sha256:[0-9a-f]{64}"), "sha256:<digest>"),
    # BuildKit's terminal view cuts a digest to the width of the screen.
    (re.compile(r"sha256:[0-9a-f]{12,63}\b"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?( [A-Z]{3,4})?"), "<date>"),
    (re.compile(r"\b(About an?|Less than a|\d+) (second|minute|hour|day|week|month|year)s? ago\b"), "<date>"),
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\b"), "<date>"),
    (re.compile(r"\b\d+(\.\d+)? ?(B|kB|KB|MB|MiB|GB|GiB|KiB)\b"), "<size>"),
    (re.compile(r"(?<![\w.])\d+(\.\d+)?s\b"), "<duration>"),
    (re.compile(r"unix://\S+\.sock\b"), "unix://<daemon-socket>"),
    (re.compile(r"\[::1\]|\b127\.0\.0\.1\b"), "<loopback>"),
    (re.compile(r"\b\d+(\.\d+)? (seconds|milliseconds)\b"), "<duration>"),
)


def volatile_rules_for_browser() -> list[list[str]]:
    """``_RULES`` as the page's compare-your-output applies them to each line (lesson.js): one rule set."""
    return [[pattern.pattern, replacement] for pattern, replacement in _RULES]


#: Fields whose value belongs to the host the daemon runs on (labels as ``docker info`` prints them).
MACHINE_LABELS = (
    "Kernel Version", "Storage Driver", "Cgroup Driver", "Cgroup Version", "CPUs", "Total Memory",
    "Operating System", "OSType", "OS Version", "Architecture", "OS/Arch", "Platform", "Docker Root Dir", "ID",
    "Backing Filesystem", "Security Options",
)
#: The same fields as the Engine API names them in JSON.
MACHINE_KEYS = (
    "KernelVersion", "Driver", "CgroupDriver", "CgroupVersion", "NCPU", "MemTotal", "OperatingSystem",
    "OSVersion", "Architecture", "Arch", "DockerRootDir", "ID",
)
_MACHINE_TEXT = re.compile(rf"^(?P<lead>[ \t]*(?:{'|'.join(map(re.escape, MACHINE_LABELS))}):[ \t]+)\S.*$",
                           re.MULTILINE | re.IGNORECASE)
_MACHINE_JSON = re.compile(rf'(?P<lead>"(?:{"|".join(MACHINE_KEYS)})":\s*)(?:"[^"]*"|\d+)')


def _mask_machine_fields(text: str) -> str:
    text = _MACHINE_TEXT.sub(lambda m: m["lead"] + "<machine>", text)
    return _MACHINE_JSON.sub(lambda m: m["lead"] + '"<machine>"', text)


_FINISHED = re.compile(r"(?: \d+(?:\.\d+)?s)? done$")
#: A BuildKit step still running, as its progress tick prints it ("#4 extracting sha256:… 0.1s",
#: "#2 transferring context: 0.0s"): its final line says "done" (or "DONE"), and ticks depend on timing.
_RUNNING = re.compile(r"^#\d+ (?!DONE\b).* \d+(?:\.\d+)?s$")


#: "#6 ...": BuildKit marks where another step's lines cut into this step's, which depends on timing.
_INTERRUPTED = re.compile(r"^#\d+ \.\.\.$")


def _drop_buildkit_in_progress(text: str) -> str:
    lines = text.split("\n")
    finished = {_FINISHED.sub("", line) for line in lines if line.startswith("#") and _FINISHED.search(line)}
    return "\n".join(line for line in lines
                     if not (line.startswith("#") and (_in_progress(line, finished) or _INTERRUPTED.match(line))))


def _in_progress(line: str, finished: set[str]) -> bool:
    """A tick (ends in a bare duration), or the start of a line that later ends in "done"
    ("#2 transferring context:" before "#2 transferring context: 2B done")."""
    return bool(_RUNNING.match(line)) or any(done.startswith(line.rstrip()) for done in finished)


_VERTEX = re.compile(r"^#(\d+) (.*)$")


def _canonical_buildkit(text: str) -> str:
    vertices: dict[str, list[str]] = {}
    before: list[str] = []
    after: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        match = _VERTEX.match(line)
        if match:
            vertices.setdefault(match[1], []).append(re.sub(r" <duration> done$", " done", match[2]))
        elif not vertices:
            before.append(line)
        elif line.strip():
            after.append(line)
    if not vertices:
        return text
    # Inside a step, status lines (downloads, "extracting … done") print as their updates arrive: sorted too,
    # between the step's title and its last line (DONE, CACHED or ERROR).
    for number, lines in vertices.items():
        # A step can print again after an early "DONE" (its title, its lines, a second DONE): one of each.
        body = list(dict.fromkeys(line for line in lines[:-1] if not line.startswith("DONE ")))
        vertices[number] = lines = body + lines[-1:]
        if len(lines) > 3:
            lines[1:-1] = sorted(lines[1:-1])
    ordered = sorted(vertices.values(), key=lambda lines: lines[0])
    blocks = ["\n".join(f"#{n} {line}" for line in lines) for n, lines in enumerate(ordered, start=1)]
    result = "\n".join(before + ["\n\n".join(blocks)] + after)
    return result + "\n" if text.endswith("\n") else result


#: An image index's entry for a build's attestation manifest: its size follows the provenance it lists, whose build
#: timestamps print as many digits as their nanoseconds need (565 bytes one run, 566 the next).
_ATTESTATION_SIZE = re.compile(r'(?<="size": )\d+(?=,\s*"annotations": \{\s*"vnd\.docker\.reference\.digest": "[^"]*",'
                               r'\s*"vnd\.docker\.reference\.type": "attestation-manifest")')


def normalize(text: str) -> str:
    text = _mask_machine_fields(text)
    text = _drop_buildkit_in_progress(_SDK_PROGRESS.sub("", _PROGRESS.sub("", text)))
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _ATTESTATION_SIZE.sub("<size>", text)
    text = _canonical_buildkit(text)
    text = re.sub(r"(?<=\S) {2,}(?=\S)", "  ", text)
    return _sorted_terminal_steps(_sorted_image_lists(re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)))


def _sorted_terminal_steps(text: str) -> str:
    """BuildKit's terminal view lists a step's parts (" => => sha256:…", "extracting …") as they happen: sorted,
    under their step."""
    lines = text.split("\n")
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and lines[end].startswith(" => => "):
            end += 1
        if end - start > 1:
            lines[start:end] = sorted(lines[start:end])
        start = end + 1
    return "\n".join(lines)


def _sorted_image_lists(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("REPOSITORY  TAG  IMAGE ID"):
            end = index + 1
            while end < len(lines) and lines[end].strip() and "  " in lines[end]:
                end += 1
            lines[index + 1:end] = sorted(lines[index + 1:end])
    return "\n".join(lines)
