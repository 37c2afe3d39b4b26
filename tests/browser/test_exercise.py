"""The mini project's answer boxes in Chromium (the verdict each answer of tests/answer_cases.json gets is
doclab-logic.js's, tested under Node: tests/unit/test_javascript.py): answers typed with the keyboard
tick the steps and survive a reload, each mistake shows the output captured for it, and the
boxes work at phone width (axe checks them answered, with a mistake open, in test_every_page.py). The fixtures are the browser tests' (tests/browser/conftest.py)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from doclab.capture.record import CaptureStore
from doclab.settings import Settings
from tests.browser.conftest import ARTIFACTS
from tests.conftest import ROOT

RULES = json.loads((ROOT / "snippets" / "mini-project" / "answers.json").read_text())
LESSON = "/mini-project/"
#: Each mistake the issue names, as a reader types it: (step, field, answer, rule, output).
MISTAKES = [
    ("1", "file", "Dockerfile.txt", "file-txt", "dockerfile-txt"),
    ("1", "file", "dockerfile", "file-lowercase", "lowercase-dockerfile"),
    ("2", "assignment", "IMAGE_NAME = my-alpine-image", "assign-spaces", "spaces-around-equals"),
    ("3", "command", "docker build -t $IMAGE_NAME", "build-no-context", "no-context"),
    ("3", "command", "docker build -t .", "build-empty-tag", "new-shell"),
    ("3", "command", "docker build -t My-Alpine-Image .", "build-upper-case", "upper-case-name"),
    ("3", "command", "docker build .", "build-no-name", "no-name"),
]

pytestmark = pytest.mark.browser


def box(tab, step: str):
    return tab.locator(f".exercise[data-step='{step}']")


def field(tab, step: str, name: str):
    return tab.locator(f"#exercise-{step}-{name}")


def type_into(tab, step: str, name: str, text: str) -> None:
    """Focus the field, select what is there and type over it, key by key."""
    field(tab, step, name).focus()
    tab.keyboard.press("ControlOrMeta+a")
    tab.keyboard.press("Backspace")
    tab.keyboard.type(text)


def check_with_keyboard(tab, step: str) -> str:
    box(tab, step).locator("button[type=submit]").focus()
    tab.keyboard.press("Enter")
    return box(tab, step).locator(".exercise__status").inner_text()


def solution_visible(tab, step: str) -> bool:
    return tab.evaluate("""step => [...document.querySelectorAll(`[data-exercise-fold="${step}"]`)]
                           .every(node => !node.hidden)""", step)


def progress(tab) -> str:
    return tab.locator(".lesson-progress__label").inner_text()


def recorded(capture: str):
    return CaptureStore(Settings.from_env().captures_dir).load("mini-project.md").captures[capture]


def test_answers_typed_with_the_keyboard_tick_the_steps_and_survive_a_reload(page, site):
    page.goto(site[1] + LESSON)
    assert progress(page) == "0 / 4 steps"
    assert not page.locator("details.tip").first.is_visible() and not solution_visible(page, "1")
    typed = {
        ("1", "file"): "Dockerfile", ("1", "content"): "from alpine:3.18",  # tolerated: a lower-case instruction
        ("2", "assignment"): 'IMAGE_NAME="my-alpine-image"',  # tolerated: quotes
        ("3", "command"): "docker build -t $IMAGE_NAME .",
        ("4", "upload"): "Sending build context to Docker daemon", ("4", "pull"): "3.18: Pulling from library/alpine",
        ("4", "tag"): "Successfully tagged my-alpine-image:latest",
    }
    for step in "1234":
        for (in_step, name), text in typed.items():
            if in_step == step:
                type_into(page, step, name, text)
        assert check_with_keyboard(page, step) == f"Right — step {step} is done."
        assert solution_visible(page, step) and page.is_checked(f"input[data-step='{step}']")
    assert "not case-sensitive" in box(page, "1").locator("[data-field='content']").inner_text()
    assert "the shell removes them" in box(page, "2").locator(".exercise__result").inner_text()
    assert progress(page) == "4 / 4 steps"

    page.reload()
    assert progress(page) == "4 / 4 steps"
    for (step, name), text in typed.items():
        assert field(page, step, name).input_value() == text
    for step in "1234":
        assert box(page, step).locator(".exercise__status").inner_text() == f"Right — step {step} is done."
        assert solution_visible(page, step) and not box(page, step).locator(".exercise__show").is_visible()
    page.goto(site[1] + "/")
    expect(page.locator(".learning-summary__steps")).to_have_text("4 / 4 steps")


def test_each_mistake_shows_the_output_captured_for_it(page, site):
    page.goto(site[1] + LESSON)
    type_into(page, "1", "content", "FROM alpine:3.18")
    for step, name, text, rule, output in MISTAKES:
        type_into(page, step, name, text)
        check_with_keyboard(page, step)
        result = box(page, step).locator(f".exercise__result[data-field='{name}']")
        assert result.get_attribute("data-rule") == rule
        capture, spec = recorded(output), RULES["outputs"][output]
        who = f"printed by {'the ' + spec['printed_by']}, exit code {capture.exit_code}."
        assert who in result.locator(".exercise__who").inner_text()
        shown = result.locator(".exercise__printed pre code").inner_text()
        assert shown.rstrip("\n") == capture.output.rstrip("\n"), output
        assert result.locator(".exercise__printed pre").is_visible()
    assert progress(page) == "1 / 4 steps"  # only the lower-case dockerfile, which works, ticked a step
    assert not solution_visible(page, "3")
    box(page, "3").get_by_role("link", name="How it ran").click()
    assert page.locator("details.exercise-mistakes").evaluate("d => d.open")
    assert page.locator("#mistake-no-name").is_visible()


def test_hint_and_show_the_solution_unfold_without_ticking(page, site):
    page.goto(site[1] + LESSON)
    box(page, "2").get_by_role("button", name="Need a hint?").click()
    hint = page.locator("details.tip").nth(1)
    assert hint.is_visible() and hint.evaluate("d => d.open") and not solution_visible(page, "2")
    box(page, "2").get_by_role("button", name="Show the solution").click()
    assert solution_visible(page, "2") and progress(page) == "0 / 4 steps"
    page.reload()
    assert solution_visible(page, "2") and not solution_visible(page, "3")
    page.click(".lesson-progress__reset")
    assert not solution_visible(page, "2")
    page.goto(site[1] + LESSON + "#what-each-line-means")  # a link to a folded heading unfolds its step
    assert solution_visible(page, "4") and not solution_visible(page, "1")


def test_without_javascript_every_solution_and_mistake_is_there(open_tab, site):
    tab = open_tab(java_script_enabled=False)
    tab.goto(site[1] + LESSON)
    assert tab.locator("div.highlight", has_text="docker build -t $IMAGE_NAME .").first.is_visible()
    assert not tab.locator(".exercise").first.is_visible()
    assert tab.locator(".exercise-output").count() == len(RULES["outputs"])


def feedback_open(tab) -> None:
    type_into(tab, "1", "file", "Dockerfile.txt")
    type_into(tab, "1", "content", "FROM alpine")
    check_with_keyboard(tab, "1")
    type_into(tab, "3", "command", "docker build -t $IMAGE_NAME .")
    check_with_keyboard(tab, "3")


def test_boxes_work_at_phone_width_with_no_horizontal_scroll(open_tab, site):
    phone = open_tab(viewport={"width": 375, "height": 812}, device_scale_factor=2)
    phone.goto(site[1] + LESSON, wait_until="load")
    feedback_open(phone)
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    inputs = phone.evaluate("""[...document.querySelectorAll('.exercise__input, .exercise__actions > *')]
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0)
        .map(r => [Math.round(r.left), Math.round(r.right), Math.round(r.height)])""")
    ARTIFACTS.mkdir(exist_ok=True)
    box(phone, "1").screenshot(path=str(ARTIFACTS / "exercise-375px.png"))
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px window"
    assert all(left >= 0 and right <= widths[1] and height >= 24 for left, right, height in inputs), inputs


def test_on_a_phone_a_long_command_stays_in_view_and_enter_checks_it(open_tab, site):
    """The end of a command (where a missing ``.`` would be) is never scrolled out of a one-line box."""
    phone = open_tab(viewport={"width": 375, "height": 812}, device_scale_factor=2)
    phone.goto(site[1] + LESSON, wait_until="load")
    command = "sudo DOCKER_BUILDKIT=1 docker build --progress=plain --tag \"$IMAGE_NAME\" --file ./Dockerfile ."
    type_into(phone, "3", "command", command)
    answer = field(phone, "3", "command")
    sizes = answer.evaluate("e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
    phone.keyboard.press("Enter")
    status = box(phone, "3").locator(".exercise__status").inner_text()
    typed = answer.input_value()
    ARTIFACTS.mkdir(exist_ok=True)
    box(phone, "3").screenshot(path=str(ARTIFACTS / "exercise-long-command-375px.png"))
    scroll_width, client_width, scroll_height, client_height = sizes
    assert scroll_width <= client_width and scroll_height <= client_height + 1, sizes
    assert client_height > 40, "the box did not grow a row for the wrapped command"
    assert typed == command, "Enter must check the answer, not add a line"
    assert status, "Enter did not check the answer"


def test_inside_a_step_card_the_solution_folds_within_the_card(page, site):
    """The lesson wraps each step in a card (data-step-card), its tick box last in the card: fold inside the card."""
    page.goto(site[1] + LESSON)
    card = page.locator("[data-step-card='1']")
    solution = card.locator("div.highlight").first  # the Dockerfile, then the check-your-work command and output
    assert not solution.is_visible() and card.locator("label.lesson-step input").is_visible()
    assert page.locator("#step-2-define-a-variable-for-the-image-name").is_visible()
    type_into(page, "1", "file", "Dockerfile")
    type_into(page, "1", "content", "FROM alpine:3.18")
    assert check_with_keyboard(page, "1") == "Right — step 1 is done."
    assert solution.is_visible() and card.locator(".lesson-check .doclab-output").is_visible() and progress(page) == "1 / 4 steps"


@pytest.mark.parametrize("width, height", [(1280, 800), (375, 812)])
def test_a_hint_opened_by_its_button_is_not_under_the_sticky_progress_header(page, site, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(site[1] + LESSON)
    box(page, "2").get_by_role("button", name="Need a hint?").click()
    page.wait_for_timeout(300)  # the jump to the anchor
    hint = page.locator("details.tip").nth(1).bounding_box()
    header = page.locator(".lesson-progress").bounding_box()
    assert hint["y"] >= header["y"] + header["height"], (hint, header)


def test_a_focused_check_button_keeps_its_text_readable(page, site):
    page.goto(site[1] + LESSON)
    button = box(page, "1").get_by_role("button", name="Check")
    page.keyboard.press("Tab")  # into the page, then to the button as a keyboard user gets there
    button.focus()
    page.wait_for_timeout(400)  # the theme's colour transition
    colours = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert colours == ["rgb(255, 255, 255)", "rgb(63, 81, 216)"], colours  # 6.2:1 (Material's accent gave 4.26:1)


def test_a_right_answer_takes_the_hint_away_and_a_later_wrong_one_takes_the_tick_back(page, site):
    page.goto(site[1] + LESSON)
    hint_link = box(page, "2").get_by_role("button", name="Need a hint?")
    assert hint_link.is_visible()
    type_into(page, "2", "assignment", "IMAGE_NAME=my-alpine-image")
    assert check_with_keyboard(page, "2") == "Right — step 2 is done."
    assert page.is_checked("input[data-step='2']") and progress(page) == "1 / 4 steps"
    assert not hint_link.is_visible(), "a solved step offers no hint"
    type_into(page, "2", "assignment", "IMAGE_NAME = my-alpine-image")
    assert check_with_keyboard(page, "2").startswith("Not yet")
    assert not page.is_checked("input[data-step='2']") and progress(page) == "0 / 4 steps"
    assert hint_link.is_visible()
    page.reload()
    assert progress(page) == "0 / 4 steps" and hint_link.is_visible()


def test_a_ticked_step_stays_ticked_when_the_reader_ticked_it_and_the_box_is_wrong(page, site):
    """A tick of the reader's own (they did it in their terminal) is theirs: only a tick a right answer made is taken back."""
    page.goto(site[1] + LESSON)
    page.check("input[data-step='2']")
    type_into(page, "2", "assignment", "IMAGE_NAME = my-alpine-image")
    assert check_with_keyboard(page, "2").startswith("Not yet")
    assert page.is_checked("input[data-step='2']") and progress(page) == "1 / 4 steps"


