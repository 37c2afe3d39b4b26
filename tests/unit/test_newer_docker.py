"""The engine on what newer Docker really prints: outputs of Engine 24–29 and Docker Desktop, copied verbatim from
public sources (tests/fixtures/docker/, each with a .source.json naming where it came from; INDEX.md lists what could
not be found). The facts parser and the walk-through's rules must read every one of them."""

import json
from pathlib import Path

import pytest

from doclab.capture.record import CaptureStore
from doclab.capture.facts import across_versions, facts_of
from doclab.capture.facts import builder_of
from doclab.render.walkthrough import explain

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "docker"
ROOT = Path(__file__).resolve().parents[2]
NAMES = sorted(path.stem for path in FIXTURES.glob("*.txt"))
KINDS = {"build-buildkit-tty": "build-buildkit", "build-buildkit-plain": "build-buildkit", "build-classic": "build-classic",
         "pull": "pull", "push": "push", "image-ls": "image-ls", "version": "version", "info": "info", "registry-api": None}


def fixture(name: str) -> tuple[str, dict]:
    return (FIXTURES / f"{name}.txt").read_text(), json.loads((FIXTURES / f"{name}.source.json").read_text())


def test_every_fixture_names_its_public_source_and_the_index_lists_it():
    index = (FIXTURES / "INDEX.md").read_text()
    assert len(NAMES) >= 25
    for name in NAMES:
        _, source = fixture(name)
        assert source["url"].startswith("https://github.com/"), name
        assert source["kind"] in KINDS and source["docker_version"], name
        assert f"`{name}.txt`" in index, f"{name} is not in INDEX.md"
    assert "## Not found verbatim" in index


@pytest.mark.parametrize("name", NAMES)
def test_the_facts_parser_recognises_every_fixture(name):
    text, source = fixture(name)
    facts = facts_of(text, source["command"])
    assert facts["kind"] == KINDS[source["kind"]], facts
    if source["kind"].startswith("build-"):
        assert facts["builder"] == source["builder"]
        assert builder_of(text) == {"buildkit": "BuildKit", "classic": "classic builder"}[source["builder"]]


#: What each fixture says, as its source shows it (read off the verbatim text, not invented).
EXPECTED = {
    "desktop-unknown-build-buildkit-tty-docs": {"base_image": "python:3.12", "dockerfile_size": "308B", "context_size": "123B",
                                                "errors": []},
    "desktop-unknown-build-buildkit-tty-error-windows": {
        "errors": ["ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory"]},
    "engine-28-build-buildkit-plain-export-step": {"tags": ["quay.io/jupyter/docker-stacks-foundation"]},
    "engine-29-build-buildkit-plain-export-step": {"tags": ["quay.io/jupyter/docker-stacks-foundation:latest"]},
    "engine-25plus-build-classic-deprecated": {
        "context_size": "3.584kB", "base_image": "devopsdockeruh/simple-web-service:alpine", "steps_declared": 2,
        "layers": {"layer 1": "Pull complete", "layer 2": "Pull complete", "layer 3": "Pull complete"},
        "pull_status": "Downloaded newer image for devopsdockeruh/simple-web-service:alpine", "tags": ["web-server:latest"]},
    "engine-25.0dev-pull-containerd": {"image": "library/ubuntu", "layers": {"layer 1": "Download complete"},
                                       "pull_status": "Downloaded newer image for ubuntu:latest"},
    "engine-28.2-run-hello-world-implicit-pull": {"image": "library/hello-world", "layers": {"layer 1": "Pull complete"}},
    "desktop-4.42-push-containerd": {"repository": "localhost:5001/busybox", "layers": {"layer 1": "Pushed"},
                                     "pushed_tag": "latest"},
    "engine-29.0-image-ls-default-view": {"images": [{"repository": "redis", "tag": "7.4-alpine", "size": "41.4MB"}]},
    "engine-29.x-image-ls-containerd-nginx": {"images": [{"repository": "nginx", "tag": "latest", "size": "259MB"}]},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_facts_read_from_a_fixture_are_what_it_says(name):
    text, source = fixture(name)
    facts = facts_of(text, source["command"])
    assert {key: facts[key] for key in EXPECTED[name]} == EXPECTED[name]


#: Build and pull outputs whose every line the walk-through must explain (the error cases with a Dockerfile
#: excerpt, and `docker run`'s own program output, are not Docker's parts speaking).
EXPLAINED_WHOLE = [name for name in NAMES if fixture(name)[1]["kind"] in ("build-buildkit-tty", "build-buildkit-plain",
                                                                          "build-classic", "pull")
                   and name not in ("engine-28.2-build-buildkit-plain-error", "engine-28.2-run-hello-world-implicit-pull")]


@pytest.mark.parametrize("name", EXPLAINED_WHOLE)
def test_the_walkthrough_names_the_part_behind_every_line_of_newer_builds_and_pulls(name):
    text, _ = fixture(name)
    explained, unknown = explain(text.replace("...", ""))  # an author's own "..." (truncation) is not Docker's
    assert not unknown, unknown
    assert explained


def test_the_walkthrough_explains_the_errors_of_the_failed_builds():
    for name in ("engine-28.2-build-buildkit-plain-error", "desktop-unknown-build-buildkit-tty-error-windows"):
        explained, _ = explain(fixture(name)[0])
        assert any(item.line.startswith("ERROR: failed to solve:") for item in explained), name


def test_a_newer_buildkit_build_and_our_classic_record_agree_on_what_every_docker_prints_alike():
    lesson = CaptureStore(ROOT / "captures").load_intact("mini-project.md").captures
    classic, buildkit = (facts_of(lesson[name].output, lesson[name].command, lesson[name].exit_code)
                         for name in ("build-classic", "build-buildkit"))
    assert classic["builder"] != buildkit["builder"]
    assert across_versions(classic) == across_versions(buildkit) == {
        "exit_code": 0, "failed": False, "kind": "build", "base_image": "alpine:3.18", "tags": ["my-alpine-image:latest"],
        "layers_pulled": 1}
    tty, source = fixture("engine-28-build-buildkit-plain-export-step")
    assert across_versions(facts_of(tty, source["command"]))["tags"] == ["quay.io/jupyter/docker-stacks-foundation:latest"]
    assert across_versions(facts_of(*fixture("engine-29.0-image-ls-default-view")[:1]))["images"] == ["redis:7.4-alpine"]


def test_across_versions_a_real_change_is_still_caught():
    from doclab.capture.facts import compare

    lesson = CaptureStore(ROOT / "captures").load_intact("mini-project.md").captures
    classic = across_versions(facts_of(lesson["build-classic"].output, lesson["build-classic"].command, 0))
    buildkit = lesson["build-buildkit"].output
    for edit, fact in [(buildkit.replace("my-alpine-image", "other-image"), "tags"),
                       (buildkit.replace("alpine:3.18", "alpine:3.19"), "base_image"),
                       (buildkit + "ERROR: failed to solve: process did not complete successfully\n", "failed")]:
        changes = compare(classic, across_versions(facts_of(edit, lesson["build-buildkit"].command, 0)))
        if fact == "failed":  # a failed build is compared on its failure alone: what it built is not asked
            assert "failed" in [change.fact for change in changes], changes
        else:
            assert [change.fact for change in changes] == [fact], changes
    assert compare(classic, across_versions(facts_of(buildkit, "", 1))) != []
