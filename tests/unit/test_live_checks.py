""""Check my work" of the live terminal: each step's rule over what the server found, with no daemon (the rules are
pure; tests/integration/test_live.py types the steps into a real shell on a lab daemon)."""

import dataclasses

import pytest

from doclab.capture.record import CaptureStore
from doclab.lesson.answers import load_rules
from doclab.lesson.checks import Found, check_step, folder_name
from doclab.lesson.values import LessonValueError, lesson_values
from tests.conftest import ROOT

SNIPPETS = ROOT / "snippets"
VALUES = lesson_values(SNIPPETS)
RULES = load_rules(SNIPPETS / "mini-project" / "answers.json")
FOLDER = folder_name((SNIPPETS / "mini-project" / "make-project-folder.sh").read_text())
ALPINE = ("sha256:alpine-layer",)
#: What a terminal showed for the lesson's build: the captured terminal view of step 4, and the classic builder's.
RECORD = CaptureStore(ROOT / "captures").load_intact("mini-project.md")
DONE = Found(folder_exists=True, dockerfile=f"FROM {VALUES['base_image']}\n", image_name_variable=VALUES["image_name"],
             commands=("mkdir docker-architecture", "IMAGE_NAME=my-alpine-image", "docker build -t $IMAGE_NAME ."),
             image_layers=ALPINE, base_layers=ALPINE, transcript=RECORD.captures["build-buildkit-terminal"].output)


def verdict(step, **changed):
    return check_step(step, dataclasses.replace(DONE, **changed), VALUES, FOLDER, RULES)


@pytest.mark.parametrize("step", ["1", "2", "3", "4"])
def test_the_lessons_steps_done_as_the_page_shows_them_are_done(step):
    assert verdict(step).done


def test_the_classic_builders_output_shows_step_4_as_well():
    assert verdict("4", transcript=RECORD.captures["build-classic"].output).done


@pytest.mark.parametrize("step, changed, says", [
    ("1", {"folder_exists": False}, "run mkdir docker-architecture"),
    ("1", {"dockerfile": None}, "No file named Dockerfile"),
    ("1", {"dockerfile": "FROM alpine:latest\n"}, "should hold one line, FROM alpine:3.18"),
    ("1", {"dockerfile": "FROM alpine:3.18\nRUN true\n"}, "should hold one line"),
    ("2", {"image_name_variable": None}, "IMAGE_NAME is not set in this shell"),
    ("2", {"image_name_variable": "my-alpine"}, "IMAGE_NAME is 'my-alpine', not my-alpine-image"),
    ("3", {"commands": ("ls",)}, "No build command typed here yet"),
    ("3", {"commands": ("docker build -t $IMAGE_NAME",)}, "You typed docker build -t $IMAGE_NAME, not the build command"),
    ("4", {"image_layers": None}, "The daemon has no image my-alpine-image yet: run docker build"),
    ("4", {"image_layers": None, "dockerfile": "FROM alpine\n"}, "does not say FROM alpine:3.18 yet: do step 1 first"),
    ("3", {"commands": ("docker build -t my-alpine .",)}, "You typed docker build -t my-alpine ., not the build command"),
    ("4", {"image_layers": ("sha256:other",)}, "but not one built from alpine:3.18"),
    ("4", {"transcript": "~ # ls\n"}, "has not shown these lines of its build: Client → daemon"),
])
def test_a_step_not_done_says_what_is_missing_in_the_lessons_words(step, changed, says):
    answer = verdict(step, **changed)
    assert not answer.done and says in answer.says, answer.says


def test_a_build_command_typed_within_a_longer_line_counts():
    assert verdict("3", commands=("cd docker-architecture; IMAGE_NAME=my-alpine-image && docker build -t $IMAGE_NAME .",)).done
    assert verdict("3", commands=("docker build -t my-alpine-image .",)).done


def test_an_image_with_more_layers_on_the_base_counts_and_an_unknown_step_is_named():
    assert verdict("4", image_layers=ALPINE + ("sha256:more",)).done
    with pytest.raises(LessonValueError, match="steps 1 to 4, not '5'"):
        verdict("5")
    with pytest.raises(LessonValueError, match="make-project-folder.sh has no `mkdir FOLDER` line"):
        folder_name("cd somewhere\n")