def test_a_toc_link_into_a_folded_solution_unfolds_it_and_brings_the_heading_into_view(page, site):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(site[1] + LESSON)
    heading = page.locator("#what-each-line-means")
    assert heading.is_hidden(), "before step 4 is solved, its explanation is folded"
    page.locator(".md-sidebar--secondary a[href='#what-each-line-means']").click()
    heading.wait_for(state="visible")
    page.wait_for_timeout(300)  # the jump
    box_ = heading.bounding_box()
    header = page.locator(".lesson-progress").bounding_box()
    assert header["y"] + header["height"] <= box_["y"] <= 800 - box_["height"], (box_, header)


def test_a_step_the_reader_unticks_no_longer_says_it_is_done_also_after_a_reload(page, site):
    page.goto(site[1] + LESSON)
    type_into(page, "1", "file", "Dockerfile")
    type_into(page, "1", "content", "FROM alpine:3.18")
    assert check_with_keyboard(page, "1") == "Right — step 1 is done."
    page.uncheck("input[data-step='1']")
    status = box(page, "1").locator(".exercise__status")
    assert status.inner_text() == "Your answer is right; step 1 is not ticked as done." and progress(page) == "0 / 4 steps"
    page.reload()
    assert status.inner_text() == "Your answer is right; step 1 is not ticked as done."
    page.check("input[data-step='1']")
    assert status.inner_text() == "Right — step 1 is done."


