"""How the suite's files are shared between pytest-xdist's workers (``--dist loadfile``, one file on one worker).

The browser tests keep a core busy (Chromium draws, axe walks every page); the Docker tests mostly wait on daemons,
containers and builds. Two browser files side by side on two cores slow each other down while the Docker tests
leave a core idle a fifth of the time, so a worker is given a browser file only while no other worker runs one, or
once only the short files are left (the doc tests, the unit tests), which then fill the end so the workers finish
together; the rest comes longest first: the files that start daemons, then the doc tests, then the unit tests."""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

#: The order the rest is handed out in: a file's tier is the first prefix its path starts with.
TIERS = ("tests/integration/", "tests/serve/", "docs/", "tests/unit/")
#: The tiers whose files are short: once only they are left, a browser file may start beside another.
SHORT = ("docs/", "tests/unit/")
BROWSER = "tests/browser/"


def rank(scope: str, tests: int) -> tuple[int, int]:
    """Where a file (``scope``, with ``tests`` tests) comes among the rest: by tier, then the files with most tests first."""
    tier = next((index for index, prefix in enumerate(TIERS) if scope.startswith(prefix)), len(TIERS))
    return tier, -tests


def next_scope(queue: dict[str, int], browser_running: bool) -> str:
    """The file a worker that asks for work gets (``queue``: the files left and their number of tests): the next
    browser file when no other worker runs one or only short files are left, else the first of the rest by ``rank``."""
    browsers = [scope for scope in queue if scope.startswith(BROWSER)]
    others = sorted((scope for scope in queue if not scope.startswith(BROWSER)), key=lambda scope: rank(scope, queue[scope]))
    if browsers and (not browser_running or all(scope.startswith(SHORT) for scope in others)):
        return max(browsers, key=lambda scope: queue[scope])
    return others[0]


class BrowserApartScheduling(LoadFileScheduling):
    """``--dist loadfile`` handing out files in the order above (``conftest.py`` makes it xdist's scheduler). It
    overrides xdist's private ``_assign_work_unit`` and reads its queues: pytest-xdist is pinned in requirements.txt."""

    def _assign_work_unit(self, node) -> None:
        browser_running = any(
            scope.startswith(BROWSER) and not all(unit.values())
            for other, work in self.assigned_work.items() if other is not node for scope, unit in work.items())
        chosen = next_scope({scope: len(unit) for scope, unit in self.workqueue.items()}, browser_running)
        self.workqueue.move_to_end(chosen, last=False)
        super()._assign_work_unit(node)
