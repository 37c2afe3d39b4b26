"""The comparison the doc tests make, held against edits of the committed records: every edit a regression
would make is caught and names its fact; every difference two correct runs show is absorbed."""

import re
from pathlib import Path

import pytest

from doclab.capture.record import CaptureStore
from doclab.capture.facts import compare, facts_of, kind_of
from doclab.run.scrub import normalize

CAPTURES = CaptureStore(Path(__file__).resolve().parents[2] / "captures")


def capture(reference: str):
    page, name = reference.split("#")
    return CAPTURES.load_intact(page).captures[name]


def changed_facts(reference: str, edit, exit_code=None) -> list[str]:
    recorded = capture(reference)
    edited = edit(recorded.output)
    actual = facts_of(edited, recorded.command, recorded.exit_code if exit_code is None else exit_code)
    return [str(change) for change in compare(facts_of(recorded.output, recorded.command, recorded.exit_code), actual)]


def sub(pattern: str, replacement: str, count: int = 0):
    def edit(text: str) -> str:
        edited = re.sub(pattern, replacement, text, count=count, flags=re.MULTILINE)
        assert edited != text, f"the edit {pattern!r} changed nothing: the record no longer has it"
        return edited
    return edit


def in_from_step(pattern: str, replacement: str):
    """``sub`` in the base image's step, whatever number BuildKit gave it in this run (``#N`` in both)."""
    def edit(text: str) -> str:
        number = "#" + re.search(r"^#(\d+) \[1/1\] FROM ", text, re.MULTILINE)[1]
        return sub(pattern.replace("#N", number), replacement.replace("#N", number))(text)
    return edit


def drop(pattern: str):
    return sub(rf"^.*{pattern}.*\n", "")


CLASSIC, BUILDKIT = "mini-project.md#build-classic", "mini-project.md#build-buildkit"
PUSH, PULL, IMAGES = "architecture/registry.md#push", "architecture/registry.md#pull", "learn/cheat-sheet.md#images"
TYPO, CACHED = "architecture/troubleshooting.md#typo", "architecture/daemon.md#second-build"

