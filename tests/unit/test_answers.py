"""The mini project's answer rules (snippets/mini-project/answers.json) checked in Python over the
table tests/answer_cases.json, which the browser test runs through the page's JavaScript too."""

import json

import pytest

from doclab.lesson.answers import AnswerRulesError, AnswerRules, load_rules, normalise
from doclab.page.parse import read_page
from doclab.settings import Settings
from doclab.lesson.values import lesson_values
from tests.conftest import ROOT

RULES_FILE = ROOT / "snippets" / "mini-project" / "answers.json"
CASES = json.loads((ROOT / "tests" / "answer_cases.json").read_text())["cases"]
RULES = load_rules(RULES_FILE)


def verdicts(step: str, answers: dict[str, str]) -> dict[str, str | None]:
    return {r.field: "empty" if r.verdict == "empty" else r.rule for r in RULES.check(step, answers)}


@pytest.mark.parametrize("case", CASES, ids=[f"step{c['step']}-{i}" for i, c in enumerate(CASES)])
def test_each_answer_meets_the_rule_the_table_names(case):
    assert verdicts(case["step"], case["answers"]) == case["expect"]
    assert all(r.verdict == "right" for r in RULES.check(case["step"], case["answers"])) is case["right"]


def test_every_rule_is_exercised_by_the_table():
    met = {rule for case in CASES for rule in case["expect"].values()}
    every = {rule.id for fields in RULES.steps.values() for field in fields for rule in field.rules}
    assert every - met == set()


def test_the_pages_own_solution_is_right():
    values = lesson_values(ROOT / "snippets")
    solution = {
        "1": {"file": "Dockerfile", "content": values["dockerfile"]},
        "2": {"assignment": (ROOT / "snippets" / "mini-project" / "set-image-name.sh").read_text()},
        "3": {"command": values["build_command"]},
    }
    for step, answers in solution.items():
        assert [r.verdict for r in RULES.check(step, answers)] == ["right"] * len(answers), step


def test_every_output_is_a_capture_of_the_lesson_with_its_declared_exit_code():
    docs = ROOT / "docs"
    page = read_page(docs / "mini-project.md", docs, Settings.from_env().snippets_dir)
    declared = {name: block.expected_exit for name, block in page.captures.items()}
    outputs = RULES.outputs_with_exit_codes(declared, page.path)
    assert {name: o["exit"] for name, o in outputs.items()} == {
        "dockerfile-txt": 1, "lowercase-dockerfile": 0, "spaces-around-equals": 127, "no-context": 1,
        "new-shell": 1, "upper-case-name": 1, "no-name": 0}
    with pytest.raises(AnswerRulesError, match="not run by docs/mini-project.md"):
        RULES.outputs_with_exit_codes({}, page.path)


@pytest.mark.parametrize("text, normal", [
    ("  a \t b  ", "a b"),
    ("a\r\nb\rc\u2028d\u2029e", "a\nb\nc\nd\ne"),
    ("\n\n a \n\n", "a"),
    ("\u201cx\u201d \u2018y\u2019", "\"x\" 'y'"),
    ("a\u00a0\u00a0b", "a b"),
    ("", ""),
])
def test_normalise(text, normal):
    assert normalise(text) == normal


def rules_with(pattern: str) -> dict:
    field = {"name": "f", "label": "F", "otherwise": "no", "accept": [{"id": "r", "pattern": pattern, "why": "w"}]}
    return {"lesson": "l", "outputs": {}, "steps": {"1": {"prompt": "p", "fields": [field]}}}


@pytest.mark.parametrize("pattern, complaint", [
    (r"a\sb", r"uses \\s"),
    (r"\d+", r"uses \\d"),
    ("(?P<x>a)", "other than"),
    ("(?i)a", "other than"),
    ("(?<=a)b", "other than"),
    ("^a", "anchors"),
    ("a$", "anchors"),
    ("caf\u00e9", "non-ASCII"),
    ("a(", "not a regular expression"),
])
def test_patterns_outside_the_shared_subset_are_refused(pattern, complaint):
    with pytest.raises(AnswerRulesError, match=complaint):
        AnswerRules(rules_with(pattern), "rules.json")


def test_a_pattern_within_the_subset_is_taken():
    rules = AnswerRules(rules_with(r"(?:x|[^ \n]y)\.\$\{z\}(['\"])\1"), "rules.json")
    assert rules.check("1", {"f": "ay.${z}''"})[0].verdict == "right"


@pytest.mark.parametrize("change, complaint", [
    (lambda d: d.pop("steps"), "needs 'lesson', 'outputs' and 'steps'"),
    (lambda d: d["outputs"].update(o={"title": "t", "printed_by": "kernel", "explanation": "e"}), "say one of shell"),
    (lambda d: d["outputs"].update(o={"title": "t", "printed_by": "client"}), "has no 'explanation'"),
    (lambda d: d["outputs"].update(o={"title": "t", "printed_by": "client", "explanation": "e"}), "named by no rule"),
    (lambda d: d["steps"]["1"]["fields"][0]["accept"][0].update(output="nowhere"), "'nowhere' is not in 'outputs'"),
    (lambda d: d["steps"]["1"]["fields"][0]["accept"].append({"id": "r", "pattern": "b", "why": "w"}), "an id of its own"),
    (lambda d: d["steps"]["1"]["fields"][0]["accept"][0].pop("why"), "needs a 'pattern' and a 'why'"),
    (lambda d: d["steps"]["1"]["fields"][0].pop("otherwise"), "a field needs"),
    (lambda d: d["steps"]["1"].pop("prompt"), "needs a 'prompt'"),
])
def test_a_broken_rules_file_is_refused_with_what_to_fix(change, complaint):
    data = rules_with("a")
    change(data)
    with pytest.raises(AnswerRulesError, match=complaint):
        AnswerRules(data, "rules.json")


def test_a_missing_or_invalid_file_is_named(tmp_path):
    with pytest.raises(AnswerRulesError, match="missing"):
        load_rules(tmp_path / "answers.json")
    (tmp_path / "answers.json").write_text("{")
    with pytest.raises(AnswerRulesError, match="not valid JSON"):
        load_rules(tmp_path / "answers.json")
