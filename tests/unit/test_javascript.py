"""The page's pure logic (docs/assets/doclab-logic.js: judging an answer, comparing a reader's output, labelling a line)
under Node's own test runner (tests/js/), on the same tables and rule sets Python's tests and the site build use."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from doclab.capture.facts import BUILDERS
from doclab.capture.record import CaptureStore
from doclab.render.walkthrough import explain, rules_for_browser
from doclab.run.scrub import volatile_rules_for_browser
from doclab.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = CaptureStore(ROOT / "captures")

#: Outputs pasted into "Compare your output", and what the page must say of each (the lesson's two tabs are the reference).
COMPARED = [
    ("BuildKit", "mini-project.md#build-buildkit", ["BuildKit builder", "Every line of yours is in the captured output"], ""),
    ("BuildKit in a terminal", "mini-project.md#build-buildkit-terminal", ["BuildKit builder",
                                                                          "Every line of yours is in the captured output"], ""),
    ("classic", "mini-project.md#build-classic", ["classic builder", "Every line of yours is in the captured output",
                                                  "deprecation notice"], ""),
    ("image present", "architecture/daemon.md#second-build", ["already had the base image", "deprecation notice"], ""),
    ("failed build", "architecture/troubleshooting.md#typo", ["Your build failed: the Dockerfile has an instruction"],
     "a-typo-in-the-dockerfile"),
    ("BuildKit on overlay2", "28.5-overlay2:mini-project.md#build-buildkit", ["compare with the “overlay2” tab",
                                                                             "Every line of yours is in the captured output"], ""),
    ("no permission on the socket", "permission denied while trying to connect to the Docker daemon socket at "
     "unix:///var/run/docker.sock: connect: permission denied\n", ["your user may not use the daemon's socket"], ""),
]
#: What the lesson's compare box holds as references (docs/mini-project.md's data-captures).
PAGE_REFERENCES = ["mini-project.md#build-buildkit", "mini-project.md#build-buildkit-terminal",
                   "28.5-overlay2:mini-project.md#build-buildkit", "mini-project.md#build-classic"]


def node() -> str:
    """Node.js, which scripts/test installs: missing, a skip with its reason; under CI=true a failure."""
    found = shutil.which("node")
    if found is None:
        how = "Node.js runs the page's logic outside a browser: apt-get install nodejs (scripts/test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(how)
        pytest.skip(how)
    return found


def output(reference: str) -> str:
    """``PAGE#ID`` (a record's capture), ``ENGINE:PAGE#ID`` (another engine's record of it), or an output itself."""
    if "#" not in reference:
        return reference
    engine, _, reference = reference.partition(":") if ":" in reference.split("#")[0] else ("", "", reference)
    page, name = reference.split("#")
    store = CaptureStore(Settings.from_env({}).engine_captures_dir / engine) if engine else CAPTURES
    return store.load_intact(page).captures[name].output


def build_lines() -> list[str]:
    fixtures = ROOT / "tests" / "fixtures" / "docker"
    lines = {line for path in sorted(fixtures.glob("*build*.txt")) for line in path.read_text().splitlines()}
    for path in sorted(CAPTURES.directory.rglob("*.json")):
        for capture in CAPTURES.load_intact(path.relative_to(CAPTURES.directory).with_suffix(".md").as_posix()).captures.values():
            if "build" in capture.command:
                lines.update(capture.output.splitlines())
    return sorted(line for line in lines if line.strip())


def test_the_pages_logic_under_nodes_test_runner(tmp_path):
    labelled = []
    for line in build_lines():
        explained, _ = explain(line)
        labelled.append([line, list(explained[0].actors) if explained else None])
    fixtures = {
        "explainRules": rules_for_browser(),
        "volatileRules": volatile_rules_for_browser(),
        "builderRules": [list(rule) for rule in BUILDERS],
        "answerRules": json.loads((ROOT / "snippets" / "mini-project" / "answers.json").read_text()),
        "answerCases": json.loads((ROOT / "tests" / "answer_cases.json").read_text())["cases"],
        "compareCases": [{"name": name, "output": output(reference), "says": says, "anchor": anchor,
                          "captured": {reference: output(reference) for reference in PAGE_REFERENCES}}
                         for name, reference, says, anchor in COMPARED],
        "labelledLines": labelled,
    }
    (tmp_path / "fixtures.json").write_text(json.dumps(fixtures))
    done = subprocess.run([node(), "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DOCLAB_JS_FIXTURES": str(tmp_path / "fixtures.json")})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
