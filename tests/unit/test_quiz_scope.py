"""hooks/quiz_scope.py: the quiz plugin's widgets stay out of the search index but not out of the page."""

import importlib.util
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("quiz_scope", ROOT / "hooks" / "quiz_scope.py")
quiz_scope = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quiz_scope)

PAGE = SimpleNamespace(file=SimpleNamespace(src_uri="learn/quiz.md"))
CONTENT = (
    '<h2>Your score</h2>\n<div id="quiz-results" class="quiz-results"><div><h3>Quiz Progress</h3></div></div>\n<p>after</p>'
    '<div id="quiz-progress-sidebar"><ul><li><div class="md-nav__link">Answered: 0 / 0</div></li></ul></div>\n'
    '<nav id="quiz-progress-mobile" class="md-nav"><div>Answered: 0 / 0</div></nav>'
    '<style type="text/css">.quiz {}</style><script>window.mkdocsQuizConfig = { confetti: true, showProgress: true };</script>'
)


def test_widgets_leave_the_indexed_content_and_come_back_into_the_page():
    indexed = quiz_scope.on_page_content(CONTENT, PAGE, None, None)
    assert "Answered" not in indexed and "Quiz Progress" not in indexed and "<p>after</p>" in indexed
    assert 'confetti: !matchMedia("(prefers-reduced-motion: reduce)").matches,' in indexed
    page = quiz_scope.on_post_page(f"<html><body>{indexed}</body></html>", PAGE, None)
    assert page.index('<div id="quiz-results"') < page.index("<p>after</p>") < page.index('<div id="quiz-progress-sidebar"')
    assert page.count("Answered: 0 / 0") == 2 and quiz_scope.RESULTS_PLACE not in page


def test_pages_without_the_quiz_are_left_alone():
    assert quiz_scope.on_page_content("<p>x</p>", PAGE, None, None) == "<p>x</p>"
    assert quiz_scope.on_post_page("<body></body>", SimpleNamespace(file=SimpleNamespace(src_uri="other.md")), None) == "<body></body>"


def test_a_plugin_that_changed_its_markup_fails_the_build():
    with pytest.raises(PluginError, match="no longer writes 'confetti: true,'"):
        quiz_scope.on_page_content(CONTENT.replace("confetti: true,", "confetti: 1,"), PAGE, None, None)
