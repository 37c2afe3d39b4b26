"""axe-core on every page in every state a reader's browser reaches: as it loads, hints open, the quiz
answered, dark mode, a phone, and on the pages that have them the answered exercise with its Check button
focused, the quiz answered in dark mode and the completed lesson. No serious or critical violation.

A file of its own, so pytest-xdist runs it beside the other browser tests; axe is loaded by the context
into every page before the page's scripts, and a page is checked once it has loaded (nothing on the site
loads later but the search index, which is fetched when search opens)."""

from __future__ import annotations

import json

import pytest

import tests.browser.test_exercise as exercise_suite
import tests.browser.test_site_in_browser as site_suite
from tests.docker_env import unavailable

site, browser = site_suite.site, site_suite.browser

pytestmark = pytest.mark.browser

#: Only violations are read: without resultTypes axe also gathers every passing node (a third of its time here).
RUN_AXE = ("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
           ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
           " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")


def open_hints(tab) -> int:
    """Open every folded part of the page; how many there were (none: the page looks as it loaded)."""
    return tab.evaluate("(() => { const closed = [...document.querySelectorAll('details:not([open])')];"
                        " closed.forEach(d => { d.open = true; }); return closed.length; })()")


def answer_quiz(tab) -> int:
    """Answer every question of the page, right and wrong, so both kinds of feedback are shown; how many."""
    quizzes = tab.locator("div.quiz").all()
    for index, quiz in enumerate(quizzes):
        quiz.locator("label[for]").nth(index % 2).click()
    return len(quizzes)


def answer_exercise(tab) -> None:
    """Feedback open, a mistake's output unfolded, and the focus left on a Check button."""
    exercise_suite.feedback_open(tab)
    tab.locator("details.exercise-mistakes summary").first.click()
    exercise_suite.box(tab, "3").locator("button[type=submit]").focus()


def complete_lesson(tab) -> None:
    for step in ("1", "2", "3", "4"):
        tab.check(f"input[data-step='{step}']")
    tab.locator(".lesson-complete").wait_for(state="visible")


#: What a page's built HTML holds when the state can change it: a page without it is in its initial state there.
PRESENT_AS = {open_hints: "<details", answer_quiz: '<div class="quiz"'}


def html_of(site_dir, path: str) -> str:
    return (site_dir / path.strip("/") / "index.html").read_text()


LIGHT, DARK = {"color_scheme": "light"}, {"color_scheme": "dark"}
PHONE = {"color_scheme": "light", "viewport": {"width": 375, "height": 812}}
#: state: (browser options, what the reader did, the pages it applies to; None: every page)
STATES = {
    "initial": (LIGHT, None, None),
    "hints open": (LIGHT, open_hints, None),
    "quiz answered": (LIGHT, answer_quiz, None),
    "dark": (DARK, None, None),
    "375 px": (PHONE, None, None),
    "exercise answered, Check focused": (LIGHT, answer_exercise, ["/mini-project/"]),
    "exercise answered, dark": (DARK, answer_exercise, ["/mini-project/"]),
    "exercise answered, 375 px": (PHONE, answer_exercise, ["/mini-project/"]),
    "quiz answered, dark": (DARK, answer_quiz, ["/learn/quiz/"]),
    "lesson completed": (LIGHT, complete_lesson, ["/mini-project/"]),
    "lesson completed, dark": (DARK, complete_lesson, ["/mini-project/"]),
}


@pytest.mark.parametrize("state", STATES)
def test_axe_finds_no_serious_or_critical_violation(browser, site, state):
    if not site_suite.AXE.exists():
        unavailable(f"{site_suite.AXE} is missing (npm ci in tests/browser)")
    options, act, only = STATES[state]
    context = browser.new_context(**options)
    context.add_init_script(path=str(site_suite.AXE))
    tab = context.new_page()
    found, serious, unchanged = {}, {}, []
    for path in only or site_suite.all_pages(site[0]):
        if act in PRESENT_AS and PRESENT_AS[act] not in html_of(site[0], path):
            unchanged.append(path)  # the page has nothing this state opens or answers (its built HTML says so)
            continue
        tab.goto(site[1] + path, wait_until="load")
        if act and act(tab) == 0:
            unchanged.append(path)  # nothing to open or answer here: the page is in its initial state, checked there
            continue
        violations = tab.evaluate(RUN_AXE)
        found[path] = {v["id"]: v["impact"] for v in violations}
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        if bad:
            serious[path] = bad
    context.close()
    site_suite.ARTIFACTS.mkdir(exist_ok=True)
    name = state.replace(",", "").replace(" ", "-")
    (site_suite.ARTIFACTS / f"axe-{name}.json").write_text(
        json.dumps({"violations": found, "serious": serious, "as_initial": unchanged}, indent=2) + "\n")
    print(f"\naxe ({state}): {len(found)} page(s) checked, {len(unchanged)} as initially; "
          f"{sum(len(page) for page in found.values())} minor or moderate, {len(serious)} page(s) serious")
    assert found, f"{state}: no page reached this state"
    assert serious == {}, f"{state}: {json.dumps(serious, indent=2)}"
