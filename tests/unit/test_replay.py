"""A terminal block's replay: its asciicast v2 file and the screens the player shows, the last one the captured screen."""

import json

from doclab.capture.record import CaptureStore
from doclab.render.replay import asciicast_text, frames
from doclab.run.terminal import asciicast, screen
from doclab.settings import Settings


def test_every_replay_of_the_records_ends_on_the_screen_its_record_shows():
    store = CaptureStore(Settings.from_env({}).captures_dir)
    replayed = {}
    for path in sorted(store.directory.rglob("*.json")):
        record = store.load(path.relative_to(store.directory).with_suffix(".md").as_posix())
        for capture_id, capture in record.captures.items():
            if capture.cast:
                shown = frames(capture.cast)
                assert shown[-1][1] == capture.output, f"{record.page}#{capture_id}: the player's last screen is not the captured one"
                assert [seconds for seconds, _ in shown] == sorted(seconds for seconds, _ in shown)
                assert capture.cast["command"] == capture.command
                replayed[f"{record.page}#{capture_id}"] = len(shown)
    assert set(replayed) >= {"mini-project.md#build-buildkit", "mini-project.md#build-buildkit-terminal", "architecture/trace.md#traced-build",
                             "mini-project.md#build-classic", "architecture/registry.md#pull", "architecture/registry.md#push"}


def test_screens_change_only_when_what_the_terminal_shows_changes_and_redraws_are_kept():
    cast = asciicast("docker build .", [(0.1, "[+] Building 0.1s (1/2)\r\n"), (0.2, ""), (0.3, "\x1b[1A\r[+] Building 0.2s (2/2) FINISHED\r\n")],
                     (40, 5))
    assert frames(cast) == [[0.1, "[+] Building 0.1s (1/2)\n"], [0.3, "[+] Building 0.2s (2/2) FINISHED\n"]]
    assert frames(cast)[-1][1] == screen("".join(text for _, _, text in cast["events"]), (40, 5))


def test_the_cast_file_is_asciicast_v2_a_header_then_one_event_a_line():
    lines = asciicast_text(asciicast("ls", [(0.25, "a\r\n")], (80, 24))).splitlines()
    assert json.loads(lines[0]) == {"version": 2, "width": 80, "height": 24, "command": "ls"}
    assert json.loads(lines[1]) == [0.25, "o", "a\r\n"]
