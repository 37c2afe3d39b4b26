"""The learner's experience, in Debian's Chromium driven by Playwright, against the built site
served on 127.0.0.1: progress, hints, quiz, copy buttons, the annotated outputs, search and the palette
(every page in every state, axe-core, weights and phone width: test_every_page.py)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from doclab.capture.record import CaptureStore
from doclab.run.scrub import as_terminal_shows
from doclab.settings import Settings
from tests.browser.conftest import ARTIFACTS, all_pages
from tests.conftest import ROOT
from tests.docker_env import fresh_daemon

pytestmark = pytest.mark.browser


def test_progress_is_kept_across_reloads_shown_on_the_landing_page_and_reset(page, site):
    page.goto(site[1] + "/mini-project/")
    assert page.locator(".lesson-progress__label").inner_text() == "0 / 4 steps"
    page.check("input[data-step='1']")
    page.check("input[data-step='3']")
    page.reload()
    expect(page.locator(".lesson-progress__label")).to_have_text("2 / 4 steps")  # set by the lesson's script once it runs
    assert page.is_checked("input[data-step='3']") and not page.is_checked("input[data-step='2']")
    page.goto(site[1] + "/")
    expect(page.locator(".learning-summary__steps")).to_have_text("2 / 4 steps")
    page.goto(site[1] + "/mini-project/")
    page.click(".lesson-progress__reset")
    assert page.locator(".lesson-progress__label").inner_text() == "0 / 4 steps"
    page.reload()
    assert not page.is_checked("input[data-step='1']")


def test_hints_are_collapsed_until_opened(page, site):
    page.goto(site[1] + "/mini-project/")
    hints = page.locator("details.tip")
    assert hints.count() == 4
    assert all(not hints.nth(i).evaluate("d => d.open") for i in range(4))
    page.click(".exercise[data-step='1'] .exercise__hint")  # folded with the step's solution, opened from its answer box
    assert hints.first.evaluate("d => d.open")


def test_a_hint_opens_in_steps_a_nudge_then_where_to_look_then_the_answer(page, site):
    page.goto(site[1] + "/mini-project/")
    page.click(".exercise[data-step='3'] .exercise__hint")
    hint = page.locator("details.tip").nth(2)
    parts = hint.locator(".hint-step")
    assert parts.count() == 3
    visible = lambda: [parts.nth(i).is_visible() for i in range(3)]  # noqa: E731
    assert visible() == [True, False, False] and "docker build -t" not in hint.inner_text()
    page.keyboard.press("Tab")  # from the hint's summary, which has the focus, to its one button
    assert page.evaluate("document.activeElement.textContent") == "Another hint (2 of 3)"
    page.keyboard.press("Space")
    assert visible() == [True, True, False]
    assert page.evaluate("document.activeElement.classList.contains('hint-step')"), "the keyboard goes on from what opened"
    hint.get_by_role("button", name="Show the answer").click()
    assert visible() == [True, True, True] and "docker build -t $IMAGE_NAME ." in parts.nth(2).inner_text()
    assert hint.locator(".exercise__next-hint").is_hidden()
    page.locator("details.tip").nth(2).locator("summary").click()  # closed: it opens again at the nudge
    page.click(".exercise[data-step='3'] .exercise__hint")
    assert visible() == [True, False, False]


def test_quiz_gives_feedback_and_a_score_shown_on_the_landing_page(page, site):
    page.goto(site[1] + "/learn/quiz/")
    page.click("label[for='quiz-0-1']")  # right: the daemon pulls
    first = page.locator("#quiz-0 .quiz-feedback")
    first.wait_for(state="visible")
    page.click("label[for='quiz-1-2']")  # wrong: it is not the image's size
    second = page.locator("#quiz-1 .quiz-feedback")
    second.wait_for(state="visible")
    assert first.locator(".quiz-feedback-item.correct").inner_text().strip() == "Correct answer!"
    assert second.locator(".quiz-feedback-item.incorrect").count() == 1
    assert page.locator("#quiz-0 section.content").is_visible()
    assert page.locator(".quiz-results-correct").inner_text() == "1"
    assert page.locator(".quiz-results-answered").inner_text() == "2"
    page.goto(site[1] + "/")
    expect(page.locator(".learning-summary__quiz")).to_have_text("1 / 6 correct")


def test_flashcards_flip_remember_what_the_reader_knew_and_shuffle(page, site):
    page.goto(site[1] + "/learn/flashcards/")
    card = page.locator(".flashcard").first
    assert not card.locator(".flashcard__back").is_visible()
    card.click()
    assert card.get_attribute("aria-pressed") == "true" and card.locator(".flashcard__back").is_visible()
    count = page.locator(".flashcards__count")
    total = page.locator(".flashcard").count()
    page.get_by_role("button", name="I knew Client").click()
    assert count.inner_text() == f"1 of {total} known"
    card.click()  # flipped back: its term shows again
    before = page.locator(".flashcard__front").all_inner_texts()
    for _ in range(5):  # five shuffles of ten cards all giving the page's order: one chance in 10!^5
        page.get_by_role("button", name="Shuffle").click()
        shuffled = page.locator(".flashcard__front").all_inner_texts()
        if shuffled != before:
            break
    assert sorted(shuffled) == sorted(before) and shuffled != before
    page.reload()
    assert page.locator(".flashcard__front").all_inner_texts() == shuffled, "the shuffled order is kept"
    assert count.inner_text() == f"1 of {total} known"
    assert page.get_by_role("button", name="I knew Client").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Tab")  # the keyboard reaches every card and its mark in the order shown
    page.get_by_role("button", name="Start over").click()
    assert count.inner_text() == f"0 of {total} known" and page.locator(".flashcard__front").all_inner_texts() == before
    page.get_by_role("button", name="Undo start over").click()  # the marks and the order come back
    assert count.inner_text() == f"1 of {total} known" and page.locator(".flashcard__front").all_inner_texts() == shuffled
    assert page.get_by_role("button", name="Undo start over").is_hidden()


def test_copy_button_copies_exactly_the_command(page, site):
    page.goto(site[1] + "/mini-project/")
    page.click(".exercise[data-step='3'] .exercise__show")
    block = page.locator("div.highlight", has_text="docker build -t $IMAGE_NAME .").first
    block.hover()
    block.locator("button.md-code__button[data-md-type='copy']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == (ROOT / "snippets" / "mini-project" / "build.sh").read_text().strip()
    assert "$ " not in copied and "Successfully" not in copied


def interactive_bash(cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """A real interactive bash (``-i``) on a pseudo-terminal, as a reader's terminal runs it."""
    controller, terminal = pty.openpty()
    shell = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], cwd=cwd, stdin=terminal, stdout=terminal,
                             stderr=terminal, env=env, start_new_session=True, close_fds=True)
    os.close(terminal)
    return shell, controller


