"""The challenge's answer rules (snippets/challenge/answers.json): each typed answer of the table gets the rule it
names, every rule is met by one, and the page's own solutions (the snippets that ran) are right."""

import pytest

from doclab.lesson.answers import load_rules
from tests.conftest import ROOT

RULES = load_rules(ROOT / "snippets" / "challenge" / "answers.json")
SOLVED = ROOT / "snippets"

#: What ran on the page, step by step: the solutions a reader is shown.
SOLUTIONS = {
    "1": {"dockerfile": (SOLVED / "daemon" / "Dockerfile").read_text()},
    "2": {"command": (SOLVED / "mini-project" / "build.sh").read_text()},
    "3": {"command": (SOLVED / "challenge" / "run.sh").read_text()},
    "4": dict(zip(("tag", "push"), (SOLVED / "challenge" / "push.sh").read_text().splitlines(), strict=True)),
}
#: (step, answers, the rule each field meets)
CASES = [
    ("1", SOLUTIONS["1"], {"dockerfile": "dockerfile-run-cmd"}),
    ("1", {"dockerfile": "FROM alpine:3.18\nRUN echo hi > /hi.txt\nCMD cat /hi.txt"}, {"dockerfile": "dockerfile-run-cmd"}),
    ("1", {"dockerfile": "RUN echo hi > /hi.txt\nCMD cat /hi.txt"}, {"dockerfile": "dockerfile-no-from"}),
    ("1", {"dockerfile": "FROM alpine:3.18\nCMD cat /hi.txt"}, {"dockerfile": "dockerfile-no-run"}),
    ("1", {"dockerfile": "FROM alpine:3.18\nRUN echo hi > /hi.txt"}, {"dockerfile": "dockerfile-no-cmd"}),
    ("1", {"dockerfile": "FROM alpine:3.18\nRUN echo hi\nCMD cat /hi.txt"}, {"dockerfile": "dockerfile-run-no-write"}),
    ("1", {"dockerfile": "FROM ubuntu\nRUN echo hi > /hi.txt\nCMD cat /hi.txt"}, {"dockerfile": "dockerfile-other-base"}),
    ("1", {"dockerfile": "hello"}, {"dockerfile": None}),
    ("2", SOLUTIONS["2"], {"command": "build-variable"}),
    ("2", {"command": "docker build -t my-alpine-app ."}, {"command": "build-literal"}),
    ("2", {"command": "docker build -t my-alpine-image ."}, {"command": "build-old-name"}),
    ("2", {"command": "docker build -t $IMAGE_NAME"}, {"command": "build-no-context"}),
    ("3", SOLUTIONS["3"], {"command": "run-rm"}),
    ("3", {"command": "docker run -it --rm $IMAGE_NAME"}, {"command": "run-rm"}),
    ("3", {"command": "docker run $IMAGE_NAME"}, {"command": "run-no-rm"}),
    ("1", {"dockerfile": "FROM alpine:3.18\nRUN touch /baked.txt\nCMD ls /baked.txt"}, {"dockerfile": "dockerfile-run-cmd"}),
    ("3", {"command": "docker start my-alpine-app"}, {"command": "run-start"}),
    ("3", {"command": "docker run my-alpine-image"}, {"command": "run-old-name"}),
    ("4", SOLUTIONS["4"], {"tag": "tag-registry", "push": "push-registry"}),
    ("4", {"tag": "docker tag $IMAGE_NAME my-app:1.0", "push": "docker push my-alpine-app"},
     {"tag": "tag-no-registry", "push": "push-no-registry"}),
]


@pytest.mark.parametrize("step, answers, expected", CASES, ids=[f"step{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_answer_meets_the_rule_the_table_names(step, answers, expected):
    assert {result.field: result.rule for result in RULES.check(step, answers)} == expected


def test_every_rule_is_met_by_an_answer_of_the_table():
    met = {rule for _, _, expected in CASES for rule in expected.values()}
    assert {rule.id for fields in RULES.steps.values() for field in fields for rule in field.rules} - met == set()


def test_the_snippets_that_ran_on_the_page_are_right_answers():
    for step, answers in SOLUTIONS.items():
        assert [result.verdict for result in RULES.check(step, answers)] == ["right"] * len(answers), step
