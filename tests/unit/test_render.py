import base64
import re


from doclab.capture.captures import Outcome, Resolved
from doclab.capture.record import Capture, PageRecord
from doclab.page.parse import parse_page
from doclab.render.markers import output_note, reader_script, replace_markers, stamp_details, stamp_text

STAMP = {
    "date": "2026-11-28",
    "client": {"version": "28.2.2", "path": "/usr/local/bin/docker"},
    "server": {"version": "20.10.24+dfsg1", "api": "1.41"},
    "base_images": [{"image": "alpine:3.18", "digest": "sha256:abc", "source": "pulled through the registry mirror http://127.0.0.1:5555/"}],
}
OLD_CLIENT = {"version": "20.10.24+dfsg1", "path": "/usr/bin/docker"}
NEW_CLIENT = {"version": "28.2.2", "path": "/usr/local/bin/docker"}
CLASSIC = "Sending build context to Docker daemon  2.048kB\nStep 1/1 : FROM alpine:3.18\n"
BUILDKIT = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n"


def record(*captures: Capture) -> PageRecord:
    return PageRecord("p.md", "k", "i", STAMP, {capture.capture_id: capture for capture in captures})


def resolved(output: str, state: Outcome = Outcome.LIVE) -> Resolved:
    return Resolved(record(Capture("out", "echo x", 0, output, 0.1, NEW_CLIENT)), state)


def test_page_stamp_names_versions_date_and_base_image_in_a_readers_words():
    text = stamp_text(resolved("x\n").record, Outcome.LIVE)
    assert text.startswith("Every output on this page was captured on 28 Nov 2026 from a real run, with Docker Engine 20.10.24")
    assert "client 28.2.2" in text and "alpine:3.18 digest sha256:abc" in text
    for machinery in ("/usr/", "mirror", "127.0.0.1", "+dfsg"):
        assert machinery not in text
    details = stamp_details(resolved("x\n").record, Outcome.LIVE)
    assert "Engine 20.10.24+dfsg1" in details and "alpine:3.18 pulled through the registry mirror http://127.0.0.1:5555/." in details


def test_page_stamp_takes_the_client_most_docker_commands_ran_with():
    page = record(Capture("a", "docker build .", 0, CLASSIC, 0.1, OLD_CLIENT),
                  Capture("b", "docker image ls", 0, "x\n", 0.1, OLD_CLIENT),
                  Capture("c", "cat Dockerfile", 0, "FROM x\n", 0.1, NEW_CLIENT))
    assert "client 20.10.24 ·" in stamp_text(page, Outcome.LIVE)


def test_recorded_stamp_says_it_is_recorded():
    assert stamp_text(resolved("x\n").record, Outcome.RECORDED).startswith(
        "Recorded on 28 Nov 2026 with Docker Engine 20.10.24: the outputs of the last clean run of this page"
    )
    assert stamp_details(resolved("x\n").record, Outcome.RECORDED).startswith(
        "Why recorded: no Docker daemon was reachable when this page was built.")


def test_a_note_only_where_an_output_says_more_than_the_stamp():
    plain = Capture("ls", "docker image ls", 0, "x\n", 0.1, NEW_CLIENT)
    other = Capture("old", "docker version", 0, "x\n", 0.1, OLD_CLIENT)
    buildkit = Capture("bk", "docker build -t x .", 0, BUILDKIT, 0.1, NEW_CLIENT)
    page = record(plain, other, buildkit, Capture("ls2", "docker ps", 0, "x\n", 0.1, NEW_CLIENT))
    assert output_note(page, plain) is None
    assert output_note(page, Capture("cat", "cat Dockerfile", 0, "x\n", 0.1, OLD_CLIENT)) is None
    assert output_note(page, other) == "This output: client 20.10.24"
    assert output_note(page, buildkit) == "This output: BuildKit · client 28.2.2 · Docker Engine 20.10.24"


def test_one_stamp_under_the_first_output_keeping_indentation(tmp_path):
    markdown = ("# T\n\n<!-- exec: id=out -->\n```bash\necho x\n```\n\n!!! note\n\n    <!-- output: out -->\n\n"
                "<!-- output: out -->\n")
    page = parse_page(markdown, "p.md", tmp_path)
    html = replace_markers(markdown, page, resolved("has ``` fences\n"))
    assert ('    ````{.doclab-output data-capture="out" title="$ echo x"}\n    has ``` fences\n    ````\n\n'
            '    <small class="doclab-stamp" data-page="p.md" data-state="live" data-base-digests="sha256:abc">') in html
    assert html.count("doclab-stamp") == 1


def test_a_page_without_output_markers_gets_its_stamp_at_the_end(tmp_path):
    markdown = "# T\n\n<!-- exec: id=out -->\n```bash\necho x\n```\n\n<!-- walkthrough: out -->\n"
    html = replace_markers(markdown, parse_page(markdown, "p.md", tmp_path), resolved(CLASSIC))
    stamp_at, rules_at = html.index('<small class="doclab-stamp"'), html.index('<script type="application/json" id="doclab-explain-rules">')
    assert html.index("| Line of the real output |") < stamp_at < rules_at and html.count("doclab-stamp") == 1
    assert "(?\\u003cdigest>" in html and "(?P<" not in html  # the rules, as JavaScript reads them (no raw "<")