def read_until(controller: int, marker: bytes, seconds: float) -> bytes:
    """What the terminal shows until ``marker`` appears (or the time is up, or the shell is gone)."""
    seen, deadline = b"", time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the shell has ended: its terminal is closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def copied_script(page, site) -> str:
    page.goto(site[1] + "/mini-project/")
    page.click(".doclab-script__copy")
    return page.evaluate("navigator.clipboard.readText()")


def test_copy_all_offers_the_same_script_as_a_download(page, site):
    script = copied_script(page, site)
    assert script.startswith("#!/usr/bin/env bash") and "FROM alpine:3.18" in script
    assert "set -e" in script.split("(\n", 1)[1], "set -e must stay inside the subshell"
    assert "DOCLAB" not in script and "docs/" not in script
    with page.expect_download() as download:
        page.click(".doclab-script__download")
    assert Path(download.value.path()).read_text() == script


def test_without_the_clipboard_api_the_button_says_how_to_copy(open_tab, site):
    tab = open_tab()
    tab.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    tab.goto(site[1] + "/mini-project/")
    tab.click(".doclab-script__copy")
    status = tab.locator(".doclab-script__status").inner_text()
    selected = tab.evaluate("String(window.getSelection())")
    assert "Ctrl+C" in status and "download" in status
    assert selected.startswith("#!/usr/bin/env bash")


@pytest.mark.docker
def test_copy_all_pasted_into_an_interactive_shell_prints_step_4_and_keeps_the_shell(page, site, tmp_path):
    script = copied_script(page, site)
    with fresh_daemon("copy-all-pty") as daemon_handle:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_HOST": daemon_handle.docker_host, "PS1": "$ ", "TERM": "dumb"}
        shell, controller = interactive_bash(tmp_path, env)
        try:
            os.write(controller, script.encode())
            os.write(controller, b"echo shell-still-$((20 + 22))\n")
            printed = read_until(controller, b"shell-still-42", 300)
            alive = shell.poll() is None
            # Markers the shell computes, so the terminal's echo of the typed line cannot match them.
            os.write(controller, b"(exit 3); echo after-a-failure-$?; false; echo still-$((1 + 1))-here\n")
            after = read_until(controller, b"still-2-here", 30)
        finally:
            shell.kill()
            shell.wait()
            os.close(controller)
    text = as_terminal_shows(printed.decode(errors="replace"))
    assert alive and b"shell-still-42" in printed, text[-2000:]
    assert b"after-a-failure-3" in after and b"still-2-here" in after
    assert re.search(r"Successfully tagged my-alpine-image:latest|naming to docker.io/library/my-alpine-image", text), text[-2000:]
    assert "my-alpine-image   latest" in text  # step 4's check: the daemon lists the image


