"""The page's compare-your-output cleans lines with doclab.run.scrub's own rules (the page carries them): run under
Node, as the browser runs them, they give every line of every record what Python gives it."""

import json
import re
import subprocess
from pathlib import Path

from doclab.capture.facts import BUILDERS
from doclab.capture.record import CaptureStore
from doclab.render.markers import explain_rules_script
from doclab.run.scrub import _RULES, volatile_rules_for_browser
from tests.unit.test_javascript import node

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


def test_the_browsers_rules_give_every_recorded_line_what_pythons_give_it():
    lines = record_lines()
    done = subprocess.run([node(), "-e", APPLY, json.dumps(volatile_rules_for_browser())], input=json.dumps(lines),
                          capture_output=True, text=True, timeout=60, check=True)
    in_the_browser = json.loads(done.stdout)
    differing = [(line, js, python_line(line)) for line, js in zip(lines, in_the_browser, strict=True) if js != python_line(line)]
    assert not differing, differing[:5]
    assert sum(line != python_line(line) for line in lines) > 50, "the rules masked next to nothing: is this the right set?"


def test_pages_with_a_walkthrough_carry_the_three_rule_sets():
    script = explain_rules_script()
    volatile = json.loads(re.search(r'id="doclab-volatile-rules">(.*?)</script>', script)[1])
    assert volatile == [[pattern.pattern, replacement] for pattern, replacement in _RULES]
    assert 'id="doclab-explain-rules"' in script and "</script>" not in script.split("</script>")[-1]
    builders = json.loads(re.search(r'id="doclab-builder-rules">(.*?)</script>', script)[1])
    assert builders == [list(rule) for rule in BUILDERS], "one rule set tells the builder: the facts', the page's"


def test_the_page_scripts_keep_no_copy_of_the_rules():
    assets = Path(__file__).resolve().parents[2] / "docs" / "assets"
    for script in ("lesson.js", "doclab-logic.js"):
        assert "sha256:<digest>" not in (assets / script).read_text(), script
