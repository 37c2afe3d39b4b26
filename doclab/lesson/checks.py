""""Check my work" for the mini project's four steps, in the lesson's words: pure rules over what a live terminal's
server found (``Found``: the reader's shell, the project folder, the daemon, what the terminal showed). The values
come from the snippets that run (``values.lesson_values``), and a typed command or a line of output is judged by the
answer boxes' own rules (``answers.json``), as everywhere else on the site."""

from __future__ import annotations

import re
from dataclasses import dataclass

from doclab.lesson.answers import AnswerRules
from doclab.lesson.values import LessonValueError


#: Where one command of a typed line ends: `cd x; docker build …`, `mkdir x && cd x`.
_COMMAND_SEPARATORS = re.compile(r"\s*(?:;|&&|\|\||\n)\s*")


@dataclass(frozen=True)
class Found:
    """What is there now. ``dockerfile``: the project folder's ``Dockerfile`` text (None: no such plain file);
    ``commands``: the command lines typed, in order; ``image_layers`` / ``base_layers``: the layers of the image built
    and of the base image on the daemon (None: not there); ``transcript``: what the terminal showed, as text."""

    folder_exists: bool
    dockerfile: str | None
    image_name_variable: str | None
    commands: tuple[str, ...]
    image_layers: tuple[str, ...] | None
    base_layers: tuple[str, ...] | None
    transcript: str


@dataclass(frozen=True)
class Verdict:
    done: bool
    says: str


def folder_name(make_folder_script: str) -> str:
    """The project folder the lesson makes (``mkdir NAME`` in its snippet)."""
    match = re.search(r"^mkdir\s+(\S+)\s*$", make_folder_script, re.MULTILINE)
    if match is None:
        raise LessonValueError("snippets/mini-project/make-project-folder.sh has no `mkdir FOLDER` line: the live "
                               "terminal's checks read the project folder from it")
    return match.group(1)


def check_step(step: str, found: Found, values: dict[str, str], folder: str, rules: AnswerRules) -> Verdict:
    """Whether ``step`` ("1" to "4") is done, and what to do when it is not."""
    name, base = values["image_name"], values["base_image"]
    if step == "1":
        wanted = f"FROM {base}"
        if not found.folder_exists:
            return Verdict(False, f"There is no folder {folder} in your home yet: run mkdir {folder}, then cd {folder}.")
        if found.dockerfile is None:
            return Verdict(False, f"No file named Dockerfile in {folder}: the client sends exactly that name "
                                  "(capital D, no extension).")
        if [line.strip() for line in found.dockerfile.splitlines() if line.strip()] != [wanted]:
            return Verdict(False, f"The Dockerfile should hold one line, {wanted}: `cat Dockerfile` shows what it holds.")
        return Verdict(True, f"Step 1 done: {folder}/Dockerfile says {wanted}, the base image the daemon will pull.")
    if step == "2":
        if found.image_name_variable is None:
            return Verdict(False, f"IMAGE_NAME is not set in this shell: run IMAGE_NAME={name} (no spaces around =).")
        if found.image_name_variable != name:
            return Verdict(False, f"IMAGE_NAME is {found.image_name_variable!r}, not {name}: run IMAGE_NAME={name}.")
        return Verdict(True, f"Step 2 done: $IMAGE_NAME is {name}, the name the daemon will tag the image with.")
    if step == "3":
        field = rules.steps["3"][0].name
        typed = [part for command in found.commands for part in _COMMAND_SEPARATORS.split(command)]
        if not any(rules.check("3", {field: part})[0].verdict == "right" for part in typed):
            tried = [part for part in typed if "docker" in part and "build" in part]
            if tried:
                return Verdict(False, f"You typed {tried[-1].strip()}, not the build command step 3 asks for: "
                                      f"docker build -t $IMAGE_NAME . (the tag from the variable, the dot for the folder).")
            return Verdict(False, "No build command typed here yet: type docker build -t $IMAGE_NAME . "
                                  f"in {folder} (the dot is the build context).")
        return Verdict(True, "Step 3 done: the build command names the image with $IMAGE_NAME and sends the folder (.) "
                             "as the build context.")
    if step == "4":
        dockerfile_right = found.dockerfile is not None and [
            line.strip() for line in found.dockerfile.splitlines() if line.strip()] == [f"FROM {base}"]
        if found.image_layers is None:
            if not dockerfile_right:
                return Verdict(False, f"The daemon has no image {name}, and {folder}/Dockerfile does not say FROM {base} "
                                      "yet: do step 1 first, then build.")
            return Verdict(False, f"The daemon has no image {name} yet: run docker build -t $IMAGE_NAME . in {folder} "
                                  "and read its last lines: an error names what went wrong.")
        if found.base_layers is None or found.image_layers[:len(found.base_layers)] != found.base_layers:
            return Verdict(False, f"The daemon has an image {name}, but not one built from {base}: check the "
                                  "Dockerfile (step 1) and build again.")
        lines = found.transcript.splitlines()
        missing = [field.label for field in rules.steps["4"]
                   if not any(rules.check_field("4", field.name, line).verdict == "right" for line in lines)]
        if missing:
            return Verdict(False, "The image is there, but this terminal has not shown these lines of its build: "
                                  f"{'; '.join(missing)}. Build it here without -q (docker build -t $IMAGE_NAME .) "
                                  "and read them.")
        return Verdict(True, f"Step 4 done: the client sent {folder}, the daemon pulled {base} from the registry and "
                             f"tagged the image {name}.")
    raise LessonValueError(f"the mini project has steps 1 to 4, not {step!r}")