def test_quiz_code_only_on_the_quiz_page_and_not_in_the_search_index(page, site):
    quiz_marks = ("quiz-progress-sidebar", "JSConfetti", "mkdocsQuizConfig")
    carrying = [path for path in all_pages(site[0]) if path != "/learn/quiz/"
                and any(mark in (site[0] / path.strip("/") / "index.html").read_text() for mark in quiz_marks)]
    assert carrying == []
    assert all(mark in (site[0] / "learn" / "quiz" / "index.html").read_text() for mark in quiz_marks)
    assert "Answered:" not in (site[0] / "search" / "search_index.json").read_text()
    page.goto(site[1] + "/", wait_until="load")
    assert page.locator("canvas").count() == 0


def test_confetti_honours_reduced_motion(open_tab, site):
    tab = open_tab(reduced_motion="reduce")
    tab.goto(site[1] + "/learn/quiz/", wait_until="load")
    config = tab.evaluate("window.mkdocsQuizConfig.confetti")
    canvases = tab.locator("canvas").count()
    assert config is False and canvases == 0


def test_progress_header_stays_visible_ticks_show_in_the_toc_and_4_of_4_completes(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    header = page.locator(".lesson-progress")
    page.locator("[data-step-card='4'] h2").scroll_into_view_if_needed()
    box = header.bounding_box()
    assert box and 0 <= box["y"] <= 120, f"the progress header scrolled away: {box}"
    for step in "1234":
        card = page.locator(f"[data-step-card='{step}']")
        assert card.locator(f"label.lesson-step input[data-step='{step}']").count() == 1
        assert card.locator(".lesson-check .doclab-output").count() == 1, f"step {step} has no captured check"
    assert page.locator(".lesson-complete").is_hidden()
    page.check("input[data-step='1']")
    expect(page.locator("[data-step-card='1']")).to_have_class(re.compile(r"\bstep-card--done\b"))
    assert page.locator(".md-sidebar--secondary a.lesson-toc--done").count() == 1
    for step in "234":
        page.check(f"input[data-step='{step}']")
    assert page.locator(".lesson-complete").is_visible()
    assert page.locator(".lesson-complete a[href$='quiz/']").count() == 1
    assert page.locator(".lesson-complete a[href$='challenge/']").count() == 1


def test_step_checkboxes_show_a_focus_ring(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.focus("input[data-step='1']")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()")
    assert outline[0] != "none" and outline[1] != "0px", outline


def test_step_4_shows_both_builders_buildkit_first(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    card = page.locator("[data-step-card='4']")
    assert card.locator(".tabbed-set").first.locator(".tabbed-labels label").all_inner_texts() == [
        "BuildKit", "overlay2", "Classic builder"]
    assert card.locator(".tabbed-set").nth(1).locator(".tabbed-labels label").all_inner_texts() == [
        "BuildKit", "overlay2", "Classic builder"]
    builders = card.locator(".doclab-output[data-builder]").evaluate_all("blocks => blocks.map(b => b.dataset.builder)")
    assert builders == ["BuildKit", "BuildKit", "classic builder"]  # the plain form, the terminal's screen, classic
    assert "DEPRECATED" not in card.inner_text()
    assert page.locator(".doclab-stamp").count() == 1 and "/usr/" not in page.locator(".doclab-stamp").inner_text()


def recorded(page_path: str, capture_id: str) -> str:
    return CaptureStore(Settings.from_env().captures_dir).load(page_path).captures[capture_id].output


def test_annotated_output_explains_a_line_by_keyboard_and_by_tap_at_phone_width(open_tab, site):
    tab = open_tab(viewport={"width": 375, "height": 812}, has_touch=True)
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    idle = tab.locator(".doclab-explain__text").first
    # A line that answers step 4 (BuildKit prints its first steps in either order: found by its text).
    tab.locator(".doclab-output[data-capture='build-buildkit'] code > span", has_text="load build definition").first.click()
    before_answering = idle.inner_text()
    tab.check("input[data-step='4']")  # ticking step 4 opens its solution (exercise.js), walk-throughs included
    output = tab.locator(".doclab-output[data-capture='build-classic']")
    tab.locator(".tabbed-labels label", has_text="Classic builder").first.click()
    explain = output.locator("xpath=following-sibling::div[contains(@class, 'doclab-explain')][1]")
    output.locator("code").focus()
    for _ in range(5):  # past the client's three lines of deprecation notice, its upload and the FROM step
        tab.keyboard.press("ArrowDown")
    by_keyboard = explain.locator(".doclab-explain__text").inner_text()
    active_parts = explain.locator(".doclab-part--active").all_inner_texts()
    # A line every pull prints (whether `Verifying Checksum` shows depends on timing).
    output.locator("code > span", has_text="Pull complete").tap()
    by_tap = explain.locator(".doclab-explain__text").inner_text()
    highlighted = tab.locator("tr.doclab-row--active").all_inner_texts()  # one a table: each output keeps its own
    assert before_answering.startswith("client → daemon:"), before_answering  # help before the answer
    assert by_keyboard.startswith("daemon → registry:") and "line 6 of" in by_keyboard, by_keyboard
    assert active_parts == ["daemon", "registry"]
    assert by_tap.startswith("registry → daemon:") and "layer store" in by_tap
    assert len(highlighted) == 2 and "Pull complete" in highlighted[1]


def test_annotated_output_follows_the_mouse(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.check("input[data-step='4']")
    line = page.locator(".doclab-output[data-capture='build-buildkit'] code > span", has_text="load metadata")
    line.hover()
    box = line.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 5, steps=3)
    shown = page.locator(".doclab-explain__text").first.inner_text()
    assert shown.startswith("daemon → registry:") and "which manifest" in shown, shown
    classes = line.get_attribute("class").split()
    assert "doclab-line--daemon" in classes and "doclab-line--to-registry" in classes  # both parts, as the table says


def test_before_anything_is_answered_every_line_explains_itself_also_the_ones_that_answer_step_4(page, site):
    """Help before the answer: the lines step 4's boxes accept are explained as soon as they are pointed at."""
    step = json.loads((ROOT / "snippets" / "mini-project" / "answers.json").read_text())["steps"]["4"]
    accepted = [rule["pattern"] for field in step["fields"] for rule in field["accept"]]
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.locator(".tabbed-labels label", has_text="Classic builder").first.click()
    output = page.locator(".doclab-output[data-capture='build-classic']")
    lines = output.locator("code > span.doclab-line")
    texts = [text.rstrip("\n") for text in lines.all_text_contents()]
    answering = [i for i, text in enumerate(texts) if any(re.fullmatch(p, text) for p in accepted)]
    explain = output.locator("xpath=following-sibling::div[contains(@class, 'doclab-explain')][1]")
    told = {}
    for index in answering:
        lines.nth(index).click()
        told[texts[index]] = explain.locator(".doclab-explain__text").inner_text()
    assert len(answering) >= 3, texts
    unexplained = {line: text for line, text in told.items() if not re.match(r"^(client|daemon|registry)( → \w+)?: ", text)}
    assert not unexplained, unexplained


@pytest.mark.parametrize("width, height", [(1280, 800), (375, 812)])
def test_the_explanation_stays_in_view_while_the_top_of_a_tall_output_is_pointed_at(open_tab, site, width, height):
    tab = open_tab(viewport={"width": width, "height": height})
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    tab.check("input[data-step='4']")
    first = tab.locator(".doclab-output[data-capture='build-buildkit'] code > span.doclab-line").first
    first.scroll_into_view_if_needed()
    first.hover()
    panel = tab.locator(".doclab-explain").first.bounding_box()
    line = first.bounding_box()
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"explain-sticky-{width}px.png"))
    assert 0 <= panel["y"] and panel["y"] + panel["height"] <= height + 1, (panel, height)
    assert panel["y"] >= line["y"] + line["height"] - 1  # beside the output, never over the line pointed at


def test_the_quiz_is_answered_with_space_or_enter_and_arrow_keys_only_move(page, site):
    page.goto(site[1] + "/learn/quiz/", wait_until="load")
    first = page.locator("#quiz-0 input[type='radio']").first
    first.focus()
    page.keyboard.press("ArrowDown")
    moved_to = page.evaluate("document.activeElement.id")
    checked_after_arrow = page.locator("#quiz-0 input[type='radio']:checked").count()
    feedback_after_arrow = page.locator("#quiz-0 .quiz-feedback").is_visible()
    page.keyboard.press("Space")
    page.locator("#quiz-0 .quiz-feedback").wait_for(state="visible")
    focused = page.evaluate("document.activeElement.closest('#quiz-0') !== null")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#quiz-0").screenshot(path=str(ARTIFACTS / "quiz-answered-with-the-keyboard.png"))
    page.locator("#quiz-1 input[type='radio']").first.focus()
    page.keyboard.press("Enter")
    page.locator("#quiz-1 .quiz-feedback").wait_for(state="visible")
    assert moved_to == page.locator("#quiz-0 input[type='radio']").nth(1).get_attribute("id")
    assert checked_after_arrow == 0 and not feedback_after_arrow, "an arrow key answered the question"
    assert focused, "after answering, the focus fell out of the question"
    assert page.locator(".quiz-results-answered").inner_text() == "2"


def test_reset_can_be_undone(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.check("input[data-step='1']")
    page.check("input[data-step='2']")
    page.fill("#exercise-3-command", "docker build -t $IMAGE_NAME")  # a draft, not yet checked
    page.click(".lesson-progress__reset")
    draft_cleared = page.input_value("#exercise-3-command") == ""
    cleared = page.locator(".lesson-progress__label").inner_text()
    undo = page.locator(".lesson-progress__undo")
    undo_focused = page.evaluate("document.activeElement.classList.contains('lesson-progress__undo')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".lesson-progress").screenshot(path=str(ARTIFACTS / "reset-undo.png"))
    reset_hidden = page.locator(".lesson-progress__reset").is_hidden()  # Undo takes its place
    undo.click()
    restored = page.locator(".lesson-progress__label").inner_text()
    draft = page.input_value("#exercise-3-command")
    solution_1_open = page.evaluate("""[...document.querySelectorAll('[data-exercise-fold="1"]')].every(n => !n.hidden)""")
    assert cleared == "0 / 4 steps" and undo_focused
    assert restored == "2 / 4 steps" and undo.is_hidden()
    assert draft_cleared and reset_hidden
    assert draft == "docker build -t $IMAGE_NAME", "Undo must bring back the typed answers too"
    assert solution_1_open, "a step ticked again by Undo shows its solution, as it did"
    page.reload()
    expect(page.locator(".lesson-progress__label")).to_have_text("2 / 4 steps")


@pytest.mark.parametrize("case, output, says", [
    ("failed build", ("architecture/troubleshooting.md", "typo"), ["Your build failed: the Dockerfile has an instruction"]),
])
def test_compare_your_output_lines_up_real_outputs_and_says_what_differs(page, site, case, output, says):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.check("input[data-step='4']")  # the comparison is part of step 4's solution, folded until then
    page.fill("#doclab-compare-input", recorded(*output))
    page.click(".doclab-compare__run")
    findings = page.locator(".doclab-compare__findings").inner_text()
    for phrase in says:
        assert phrase in findings, findings
    labels = page.locator(".doclab-compare__line .doclab-part").all_inner_texts()
    assert labels and "?" not in labels, labels
    if case == "failed build":
        link = page.locator(".doclab-compare__findings a")
        assert link.get_attribute("href").endswith("troubleshooting/#a-typo-in-the-dockerfile")


def test_visual_walkthrough_steps_through_the_builds_phases(page, site):
    page.goto(site[1] + "/learn/visual/", wait_until="load")
    phases = []
    for _ in range(4):
        phases.append((page.locator(".doclab-phases__where").inner_text(),
                       page.locator("svg.doclab-sequence").get_attribute("data-active-phase"),
                       page.locator("tr.doclab-row--active").count()))
        if page.locator("[data-move='1']").is_enabled():
            page.click("[data-move='1']")
    assert [phase for _, phase, _ in phases] == ["upload", "resolve", "pull", "tag"]
    assert phases[0][0] == "Phase 1 of 4: Context upload" and phases[0][2] >= 1
    assert phases[2][2] >= 1  # the layer pulls are real requests of the table


def test_lesson_screenshots(open_tab, site):
    """The lesson as a learner sees it: desktop, phone, dark mode, and 4 / 4 complete."""
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {"lesson-step-4.png": ({"viewport": {"width": 1280, "height": 900}}, ""),
             "lesson-375px.png": ({"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2}, ""),
             "lesson-dark.png": ({"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"}, ""),
             "lesson-complete.png": ({"viewport": {"width": 1280, "height": 900}}, "1234")}
    for name, (options, ticked) in shots.items():
        tab = open_tab(**options)
        tab.goto(site[1] + "/mini-project/", wait_until="load")
        for step in ticked:
            tab.check(f"input[data-step='{step}']")
        target = ".lesson-complete" if ticked else "#step-4-run-it-and-read-the-output"
        tab.evaluate(f"document.querySelector({json.dumps(target)}).scrollIntoView({{block: 'center'}})"
                     if ticked else f"document.querySelector({json.dumps(target)}).scrollIntoView()")
        # Two frames: the theme redraws its header after the jump before the picture is taken.
        tab.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        tab.screenshot(path=str(ARTIFACTS / name))
        assert (ARTIFACTS / name).stat().st_size > 10_000


def test_search_and_dark_mode_work_offline(page, site):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(site[1] + "/", wait_until="load")
    results = page.locator(".md-search-result__item")
    for _ in range(30):  # the index loads in a web worker: a query typed before it is ready finds nothing
        page.fill(".md-search__input", "")
        page.locator(".md-search__input").press_sequentially("registry mirror")  # the theme searches on keyup
        try:
            results.first.wait_for(timeout=1000)
            break
        except PlaywrightTimeout:
            continue
    assert results.count() > 0 and "registry" in results.first.inner_text().lower()
    page.keyboard.press("Escape")
    scheme = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    page.locator("form[data-md-component='palette'] label:not([hidden])").first.click()
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") != scheme


def test_compare_your_output_reads_docker_desktops_terminal_view(page, site):
    """The `[+] Building … => …` view a Desktop terminal shows (a real one: tests/fixtures/docker, docs.docker.com)."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "docker" / "desktop-unknown-build-buildkit-tty-docs.txt"
    page.goto(site[1] + "/mini-project/", wait_until="load")
    page.check("input[data-step='4']")
    page.fill("#doclab-compare-input", fixture.read_text())
    page.click(".doclab-compare__run")
    findings = page.locator(".doclab-compare__findings").inner_text()
    assert "BuildKit builder" in findings and "does not look like a docker build output" not in findings, findings
    labels = page.locator(".doclab-compare__line .doclab-part").all_inner_texts()
    assert labels.count("?") == 0, labels


@pytest.mark.parametrize("width, drawing", [(1280, "architecture.svg"), (375, "architecture-narrow.svg")])
def test_the_architecture_diagram_is_drawn_for_the_screen_with_labels_of_9_px_or_more(open_tab, site, width, drawing):
    """Side by side on a desktop; stacked on a phone, where the wide drawing's 14 px labels would shrink to ~6 px."""
    tab = open_tab(viewport={"width": width, "height": 800})
    sizes = {}
    for path in ("/learn/concept/", "/learn/visual/", "/architecture/trace/"):
        tab.goto(site[1] + path, wait_until="load")
        image = tab.locator("img.doclab-architecture")
        image.scroll_into_view_if_needed()
        sizes[path] = image.evaluate("""img => ({src: img.currentSrc.split('/').pop(), shown: img.getBoundingClientRect().width,
                                                 drawn: img.naturalWidth})""")
    # The drawings' smallest labels: 11 px in the wide one (760 wide), 14 px in the narrow one (360 wide).
    smallest = {"architecture.svg": (11, 760), "architecture-narrow.svg": (14, 360)}[drawing]
    for path, size in sizes.items():
        assert size["src"] == drawing, (path, size)
        assert smallest[0] * size["shown"] / smallest[1] >= 9, (path, size)


def test_the_terminal_screen_keeps_its_grid_and_fits_a_desktop_column(open_tab, site):
    """Step 4's build run in an 80-column terminal: one row per line as the terminal drew it, no wrapping."""
    tab = open_tab(viewport={"width": 1280, "height": 900})
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    tab.locator("summary", has_text="The same build in a terminal").first.click()
    code = tab.locator(".doclab-output[data-terminal='80x24'] pre > code")
    shown = code.evaluate("""c => ({rows: Math.round(c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight)),
                                    lines: c.textContent.replace(/\\n$/, '').split('\\n').length,
                                    fits: c.scrollWidth <= c.clientWidth + 1, text: c.textContent})""")
    assert shown["text"].startswith("[+] Building ") and "FINISHED" in shown["text"].splitlines()[0]
    assert shown["fits"], "an 80-column screen must fit the desktop's column"
    assert abs(shown["rows"] - shown["lines"]) <= 2, shown  # the code box's padding adds at most a row


@pytest.mark.parametrize("width, height", [(1280, 800), (375, 812)])
def test_a_line_reached_with_the_arrow_keys_shows_above_the_sticky_explanation(open_tab, site, width, height):
    tab = open_tab(viewport={"width": width, "height": height})
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    tab.check("input[data-step='4']")
    tab.locator(".doclab-output[data-capture='build-buildkit'] code").focus()
    covered = []
    for step in range(24):
        tab.keyboard.press("ArrowDown")
        line = tab.locator(".doclab-output[data-capture='build-buildkit'] .doclab-line--active").bounding_box()
        panel = tab.locator(".doclab-explain").first.bounding_box()
        if line["y"] + line["height"] > panel["y"] + 1:
            covered.append(step + 1)
    assert covered == [], f"lines under the explanation after ArrowDown presses {covered}"


def test_on_a_phone_the_keyboard_never_tabs_into_the_closed_navigation_drawer(open_tab, site):
    tab = open_tab(viewport={"width": 375, "height": 812})
    tab.goto(site[1] + "/mini-project/")
    off_screen = []
    for _ in range(12):
        tab.keyboard.press("Tab")
        box_ = tab.evaluate("(() => { const r = document.activeElement.getBoundingClientRect();"
                            " return [document.activeElement.closest('.md-sidebar--primary') !== null, r.right]; })()")
        if box_[0]:
            off_screen.append(box_)
    tab.locator("label.md-header__button[for='__drawer']").click()  # opened, its links are the keyboard's again
    drawer_link = tab.locator(".md-sidebar--primary a.md-nav__link").first
    drawer_link.focus()
    opened_focusable = tab.evaluate("document.activeElement.closest('.md-sidebar--primary') !== null")
    assert off_screen == [], f"Tab reached links of the closed drawer: {off_screen}"
    assert opened_focusable


#: What sticks on the screen (the theme's and the lesson's), as much of it as shows: skip link and dialogs count when seen.
STUCK_HEIGHT = """() => [...document.querySelectorAll('body *')]
  .filter(e => ['sticky', 'fixed'].includes(getComputedStyle(e).position) && e.checkVisibility({opacityProperty: true}))
  .filter(e => { const r = e.getBoundingClientRect(); return r.right > 0 && r.left < innerWidth; })  // the closed drawer: off-screen
  .reduce((sum, e) => { const r = e.getBoundingClientRect();
    return sum + Math.max(0, Math.min(innerHeight, r.bottom) - Math.max(0, r.top)); }, 0)"""


def test_on_a_phone_what_sticks_takes_at_most_15_percent_and_digests_show_short_but_copy_whole(open_tab, site):
    tab = open_tab(viewport={"width": 375, "height": 667}, has_touch=True)
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    output = tab.locator(".doclab-output[data-capture='build-buildkit']")
    line = output.locator("code > span.doclab-line", has_text="resolve docker.io").first
    line.scroll_into_view_if_needed()
    tab.locator(".doclab-output[data-capture='build-buildkit'] code > span.doclab-line", has_text="load .dockerignore").tap()
    tab.evaluate("window.scrollBy(0, 120)")  # reading on, down the output
    stuck = tab.evaluate(STUCK_HEIGHT)
    short = line.bounding_box()["height"]
    recorded = CaptureStore(ROOT / "captures").load("mini-project.md").captures["build-buildkit"].output
    digest = re.search(r"resolve docker\.io/library/alpine:3\.18@(sha256:[0-9a-f]{64})", recorded)[1]
    assert digest in output.locator("code").inner_text(), "a copy of the output has every digest whole"
    line.tap()
    whole = line.bounding_box()["height"]
    assert stuck <= 0.15 * 667, stuck
    assert whole > short, (short, whole)  # the line explained shows its digest whole: it wraps over more rows


def test_on_a_phone_the_diagram_opens_at_its_start_and_each_phase_brings_its_arrows_into_view(open_tab, site):
    tab = open_tab(viewport={"width": 375, "height": 667})
    tab.goto(site[1] + "/learn/visual/", wait_until="load")
    figure = tab.locator(".doclab-trace").first
    assert figure.evaluate("f => f.scrollWidth > f.clientWidth"), "at 375 px the diagram scrolls sideways"
    assert figure.evaluate("f => f.scrollLeft") == 0, "it opens with the client's box whole"
    tab.click("[data-move='1']")  # the daemon asks the registry: its arrows start at the daemon's line
    starts = figure.evaluate("""f => { const arrow = f.querySelector("g[data-phase='resolve']").getBoundingClientRect();
                                       const view = f.getBoundingClientRect(); return [arrow.left - view.left, view.width]; }""")
    assert 0 <= starts[0] < starts[1], starts


def test_step_4_shows_buildkit_on_the_containerd_store_then_on_overlay2_then_the_classic_builder(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    tabs = page.locator("[data-step-card='4'] .tabbed-labels").first.locator("label")
    assert tabs.all_inner_texts()[:3] == ["BuildKit", "overlay2", "Classic builder"]
    tabs.nth(1).click()
    overlay2 = page.locator(".doclab-output[data-capture='build-buildkit-28.5-overlay2']")
    assert overlay2.is_visible()
    text = overlay2.locator("code").inner_text()
    assert "extracting sha256:" in text and "writing image sha256:" in text and "unpacking to" not in text
    note = page.locator(".doclab-note[data-capture='build-buildkit-28.5-overlay2']").inner_text()
    assert re.search(r"recorded on \d+ \w{3} \d{4} with Docker Engine 28\.5\.\d+ on the overlay2 storage driver", note), note
    overlay2.locator("code > span.doclab-line", has_text="writing image").click()  # its own walk-through explains it
    explained = overlay2.locator("xpath=following-sibling::div[contains(@class, 'doclab-explain')][1]").inner_text()
    assert "daemon:" in explained and "configuration" in explained, explained


def open_replay(tab, site):
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    terminal = tab.locator("details", has=tab.locator("summary", has_text="The same build in a terminal"))
    terminal.locator("summary").click()
    terminal.locator(".doclab-watch__open").click()
    terminal.locator(".doclab-player__play").wait_for()  # the player is loaded when first asked for
    return terminal.locator(".doclab-player")


def test_watch_it_run_types_the_command_and_plays_the_build_to_the_screen_it_captured(page, site):
    page.goto(site[1] + "/mini-project/", wait_until="load")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)")
    assert not [url for url in loaded if "watch." in url or "/casts/" in url or "live." in url], \
        "a first visit loads no replay and no live terminal"
    player = open_replay(page, site)
    assert page.evaluate("document.activeElement.textContent") == "Pause", "the keyboard is on the player"
    player.locator("select").select_option("4")
    page.wait_for_selector(".doclab-player[data-state='ended']", timeout=15000)
    captured = recorded_capture("build-buildkit-terminal")
    assert player.locator(".doclab-player__prompt").inner_text() == "$ " + captured.command
    assert player.locator(".doclab-player__screen").inner_text().rstrip("\n") == captured.output.rstrip("\n")
    play = player.locator(".doclab-player__play")
    assert play.inner_text() == "Play again"
    player.locator("select").select_option("0.5")  # 4 s again: time for the keys below, however loaded the machine
    play.focus()
    page.keyboard.press("Space")  # plays again, from the start
    assert player.get_attribute("data-state") == "playing"
    page.keyboard.press("Space")
    assert player.get_attribute("data-state") == "paused"
    player.locator(".doclab-player__seek").focus()
    page.keyboard.press("End")  # the range input: Home and End, arrows
    assert player.get_attribute("data-state") == "ended"
    cast = page.request.get(site[1] + "/casts/mini-project/build-buildkit-terminal.cast").text().splitlines()
    assert json.loads(cast[0]) == {"version": 2, "width": 80, "height": 24, "command": captured.command}
    assert all(json.loads(line)[1] == "o" for line in cast[1:]) and len(cast) > 2


def test_a_reader_who_asks_for_less_motion_gets_the_replays_last_screen_paused(open_tab, site):
    tab = open_tab(reduced_motion="reduce")
    player = open_replay(tab, site)
    player.locator(".doclab-player__screen").wait_for()
    tab.wait_for_function("document.querySelector('.doclab-player').dataset.state === 'ended'")
    assert player.locator(".doclab-player__play").inner_text() == "Play again"


def recorded_capture(capture_id: str, page: str = "mini-project.md"):
    return CaptureStore(ROOT / "captures").load(page).captures[capture_id]


def test_a_push_replays_on_the_registry_page_and_ends_on_its_captured_output(page, site):
    page.goto(site[1] + "/architecture/registry/", wait_until="load")
    assert page.locator(".doclab-watch__open").count() == 2  # the pull and the push
    page.locator(".doclab-watch[data-cast='architecture/registry/push'] .doclab-watch__open").click()
    player = page.locator(".doclab-player")
    player.locator(".doclab-player__play").wait_for()
    player.locator("select").select_option("4")
    page.wait_for_selector(".doclab-player[data-state='ended']", timeout=15000)
    assert player.locator(".doclab-player__screen").inner_text().rstrip("\n") == recorded_capture(
        "push", "architecture/registry.md").output.rstrip("\n")


def test_on_a_phone_the_keyboard_opens_the_navigation_and_reaches_the_challenge(open_tab, site):
    tab = open_tab(viewport={"width": 375, "height": 667})
    tab.goto(site[1] + "/mini-project/", wait_until="load")
    menu = tab.locator('label.md-header__button[for="__drawer"]')
    for _ in range(6):  # from the top of the page: the skip link, then the header
        tab.keyboard.press("Tab")
        if menu.evaluate("label => label === document.activeElement"):
            break
    assert menu.evaluate("label => label === document.activeElement"), "Tab never reaches the menu button"
    assert menu.get_attribute("role") == "button" and menu.get_attribute("aria-label")
    tab.keyboard.press("Space")
    assert tab.evaluate("document.getElementById('__drawer').checked")
    tab.keyboard.press("Space")
    assert not tab.evaluate("document.getElementById('__drawer').checked")
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.getElementById('__drawer').checked")
    challenge = tab.locator(".md-sidebar--primary a[href$='learn/challenge/']")
    challenge.wait_for(state="visible")
    challenge.focus()
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/learn/challenge/")