def test_after_show_the_solution_or_need_a_hint_the_keyboard_goes_on_from_what_opened(page, site):
    page.goto(site[1] + LESSON)
    box(page, "1").get_by_role("button", name="Show the solution").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement !== document.body"), "focus fell back to the top of the page"
    assert page.evaluate("document.activeElement.dataset.exerciseFold") == "1"
    box(page, "2").get_by_role("button", name="Need a hint?").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.tagName === 'SUMMARY'", timeout=5000)
    assert page.evaluate("document.activeElement.closest('details').open")


@pytest.mark.parametrize("width", [320, 375])
def test_the_finished_progress_header_fits_a_phone_and_its_targets_are_24_px(open_tab, site, width):
    tab = open_tab(viewport={"width": width, "height": 700})
    tab.goto(site[1] + LESSON)
    for step in "1234":
        tab.check(f"input[data-step='{step}']")
    boxes = {name: tab.locator(f".lesson-progress__{name}").bounding_box() for name in ("label", "next", "reset")}
    assert boxes["label"]["x"] + boxes["label"]["width"] <= boxes["next"]["x"], boxes
    assert boxes["next"]["x"] + boxes["next"]["width"] <= boxes["reset"]["x"], boxes
    assert all(box_["height"] >= 24 for name, box_ in boxes.items() if name != "label"), boxes


