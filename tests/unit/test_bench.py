import json
import os

import pytest

from doclab.tools.bench import (
    SERVE_SNIPPET, BenchError, Stats, abab, capture_seconds, cpu_floor, machine_busy_seconds, paired_ratio, report, served_state,
    table, without_captures_hook,
)
from doclab.settings import PROJECT_ROOT

CONFIG = """\
site_name: x
plugins:
  - search

# Hooks
hooks:
  - hooks/captures.py
  - hooks/other.py

markdown_extensions:
  - toc: {permalink: true}
"""


def test_pairs_alternate_so_drift_touches_both_sides():
    assert abab(3) == ["a", "b", "a", "b", "a", "b"]


def test_stats_give_median_min_max_and_count():
    assert Stats.of([3.0, 1.0, 2.0, 10.0]) == Stats(2.5, 1.0, 10.0, 4)
    with pytest.raises(BenchError):
        Stats.of([])


def test_a_paired_ratio_is_the_median_of_each_pairs_ratio():
    # The machine slows down 10× half-way: each pair still says 2×, the medians alone would not.
    assert paired_ratio([2.0, 2.2, 20.0], [1.0, 1.1, 10.0]) == pytest.approx(2.0)
    with pytest.raises(BenchError, match="differ in number: 2 and 1"):
        paired_ratio([1.0, 2.0], [1.0])


def test_the_captures_hook_goes_and_the_other_hooks_stay():
    assert without_captures_hook(CONFIG) == CONFIG.replace("  - hooks/captures.py\n", "")
    alone = CONFIG.replace("  - hooks/other.py\n", "")
    assert without_captures_hook(alone) == alone.replace("hooks:\n  - hooks/captures.py\n\n", "")


def test_the_real_config_loses_exactly_its_captures_hook():
    original = (PROJECT_ROOT / "mkdocs.yml").read_text()
    changed = without_captures_hook(original)
    assert "hooks/captures.py" in original and "hooks/captures.py" not in changed
    assert set(original.splitlines()) - set(changed.splitlines()) == {"  - hooks/captures.py"}


def test_a_config_without_the_captures_hook_is_an_error():
    with pytest.raises(BenchError, match="no top-level `hooks:`"):
        without_captures_hook("site_name: x\nplugins:\n  - hooks: not this\n")
    with pytest.raises(BenchError, match="no hooks/captures.py"):
        without_captures_hook("hooks:\n  - hooks/other.py\n")


def test_command_time_is_summed_over_every_block_of_every_page(tmp_path):
    (tmp_path / "learn").mkdir()
    # Blocks whose output is not shown count too: commands_seconds, not the captures' seconds.
    (tmp_path / "a.json").write_text(json.dumps({"stamp": {"commands_seconds": 2.5}, "captures": {"x": {"seconds": 1.25}}}))
    (tmp_path / "learn" / "b.json").write_text(json.dumps({"stamp": {"commands_seconds": 2.0}, "captures": {}}))
    assert capture_seconds(tmp_path) == 4.5


def test_the_table_and_ratios_are_printed():
    text = report({"warm": [1.2, 1.0], "nohook (warm pair)": [1.0, 1.0], "serve rebuild": [0.5]})
    assert text.splitlines() == [
        "| figure | median | min | max | runs |",
        "|---|---|---|---|---|",
        "| warm | 1.10 s | 1.00 s | 1.20 s | 2 |",
        "| nohook (warm pair) | 1.00 s | 1.00 s | 1.00 s | 2 |",
        "| serve rebuild | 0.50 s | 0.50 s | 0.50 s | 1 |",
        "",
        "warm rebuild / build without the captures hook (goal ≤ 1.10×): 1.10× (median of 2 pairs)",
    ]
    assert table([]) == "| figure | median | min | max | runs |\n|---|---|---|---|---|"


def test_the_snippet_serve_edits_exists():
    assert (PROJECT_ROOT / SERVE_SNIPPET).is_file()


def test_the_cpu_floor_spreads_the_machines_cpu_time_over_its_cores(tmp_path):
    samples = {"cold, CPU time of the whole machine": [12.0, 10.0, 11.0], "commands (sum, cold)": [8.0, 8.0, 9.0]}
    assert cpu_floor(samples, 2) == "cold build's CPU time over 2 cores: 5.50 s at best, 0.69× the pages' command time"
    assert cpu_floor({"commands (sum, cold)": [8.0]}, 2) is None
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal, in clock ticks
    stat.write_text("cpu  300 0 100 5000 50 10 10 0 0 0\ncpu0 1 2 3\n")
    assert machine_busy_seconds(str(stat)) == 420 / os.sysconf("SC_CLK_TCK")


def test_the_default_engine_is_compared_with_debian_12s_run_by_run():
    text = report({"doc tests on 28.5-containerd": [20.0, 30.0], "doc tests on 20.10": [40.0, 30.0]})
    assert text.splitlines()[-1] == "every page cold on 28.5-containerd / on 20.10 (goal ≤ 1×): 0.75× (median of 2 pairs)"


def test_serve_times_the_edited_output_when_it_shows_and_the_page_when_it_is_whole():
    edited = '<pre data-capture="version">Client 28</pre><p class="doclab-pending" data-capture="build" role="status">'
    assert served_state(edited, "version") == "edited"
    assert served_state('<pre data-capture="version">x</pre><pre data-capture="build">y</pre>', "version") == "whole"
    assert served_state('<p class="doclab-pending" data-capture="version" role="status">', "version") is None
    assert served_state("<p>no outputs yet</p>", "version") is None
