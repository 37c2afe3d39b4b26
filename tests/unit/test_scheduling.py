"""The suite's hand-out order between xdist workers (tests/scheduling.py), on made-up queues."""

from tests.scheduling import next_scope

QUEUE = {"tests/browser/test_a.py": 30, "tests/browser/test_b.py": 10, "tests/unit/test_u.py": 50,
         "docs/page.md": 5, "tests/serve/test_s.py": 3, "tests/integration/test_i.py": 4, "tests/integration/test_j.py": 9}


def test_a_worker_gets_the_largest_browser_file_when_no_other_runs_one():
    assert next_scope(QUEUE, browser_running=False) == "tests/browser/test_a.py"


def test_while_another_worker_runs_a_browser_file_the_daemon_tests_come_first_then_a_second_browser_file():
    order, queue = [], dict(QUEUE)
    while queue:
        order.append(next_scope(queue, browser_running=True))
        del queue[order[-1]]
    assert order == ["tests/integration/test_j.py", "tests/integration/test_i.py", "tests/serve/test_s.py",
                     "tests/browser/test_a.py", "tests/browser/test_b.py", "docs/page.md", "tests/unit/test_u.py"]


def test_with_no_browser_file_running_the_doc_and_unit_tests_come_after_the_daemon_tests():
    queue = {scope: tests for scope, tests in QUEUE.items() if not scope.startswith("tests/browser/")}
    order = []
    while queue:
        order.append(next_scope(queue, browser_running=False))
        del queue[order[-1]]
    assert order == ["tests/integration/test_j.py", "tests/integration/test_i.py", "tests/serve/test_s.py",
                     "docs/page.md", "tests/unit/test_u.py"]