#: The words a reader sees (closed folds, hidden tabs and folded solutions left out), before the first answer box and
#: in all; outputs and commands counted apart, as code.
VISIBLE_WORDS = """() => {
  const box = document.querySelector('.exercise[data-step] textarea');
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  const counted = {before: 0, prose: 0, code: 0};
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    // The hidden rest of a digest (lesson.js) is part of the word it ends.
    if (!parent.checkVisibility() || parent.closest('script, style, .doclab-digest-rest')) continue;
    const words = node.textContent.split(/\\s+/).filter(Boolean).length;
    counted[parent.closest('pre') ? 'code' : 'prose'] += words;
    if (!parent.closest('pre') && box.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_PRECEDING) counted.before += words;
  }
  return counted;
}"""


@pytest.mark.parametrize("width, height", [(1280, 800), (375, 667)])
def test_a_beginner_reads_little_before_the_first_answer_box_and_tabs_there_in_a_few_presses(open_tab, site, width, height):
    tab = open_tab(viewport={"width": width, "height": height})
    tab.goto(site[1] + LESSON, wait_until="load")
    counted = tab.evaluate(VISIBLE_WORDS)
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.classList.contains('md-skip')"), "the first Tab reaches the skip link"
    tab.keyboard.press("Enter")
    first_box, presses = field(tab, "1", "file"), 0
    while not first_box.evaluate("box => box === document.activeElement") and presses < 30:
        tab.keyboard.press("Tab")
        presses += 1
    print(f"\n{width} px: {counted['before']} words before the first answer box, {counted['prose']} + {counted['code']} "
          f"of code in the first view; {presses} Tab presses from the skip link to the first box")
    assert counted["before"] <= 250 and counted["prose"] + counted["code"] <= 900, counted
    assert presses <= 10, presses


CHALLENGE = "/learn/challenge/"


@pytest.mark.parametrize("options", [{"viewport": {"width": 1280, "height": 800}},
                                     {"viewport": {"width": 375, "height": 667}, "color_scheme": "dark"}],
                         ids=["1280-light", "375-dark"])
def test_the_challenge_checks_its_answers_and_counts_progress_like_the_mini_project(open_tab, site, options):
    tab = open_tab(**options)
    tab.goto(site[1] + CHALLENGE, wait_until="load")
    assert progress(tab) == "0 / 4 steps" and not solution_visible(tab, "1")
    type_into(tab, "1", "dockerfile", "FROM alpine:3.18\nCMD cat /baked.txt")
    assert check_with_keyboard(tab, "1").startswith("Not yet")
    assert "Nothing writes the file" in box(tab, "1").locator(".exercise__results").inner_text()
    answers = {"1": {"dockerfile": 'FROM alpine:3.18\nRUN echo "baked by the daemon" > /baked.txt\nCMD ["cat", "/baked.txt"]'},
               "2": {"command": "docker build -t $IMAGE_NAME ."}, "3": {"command": "docker run --rm $IMAGE_NAME"},
               "4": {"tag": "docker tag $IMAGE_NAME localhost:5000/$IMAGE_NAME:1.0",
                     "push": "docker push localhost:5000/$IMAGE_NAME:1.0"}}
    for step, fields in answers.items():
        for name, text in fields.items():
            type_into(tab, step, name, text)
        assert check_with_keyboard(tab, step) == f"Right — step {step} is done.", step
        assert solution_visible(tab, step)
    assert progress(tab) == "4 / 4 steps" and tab.locator(".lesson-complete").is_visible()
    assert tab.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
    tab.reload()
    assert progress(tab) == "4 / 4 steps", "kept in this browser, apart from the mini project's"
    tab.goto(site[1] + LESSON, wait_until="load")
    assert progress(tab) == "0 / 4 steps"
