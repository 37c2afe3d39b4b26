"""The lesson built with Zensical, the successor of Material for MkDocs, through doclab's Python-Markdown
extension (zensical.yml): the same captured outputs on the page as the MkDocs build, labelled as records."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


from doclab.capture.record import CaptureStore
from doclab.settings import Settings
from tests.conftest import ROOT


OUTPUT = re.compile(r'<div class="doclab-output[^"]*"[^>]*? data-capture="([^"]+)"[^>]*>.*?<code>(.*?)</code>', re.S)


def zensical_build(site: Path) -> subprocess.CompletedProcess:
    """``zensical build`` of zensical.yml, its site moved to ``site`` (Zensical wants its config and its site inside
    the project: both made for this run, and gone after it)."""
    config, built = ROOT / f".zensical-test-{os.getpid()}.yml", ROOT / f".zensical-site-{os.getpid()}"
    config.write_text(f"INHERIT: zensical.yml\nsite_dir: {built.name}\n")
    try:
        done = subprocess.run([sys.executable, "-m", "zensical", "build", "--clean", "-f", str(config)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
        if built.is_dir():
            shutil.move(built, site)
        return done
    finally:
        config.unlink()
        shutil.rmtree(built, ignore_errors=True)


def test_zensical_builds_the_lesson_with_the_same_captured_outputs_as_the_record(tmp_path):
    built = zensical_build(tmp_path / "site")
    assert built.returncode == 0, built.stdout + built.stderr
    lesson = (tmp_path / "site" / "mini-project" / "index.html").read_text()
    settings = Settings.from_env()
    record = CaptureStore(settings.captures_dir).load_intact("mini-project.md")
    expected = {capture_id: capture.output for capture_id, capture in record.captures.items()}
    for engine in sorted(settings.engine_captures_dir.iterdir()):  # what the page shows of other engines, as they printed it
        other = CaptureStore(engine).load_intact("mini-project.md")
        expected.update({f"{capture_id}-{engine.name}": capture.output for capture_id, capture in other.captures.items()})
    shown = {capture_id: code for capture_id, code in OUTPUT.findall(lesson)}
    assert set(shown) >= {"build-buildkit", "build-classic", "check-image"}, sorted(shown)
    for capture_id, code in shown.items():
        text = re.sub(r"<[^>]+>", "", code).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#x27;", "'")
        assert text.strip() == expected[capture_id].strip(), capture_id
    assert 'data-state="recorded"' in lesson and "this build shows the records a MkDocs build made" in lesson
    assert "{{" not in lesson and "<!-- quote:" not in lesson and "<!-- output:" not in lesson
    assert 'id="exercise-rules"' in lesson  # the macros ran: the exercises are there