#: (record, edit, the fact that must be named): what a regression in Docker, a snippet or the lab would change.
REGRESSIONS = [
    (CLASSIC, sub(r"Pull complete", "Already exists"), "layers.layer 1"),
    (CLASSIC, sub(r"2\.048kB", "1.21GB"), "context_size"),
    (CLASSIC, drop("Successfully tagged"), "tags"),
    (CLASSIC, sub(r"tagged my-alpine-image", "tagged my-alpine-imag"), "tags"),
    (CLASSIC, sub(r"FROM alpine:3\.18", "FROM alpine:3.19"), "base_image"),
    (CLASSIC, sub(r"Downloaded newer image for", "Image is up to date for"), "pull_status"),
    (CLASSIC, sub(r"^(\w{12}): Pull complete$", r"\1: Pull complete\naaaaaaaaaaaa: Pull complete"), "layers.layer 2"),
    (CLASSIC, drop("Successfully built"), "built"),
    (CLASSIC, sub(r"^(Successfully built)", r"Error response from daemon: failed to export image\n\1"), "errors"),
    (CLASSIC, lambda text: text, "exit_code", 1),
    (CLASSIC, sub(r"Step 1/1", "Step 1/2"), "steps_declared"),
    (CLASSIC, sub(r"^ ---> (\w{12})$", r" ---> Using cache\n ---> \1", count=1), "cached_steps"),
    (BUILDKIT, in_from_step(r"^#N DONE .*$", "#N CACHED"), "steps.[1/1] FROM"),
    (BUILDKIT, drop(r"^#\d+ sha256:\w{64} \S+ / \S+"), "layers_pulled"),
    (BUILDKIT, sub(r"naming to docker.io/library/my-alpine-image", "naming to docker.io/library/other"), "tags"),
    (BUILDKIT, sub(r"transferring dockerfile: 54B", "transferring dockerfile: 540B"), "dockerfile_size"),
    (BUILDKIT, in_from_step(r"^#N DONE .*$", "#N ERROR: failed to extract layer"), "errors"),
    (BUILDKIT, sub(r"^(#\d+) \[internal\] load metadata.*$", r"\1 [internal] load metadata for docker.io/library/alpine:3.19"),
     "steps.[internal] load metadata for docker.io/library/alpine:3.1"),
    (BUILDKIT, sub(r"^(#\d+ exporting to image)$", r"#9 [2/2] RUN apk add curl\n#9 DONE 1.0s\n\n\1", count=1),
     "steps.[2/2] RUN apk add curl"),
    (BUILDKIT, lambda text: capture(CLASSIC).output, "builder"),
    (PUSH, sub(r": Pushed$", ": Layer already exists"), "layers.layer 1"),
    (PUSH, sub(r"localhost:5000/my-alpine-image\]", "registry.example:5000/my-alpine-image]"), "repository"),
    (PUSH, sub(r"^1\.0: digest", "1.1: digest"), "pushed_tag"),
    (PUSH, sub(r"^(\w{12}): Pushed$", r"\1: Pushed\nbbbbbbbbbbbb: Pushed", count=1), "layers.layer 3"),
    (PULL, sub(r"Pull complete", "Already exists"), "layers.layer 1"),
    (PULL, sub(r"Pulling from library/alpine", "Pulling from library/alpina"), "image"),
    (PULL, drop("^Digest: "), "digest_shown"),
    (PULL, sub(r"Downloaded newer image", "Image is up to date"), "pull_status"),
    (PULL, drop(": Pull complete"), "layers.layer 1"),
    (IMAGES, sub(r"10\.9MB", "109MB"), "images[0].size"),
    (IMAGES, sub(r"latest", "1.0"), "images[0].tag"),
    (IMAGES, sub(r"^(my-alpine-image.*)$", r"\1\nalpine  3.18  10e8339eaaa9  2 years ago  10.9MB"), "images"),
    (IMAGES, sub(r"^my-alpine-image", "my-alpine-app"), "images[0].repository"),
    (TYPO, sub(r"unknown instruction: FORM", "unknown instruction: FROMM"), "errors"),
    (TYPO, lambda text: text, "exit_code", 0),
    (CACHED, sub(r"^ ---> Using cache\n", "", count=1), "cached_steps"),
    ("architecture/daemon.md#history", sub(r"7\.62MB", "76.2MB"), "layers[3].size"),
    ("architecture/daemon.md#history", sub(r"baked by the daemon", "baked by someone"), "layers[1].created_by"),
    (BUILDKIT, sub(r"^(#\d+) (sha256:\w+ \S+ / \S+.*)$", r"\1 0.512 error: failed to fetch layer, retrying in 5s\n\1 \2",
                   count=1), "errors"),
    (CLASSIC, sub(r"^(Successfully tagged .*)$", r"\1\n\1"), "tags"),
    (CLASSIC, sub(r"^Step 1/1 : FROM alpine:3\.18$", "Step 1/1 : FROM alpine:3.18\nStep 1/1 : FROM alpine:3.18"), "steps"),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=lambda case: f"{case[0]}:{case[2]}")
def test_a_regression_is_caught_and_named(case):
    reference, edit, fact, *exit_code = case
    changes = changed_facts(reference, edit, *exit_code)
    assert any(change.startswith(fact) for change in changes), changes
    for change in changes:
        assert ": expected " in change and ", got " in change, change


def other_hex(match: re.Match) -> str:
    return "".join("0123456789abcdef"[(int(char, 16) + 7) % 16] for char in match[0])


def hexes(length: int):
    return lambda text: re.sub(rf"(?<![0-9a-f])[0-9a-f]{{{length}}}(?![0-9a-f])", other_hex, text)


INFO, API, UNREACHABLE = "architecture/daemon.md#info", "architecture/client.md#api-version", \
    "architecture/troubleshooting.md#unreachable-registry"
HEADERS, PS, HISTORY = "architecture/registry.md#manifest-headers", "learn/cheat-sheet.md#ps", "architecture/daemon.md#history"
INSPECT = "architecture/daemon.md#inspect"
NO_DOCKERFILE = "architecture/troubleshooting.md#no-dockerfile"