LESSON = """# Mini project

```bash
mkdir project
cd project
```

```dockerfile title="Dockerfile"
FROM alpine:3.18
```

<!-- skip: next "shown in the next step" -->
```bash
docker build -t $IMAGE_NAME .
```

<!-- exec: id=one -->
```bash
docker build -t $IMAGE_NAME .
```

<!-- exec: id=two -->
```bash
docker build -t $IMAGE_NAME .
```

<!-- output: one -->
<!-- output: two -->

<!-- script: all -->
"""


def test_reader_script_is_safe_to_paste_and_runs_a_repeated_command_once(tmp_path):
    script = reader_script(parse_page(LESSON, "p.md", tmp_path), "Mini project")
    assert script.startswith("#!/usr/bin/env bash\n# Every step of \"Mini project\"")
    body = script.split("\n(\nset -e\n", 1)[1]
    assert body == "mkdir project\ncd project\ncat > 'Dockerfile' <<'EOF'\nFROM alpine:3.18\nEOF\ndocker build -t $IMAGE_NAME .\n)\n"
    assert "DOCLAB" not in script and "docs/" not in script


def test_script_marker_offers_a_download_of_the_same_script(tmp_path):
    page = parse_page(LESSON, "p.md", tmp_path)
    builds = record(*(Capture(name, "docker build -t $IMAGE_NAME .", 0, CLASSIC, 0.1, OLD_CLIENT) for name in ("one", "two")))
    html = replace_markers(LESSON, page, Resolved(builds, Outcome.LIVE))
    encoded = re.search(r'download="p-steps.sh" href="data:text/x-shellscript;base64,([^"]+)"', html)[1]
    assert base64.b64decode(encoded).decode() == reader_script(page, "Mini project")



def test_only_commands_that_run_the_client_count_for_its_version():
    page = record(Capture("echo", "echo docker build -t x .", 0, "docker build -t x .\n", 0.1, NEW_CLIENT),
                  Capture("env", "DOCKER_BUILDKIT=1 docker build .", 0, BUILDKIT, 0.1, OLD_CLIENT),
                  Capture("sub", 'echo "$(docker version)"', 0, "x\n", 0.1, OLD_CLIENT))
    assert "client 20.10.24 ·" in stamp_text(page, Outcome.LIVE)
    assert output_note(page, page.captures["echo"]) is None


def test_script_copies_the_steps_above_its_marker_only(tmp_path):
    markdown = "# T\n\n```bash\necho step\n```\n\n<!-- script: all -->\n\n<!-- exec: exit=1 -->\n```bash\necho x; false\n```\n"
    page = parse_page(markdown, "p.md", tmp_path)
    html = replace_markers(markdown, page, resolved("x\n"))
    assert "    echo step\n" in html and "false" not in html.split("<!-- exec")[0]


def test_a_lesson_with_step_cards_has_its_stamp_at_the_end(tmp_path):
    markdown = ('# T\n\n<div class="step-card" data-step-card="1" markdown>\n\n<!-- exec: id=out -->\n```bash\necho x\n```\n\n'
                "<!-- output: out -->\n\n</div>\n\nThe end.\n")
    html = replace_markers(markdown, parse_page(markdown, "p.md", tmp_path), resolved("x\n"))
    assert html.count("doclab-stamp") == 1 and html.index("The end.") < html.index("doclab-stamp")


def test_an_output_of_another_engine_is_shown_as_its_own_capture_with_its_own_note(tmp_path):
    markdown = "# T\n\n<!-- exec: id=out -->\n```bash\necho x\n```\n\n<!-- output: out -->\n\n<!-- output: out engine=28.5-overlay2 -->\n"
    page = parse_page(markdown, "p.md", tmp_path)
    other = PageRecord("p.md", "k", "i", {**STAMP, "date": "2026-12-07", "server": {"version": "28.5.2+dfsg4", "image_store": "overlay2"}},
                       {"out": Capture("out", "docker build -t x .", 0, BUILDKIT, 0.1, {"version": "28.5.2+dfsg4"})})
    shown = resolved("x\n")
    html = replace_markers(markdown, page, Resolved(shown.record, shown.state, engine_records={"28.5-overlay2": other}))
    assert '```{.doclab-output data-capture="out-28.5-overlay2" title="$ docker build -t x ."}' in html
    assert ("This output: BuildKit · recorded on 7 Dec 2026 with Docker Engine 28.5.2 on the overlay2 storage driver · "
            "client 28.5.2") in html
    assert html.count('class="doclab-stamp"') == 1, "the page's one stamp is its own record's"


def test_a_page_shown_in_part_under_serve_says_which_outputs_are_still_running(tmp_path):
    markdown = ("# T\n\n<!-- exec: id=out -->\n```bash\necho x\n```\n\n<!-- output: out -->\n\n"
                "<!-- exec: id=later -->\n```bash\necho y\n```\n\n!!! note\n\n    <!-- output: later -->\n")
    page = parse_page(markdown, "p.md", tmp_path)
    html = replace_markers(markdown, page, resolved("x\n", Outcome.RUNNING))
    assert '```{.doclab-output data-capture="out" title="$ echo x"}\nx\n```' in html
    assert '    <p class="doclab-pending" data-capture="later" role="status">Running again after your edit' in html
    assert 'data-state="running"' in html and "the page reloads with the rest when it ends" in html
