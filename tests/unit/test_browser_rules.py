"""The page's compare-your-output cleans lines with doclab.run.scrub's own rules (the page carries them): run under
Node, as the browser runs them, they give every line of every record what Python gives it."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from doclab.capture.record import CaptureStore
from doclab.render.markers import explain_rules_script
from doclab.run.scrub import _RULES, volatile_rules_for_browser

CAPTURES = CaptureStore(Path(__file__).resolve().parents[2] / "captures")
#: The browser's way: each rule as a global JavaScript RegExp, applied in order to one line.
APPLY = """
const rules = JSON.parse(process.argv[1]).map(([source, replacement]) => [new RegExp(source, "g"), replacement]);
const lines = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(lines.map((line) => rules.reduce((text, [pattern, to]) => text.replace(pattern, to), line))));
"""


def record_lines() -> list[str]:
    lines = set()
    for path in sorted(CAPTURES.directory.rglob("*.json")):
        page = path.relative_to(CAPTURES.directory).with_suffix(".md").as_posix()
        for capture in CAPTURES.load_intact(page).captures.values():
            lines.update(capture.output.splitlines())
    return sorted(lines)


def python_line(line: str) -> str:
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    return line


@pytest.mark.skipif(shutil.which("node") is None, reason="Node runs the browser's rules outside a browser")
def test_the_browsers_rules_give_every_recorded_line_what_pythons_give_it():
    lines = record_lines()
    done = subprocess.run(["node", "-e", APPLY, json.dumps(volatile_rules_for_browser())], input=json.dumps(lines),
                          capture_output=True, text=True, timeout=60, check=True)
    in_the_browser = json.loads(done.stdout)
    differing = [(line, js, python_line(line)) for line, js in zip(lines, in_the_browser, strict=True) if js != python_line(line)]
    assert not differing, differing[:5]
    assert sum(line != python_line(line) for line in lines) > 50, "the rules masked next to nothing: is this the right set?"


def test_pages_with_a_walkthrough_carry_both_rule_sets():
    script = explain_rules_script()
    volatile = json.loads(re.search(r'id="doclab-volatile-rules">(.*?)</script>', script)[1])
    assert volatile == [[pattern.pattern, replacement] for pattern, replacement in _RULES]
    assert 'id="doclab-explain-rules"' in script and "</script>" not in script.split("</script>")[-1]


def test_the_page_script_keeps_no_copy_of_the_rules():
    lesson = (Path(__file__).resolve().parents[2] / "docs" / "assets" / "lesson.js").read_text()
    assert "var VOLATILE = [];" in lesson and "sha256:<digest>" not in lesson


#: lesson.js's asPlain and the walk-through's rules, run as the page runs them, on lines read from stdin.
LABEL = """
const source = require("fs").readFileSync(process.argv[1], "utf8");
const asPlain = new Function(source.match(/function asPlain\\(line\\) \\{[\\s\\S]*?\\n  \\}/)[0] + "; return asPlain;")();
const rules = JSON.parse(process.argv[2]).map(([pattern, actors]) => ({pattern: new RegExp(pattern), actors}));
const lines = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(lines.map((line) => {
  const rule = rules.find((candidate) => candidate.pattern.test(asPlain(line)));
  return rule ? rule.actors : null;
})));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node runs the browser's rules outside a browser")
def test_the_page_labels_every_line_of_newer_dockers_builds_as_the_walkthrough_does():
    from doclab.render.walkthrough import explain, rules_for_browser

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "docker"
    newer = [line for path in sorted(fixtures.glob("*build*.txt")) for line in path.read_text().splitlines() if line.strip()]
    lines = newer + record_lines()
    lesson = Path(__file__).resolve().parents[2] / "docs" / "assets" / "lesson.js"
    done = subprocess.run(["node", "-e", LABEL, str(lesson), json.dumps(rules_for_browser())], input=json.dumps(lines),
                          capture_output=True, text=True, timeout=60, check=True)
    in_the_browser = json.loads(done.stdout)
    differing = []
    for line, actors in zip(lines, in_the_browser, strict=True):
        explained, _ = explain(line)
        python = list(explained[0].actors) if explained else None
        if actors != python:
            differing.append((line, actors, python))
    assert not differing, differing[:5]
    labelled = sum(actors is not None for actors in in_the_browser[:len(newer)])
    assert labelled > 0.8 * len(newer), f"only {labelled} of {len(newer)} lines of newer builds are labelled"
