"""Every mode tells one story about what the client sends and who pulls, and it is the story the lesson's records
tell: the quiz's right answers and the flashcards' claims, held against the recorded builds."""

import re

from doclab.capture.facts import facts_of
from doclab.capture.record import CaptureStore
from doclab.render.walkthrough import explain
from doclab.settings import Settings
from tests.conftest import ROOT

SETTINGS = Settings.from_env({})
LESSON = CaptureStore(SETTINGS.captures_dir).load("mini-project.md").captures
BUILDKIT, CLASSIC = LESSON["build-buildkit"].output, LESSON["build-classic"].output
DOCKERFILE_BYTES = len((SETTINGS.snippets_dir / "mini-project" / "Dockerfile").read_bytes())


def size_in_bytes(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*(B|kB|KB|MB)", text).groups()
    return float(number) * {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6}[unit]


def quiz_right_answers() -> list[str]:
    return re.findall(r"^- \[x\] (.*)$", (ROOT / "docs" / "learn" / "quiz.md").read_text(), re.MULTILINE)


def test_the_pull_is_the_daemons_as_the_quiz_says_in_both_builds():
    assert "The daemon, while it runs the build" in quiz_right_answers()
    for output in (BUILDKIT, CLASSIC):
        with_registry = [item for item in explain(output)[0] if "registry" in item.actors]
        assert with_registry and all("client" not in item.actors for item in with_registry)


def test_buildkit_sends_the_dockerfile_on_request_and_not_the_folder_as_the_quiz_and_the_flashcard_say():
    assert "The daemon asked the client for the Dockerfile, and the client sent it" in quiz_right_answers()
    card = (ROOT / "docs" / "learn" / "flashcards.md").read_text()
    assert "the daemon asks the client for the files of it the build reads, the Dockerfile first" in card
    sent = dict(re.findall(r"^#\d+ transferring (dockerfile|context): (\S+)", BUILDKIT, re.MULTILINE))
    assert size_in_bytes(sent["dockerfile"]) >= DOCKERFILE_BYTES, sent  # the Dockerfile, with its file's metadata
    assert size_in_bytes(sent["context"]) < DOCKERFILE_BYTES, sent  # of the folder, no Dockerfile: the .dockerignore
    assert [item.actors for item in explain(BUILDKIT)[0] if "transferring dockerfile" in item.line] == [("client", "daemon")]


def test_the_classic_builder_uploads_the_whole_folder_first_as_every_mode_says_of_it():
    assert "uploads all of it" in (ROOT / "docs" / "learn" / "flashcards.md").read_text()
    assert "The classic builder of older Docker uploads the whole" in (ROOT / "docs" / "learn" / "concept.md").read_text()
    uploaded = facts_of(CLASSIC, LESSON["build-classic"].command, 0)["context_size"]
    assert size_in_bytes(uploaded) >= DOCKERFILE_BYTES, uploaded  # the folder as a tar: at least the Dockerfile
    assert CLASSIC.index("Sending build context") < CLASSIC.index("Pulling from")