#: (record, edit): what two correct runs print differently (IDs, digests, times, progress, host fields).
VARIATIONS = [
    (CLASSIC, hexes(12)),
    (CLASSIC, hexes(64)),
    (CLASSIC, drop(": (Pulling fs layer|Verifying Checksum|Download complete)")),
    (CLASSIC, sub(r"^(\w{12}): Pulling fs layer$", r"\1: Pulling fs layer\n\1: Waiting")),
    (CLASSIC, sub(r"^(\w{12}): Download complete$", r"\1: Downloading [=====>   ]  1.2MB/3.29MB\n\1: Download complete")),
    (BUILDKIT, sub(r"DONE 0\.\d+s", "DONE 1.4s")),
    (BUILDKIT, hexes(64)),
    (BUILDKIT, lambda text: re.sub(r"(#1 .*?\n\n)(#2 .*?\n\n)", r"\2\1", text, count=1, flags=re.DOTALL)),
    (BUILDKIT, sub(r"^(#\d+ sha256:\w+ \S+ / \S+) \d+(?:\.\d+)?s done$", r"\1 0.1s\n\1 0.2s done", count=1)),
    (BUILDKIT, sub(r"transferring dockerfile: 54B(?: \d+(?:\.\d+)?s)? done", "transferring dockerfile: 54B 1.7s done")),
    (BUILDKIT, sub(r"exporting attestation manifest sha256:\w+", "exporting attestation manifest sha256:" + "e" * 64)),
    (PUSH, hexes(64)),
    (PUSH, hexes(12)),
    (PUSH, sub(r"^(\w{12}): Pushed$", r"\1: Pushing [==>  ]  1.1MB/3.2MB\n\1: Pushed", count=1)),
    (PULL, hexes(64)),
    (PULL, hexes(12)),
    (PULL, drop(": (Pulling fs layer|Verifying Checksum|Download complete)")),
    (IMAGES, hexes(12)),
    (IMAGES, sub(r"2 years ago", "3 years ago")),
    (IMAGES, sub(r"  +", "     ")),
    (IMAGES, sub(r"10\.9MB", "10.91MB")),
    (INFO, sub(r"overlayfs", "fuse-overlayfs")),
    (INSPECT, sub(r"linux/amd64", "linux/arm64")),
    (API, sub(r'"KernelVersion": "[^"]*"', '"KernelVersion": "6.12.9-amd64"')),
    (API, sub(r'"Arch": "amd64"', '"Arch": "arm64"')),
    (UNREACHABLE, sub(r"127\.0\.0\.1", "[::1]")),
    (HEADERS, sub(r"^Date: .*$", "Date: Wed, 02 Dec 2026 08:00:00 GMT")),
    (PS, sub(r"Exited \(0\) .* ago", "Exited (0) 3 seconds ago")),
    (HISTORY, sub(r"2 years ago", "3 years ago")),  # docker aligns its columns to their widest cell: same width
    (CACHED, hexes(12)),
    (INSPECT, hexes(64)),
    (NO_DOCKERFILE, sub(r"failed to solve: ", "failed to run Build function: ")),  # BuildKit's wrapper, either
]


@pytest.mark.parametrize("case", VARIATIONS, ids=lambda case: case[0])
def test_what_varies_between_correct_runs_is_absorbed(case):
    reference, edit = case
    recorded = capture(reference)
    varied = edit(recorded.output)
    assert normalize(varied) == normalize(recorded.output)
    assert changed_facts(reference, edit) == []


def test_the_suite_holds_at_least_thirty_of_each():
    assert len(REGRESSIONS) >= 30 and len(VARIATIONS) >= 30


def test_every_record_yields_facts_and_the_outputs_this_site_teaches_are_recognised():
    kinds = {}
    for path in sorted(CAPTURES.directory.rglob("*.json")):
        page = path.relative_to(CAPTURES.directory).with_suffix(".md").as_posix()
        for name, item in CAPTURES.load_intact(page).captures.items():
            found = facts_of(item.output, item.command, item.exit_code)
            assert found["exit_code"] == item.exit_code
            kinds[f"{page}#{name}"] = found["kind"]
    assert kinds[CLASSIC] == "build-classic" and kinds[BUILDKIT] == "build-buildkit"
    assert (kinds[PUSH], kinds[PULL], kinds[IMAGES]) == ("push", "pull", "image-ls")
    assert kinds["architecture/client.md#version"] == "version"
    assert kinds["architecture/troubleshooting.md#unknown-tag"] == "docker-error"
    assert kind_of("hello\n") is None
