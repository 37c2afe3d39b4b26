"""The site build, end to end: real captures, the cache, the recorded fallback, failures."""

import difflib
import json
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import requests

from doclab import daemon
from doclab.capture import facts
from doclab.capture.record import CaptureStore
from doclab.lab.control import Lab
from doclab.run.scrub import normalize
from doclab.settings import Settings
from tests.conftest import ROOT, build_site

DEAD_SOCKET = "unix:///nonexistent/doclab-dead.sock"


def stamp_of(html: str) -> dict[str, str]:
    match = re.search(r'class="doclab-stamp" data-page="mini-project.md" data-state="(\w+)" '
                      r'data-base-digests="([^"]*)">([^<]*)</small>(?:</p>)?\s*<details class="doclab-how-built"><summary>[^<]*'
                      r'</summary><p>([^<]*)</p>', html)
    assert match, "the lesson page has no stamp"
    return {"state": match[1], "digests": match[2], "text": match[3], "details": match[4]}


def registry_digest(lab: Lab) -> str:
    response = requests.head(
        f"{lab.registry_url}/v2/library/alpine/manifests/3.18",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, timeout=10,
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


@pytest.mark.docker
def test_fresh_lab_build_shows_the_real_pull_and_the_registry_digest(tmp_path, lab_daemon):
    """Every page live, four at a time, while ``lab prune`` runs again and again beside them (it must take nothing a live
    run holds): the records it makes are the committed ones, and the lesson shows the real pull."""
    env = {"DOCKER_HOST": lab_daemon.docker_host, "DOCLAB_CAPTURES_DIR": str(tmp_path / "captures"), "DOCLAB_STRICT": "",
           "DOCLAB_JOBS": "4"}
    lab, built, prunes = Lab(Settings.from_env()), threading.Event(), []

    def prune_until_built():
        while not built.is_set():  # what `lab prune` runs, every ~30 ms
            lab.prune()
            prunes.append(1)
            time.sleep(0.02)

    pruning = threading.Thread(target=prune_until_built)
    pruning.start()
    try:
        first = build_site(tmp_path / "site", env)
    finally:
        built.set()
        pruning.join()
    assert first.returncode == 0, first.output
    print(f"\n{len(prunes)} prunes beside the build")
    assert_like_the_committed_records(tmp_path / "captures")
    html = first.page("mini-project")
    for line in ("Sending build context to Docker daemon", "Step 1/1 : FROM alpine:3.18",
                 "3.18: Pulling from library/alpine", "Status: Downloaded newer image for alpine:3.18",
                 "Successfully tagged my-alpine-image:latest"):
        assert line in html, f"{line!r} missing from the lesson page"
    stamp = stamp_of(html)
    assert stamp["state"] == "live"
    assert stamp["digests"] == registry_digest(Lab(Settings.from_env()))
    assert "pulled through the registry mirror http://127.0.0.1:" in stamp["details"] and "127.0.0.1" not in stamp["text"]

    check_trace_against_registry_log(first, Lab(Settings.from_env()), tmp_path / "captures")

    # Nothing changed: the rebuild must not touch the daemon, and its hook time is a fraction.
    api = daemon.connect(base_url=lab_daemon.docker_host)
    time.sleep(1.1)  # event times are whole seconds: start counting after the first build's last second
    since = int(time.time())
    second = build_site(tmp_path / "site", env)
    until = int(time.time()) + 1
    events = list(api.events(since=since, until=until, decode=True))
    api.close()
    assert second.returncode == 0, second.output
    assert events == [], f"the cached rebuild caused daemon events: {events}"
    summary = re.compile(r"captures: (\d+) live, (\d+) cached, 0 recorded, 0 failed in ([\d.]+) s")
    (first_live, _, live), = [(int(a), int(b), float(c)) for a, b, c in summary.findall(first.output)]
    (second_live, second_cached, cached), = [(int(a), int(b), float(c)) for a, b, c in summary.findall(second.output)]
    assert first_live >= 9 and second_live == 0 and second_cached == first_live
    assert cached < live / 5, f"cached capture took {cached} s, live {live} s"
    assert stamp_of(second.page("mini-project"))["state"] == "cached"
    print(f"\nfirst build {first.seconds:.2f} s (captures {live:.2f} s); cached rebuild {second.seconds:.2f} s (captures {cached:.3f} s)")


def assert_like_the_committed_records(made: Path) -> None:
    """Each output means what the committed one means (its facts), and says it in the same words after normalization;
    BuildKit's progress lines, which follow the machine's timing, are shown where only they differ."""
    store, committed_store = CaptureStore(made), CaptureStore(ROOT / "captures")
    pages = sorted(path.relative_to(made).with_suffix(".md").as_posix() for path in made.rglob("*.json"))
    assert pages == sorted(path.relative_to(ROOT / "captures").with_suffix(".md").as_posix()
                           for path in (ROOT / "captures").rglob("*.json"))
    wording, timing = [], []
    for page in pages:
        for name, made_now in store.load_intact(page).captures.items():
            recorded = committed_store.load_intact(page).captures[name]
            changes = facts.compare(facts.facts_of(recorded.output, recorded.command, recorded.exit_code),
                                    facts.facts_of(made_now.output, made_now.command, made_now.exit_code))
            assert not changes, f"{page}#{name}: {changes}"
            before, now = normalize(recorded.output), normalize(made_now.output)
            if before != now:
                diff = "".join(difflib.unified_diff(before.splitlines(True), now.splitlines(True), f"committed {page}#{name}",
                                                    "made now"))
                buildkit = facts.kind_of(recorded.output, recorded.command) == "build-buildkit"
                (timing if buildkit else wording).append(diff)
    print("\n".join(f"BuildKit's progress differs (facts the same):\n{diff}" for diff in timing))
    assert not wording, "differ from the committed records after normalization:\n" + "\n".join(wording)


def check_trace_against_registry_log(build, lab: Lab, captures: Path) -> None:
    """The trace page's daemon → registry rows are exactly the registry's own access-log lines."""
    trace = json.loads((captures / "architecture" / "trace.json").read_text())["captures"]["traced-build"]["trace"]
    html = build.page("architecture/trace")
    drawn = re.findall(r"<td>daemon → registry</td>\s*<td><code>(\w+) ([^<]+)</code></td>\s*<td[^>]*>(\d+)</td>", html)
    access = re.findall(r'"(\w+) (\S+) HTTP/1\.1" (\d+) .*doclab-trace/' + trace["trace_id"],
                        lab.registry_log.read_text(errors="replace"))
    assert drawn and sorted(drawn) == sorted(access), f"page: {drawn}\nregistry log: {access}"
    client_rows = re.findall(r"<td>client → daemon</td>\s*<td><code>(\w+) ([^<?]+)", html)
    assert ("HEAD", "/_ping") in client_rows
    assert [path for method, path in client_rows if method == "POST" and re.fullmatch(r"/v1\.\d+/build", path)]
    assert html.count('<line x1="') - 3 == 2 * len(trace["exchanges"]), "one arrow per request and per response"
    print(f"\ntrace: {len(client_rows)} client → daemon, {len(drawn)} daemon → registry requests")


def test_no_daemon_shows_the_recorded_output_and_says_so(tmp_path):
    result = build_site(tmp_path / "site", {"DOCKER_HOST": DEAD_SOCKET, "DOCLAB_STRICT": ""})
    assert result.returncode == 0, result.output
    stamp = stamp_of(result.page("mini-project"))
    assert stamp["state"] == "recorded"
    assert re.match(r"Recorded on \d{1,2} \w{3} \d{4} with Docker Engine [\d.]+: the outputs of the last clean run of this page",
                    stamp["text"])
    assert stamp["details"].startswith("Why recorded: no Docker daemon was reachable")
    assert "Successfully tagged my-alpine-image:latest" in result.page("mini-project")
    # Every quote marker became the phrase it quotes, also inside blocks a plugin renders (the quiz).
    assert not [page for page in result.site.rglob("*.html") if "<!-- quote:" in page.read_text()]
    assert "BuildKit line <code>transferring dockerfile</code>" in result.page("learn/quiz")
    # Go templates in included snippets survive mkdocs-macros (snippets are inlined after it runs).
    assert "{{.Client.Version}}" in re.sub(r"<[^>]+>", "", result.page("learn/cheat-sheet"))


def test_no_daemon_in_strict_mode_fails_naming_the_capture(tmp_path):
    result = build_site(tmp_path / "site", {"DOCKER_HOST": DEAD_SOCKET, "DOCLAB_STRICT": "1"})
    assert result.returncode != 0
    assert re.search(r"docs/mini-project.md: captures [\w, -]*\bbuild\b[\w, -]* need a live run \(DOCLAB_STRICT is set\)", result.output)
    assert "python -m doclab.lab up" in result.output


@pytest.mark.docker
def test_a_failing_command_fails_the_build_naming_page_example_command_and_output(tmp_path, lab_daemon):
    project = tmp_path / "project"
    for name in ("docs", "snippets", "hooks", "doclab", "overrides", "engine-captures"):
        shutil.copytree(ROOT / name, project / name)
    for name in ("mkdocs.yml", "tested-with.json"):
        shutil.copy(ROOT / name, project / name)
    # The cheat sheet's first example fails at once (a page stops at its first failing block: the test waits for no other).
    (project / "snippets" / "cheat-sheet" / "version.sh").write_text("docker build -t my-alpine-image ./no-such-folder\n")
    # The project's records: the other pages are current (not run again), the cheat sheet's example changed.
    shutil.copytree(ROOT / "captures", tmp_path / "captures")
    # Not strict (CI's default): an author's build, which reuses the current records instead of running every page.
    env = {"DOCKER_HOST": lab_daemon.docker_host, "DOCLAB_CAPTURES_DIR": str(tmp_path / "captures"), "DOCLAB_STRICT": ""}
    result = build_site(tmp_path / "site", env, project / "mkdocs.yml")
    assert result.returncode != 0
    for part in ("docs/learn/cheat-sheet.md: bash block 'version' at learn/cheat-sheet.md:",
                 "exited with unexpected code 1 (declared: 0)\n--- edit ---\nsnippets/cheat-sheet/version.sh\n",
                 "docker build -t my-alpine-image ./no-such-folder", "no-such-folder",
                 "python -m doclab run docs/learn/cheat-sheet.md"):
        assert part in result.output, result.output
    # Nothing is lost: the page's last clean record stays as it was, no half record of the failed run replaces it.
    record = Path("learn") / "cheat-sheet.json"
    assert (tmp_path / "captures" / record).read_bytes() == (ROOT / "captures" / record).read_bytes()
    # Under scripts/serve the same failure goes on the page, so the author's browser shows it (the build succeeds).
    served = build_site(tmp_path / "site", {**env, "DOCLAB_SERVING": "1", "DOCLAB_STRICT": ""}, project / "mkdocs.yml")
    assert served.returncode == 0, served.output
    (failed,) = re.findall(r"captures: 0 live, \d+ cached, 0 recorded, (\d+) failed", served.output)
    assert served.output.count("FAILED, shown on the page") == int(failed) >= 1, served.output  # every page with the snippet
    page = served.page("learn/cheat-sheet")
    assert 'role="alert"' in page and "exited with unexpected code 1 (declared: 0)" in page and "no-such-folder" in page
    assert (tmp_path / "captures" / record).read_bytes() == (ROOT / "captures" / record).read_bytes()
