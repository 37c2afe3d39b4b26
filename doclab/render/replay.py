"""A terminal block's replay ("Watch it run"): its run as an asciicast v2 file, and the screens a player shows, each
drawn by the terminal emulator that drew the captured screen (``doclab.run.terminal``), so the last is that screen."""

from __future__ import annotations

import json

from doclab.run import terminal


def asciicast_text(cast: dict) -> str:
    """The asciicast v2 file: its header line, then one line an event."""
    header = {key: value for key, value in cast.items() if key != "events"}
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in [header, *cast["events"]]) + "\n"


def frames(cast: dict) -> list[list]:
    """The screens a replay shows: ``[seconds, screen]`` each time what the terminal shows changes (the last one is the
    screen the run left, as ``screen`` draws it), drawn by the same emulator."""
    import pyte

    display = pyte.Screen(cast["width"], cast["height"])
    stream, shown = pyte.Stream(display), []
    for seconds, _, text in cast["events"]:
        stream.feed(terminal.as_typed(text))
        now = terminal.shown_screen(display)
        if not shown or shown[-1][1] != now:
            shown.append([seconds, now])
    return shown
