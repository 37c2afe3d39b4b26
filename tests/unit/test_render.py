from doclab.capture import Capture, PageRecord, Resolved
from doclab.pages import parse_page
from doclab.render import replace_markers, stamp_text

STAMP = {
    "date": "2026-11-28",
    "client": {"version": "28.2.2", "path": "/usr/local/bin/docker"},
    "server": {"version": "20.10.24+dfsg1", "api": "1.41"},
    "base_images": [{"image": "alpine:3.18", "digest": "sha256:abc", "source": "pulled through the registry mirror http://127.0.0.1:5555/"}],
}


def resolved(output: str, state: str = "live") -> Resolved:
    return Resolved(PageRecord("p.md", "k", "i", STAMP, {"out": Capture("out", "echo x", 0, output, 0.1)}), state)


def test_stamp_names_versions_date_and_where_the_base_image_came_from():
    text = stamp_text(resolved("x\n").record, "live")
    assert text.startswith("Captured on 2026-11-28 from a real run")
    for part in ("client Docker 28.2.2", "Engine 20.10.24+dfsg1",
                 "alpine:3.18 pulled through the registry mirror http://127.0.0.1:5555/ (sha256:abc)"):
        assert part in text


def test_recorded_stamp_says_it_is_recorded():
    assert stamp_text(resolved("x\n").record, "recorded").startswith(
        "Recorded on 2026-11-28 with Engine 20.10.24+dfsg1 — no Docker daemon was reachable"
    )


def test_marker_becomes_fenced_output_and_stamp_keeping_indentation(tmp_path):
    markdown = "<!-- exec: id=out -->\n```bash\necho x\n```\n\n!!! note\n\n    <!-- output: out -->\n"
    page = parse_page(markdown, "p.md", tmp_path)
    html = replace_markers(markdown, page, resolved("has ``` fences\n"))
    assert '    ````text title="$ echo x"\n    has ``` fences\n    ````\n\n    <p class="doclab-stamp"' in html
    assert 'data-state="live" data-base-digests="sha256:abc"' in html


def test_script_copies_the_steps_above_its_marker_only(tmp_path):
    markdown = "```bash\necho step\n```\n\n<!-- script: all -->\n\n<!-- exec: exit=1 -->\n```bash\necho x; false\n```\n"
    page = parse_page(markdown, "p.md", tmp_path)
    html = replace_markers(markdown, page, resolved("x\n"))
    assert "    echo step\n" in html and "false" not in html.split("<!-- exec")[0]
