from doclab.capture import CaptureStore
from doclab.settings import Settings
from doclab.walkthrough import explain, render_table


def recorded_build_output() -> str:
    record = CaptureStore(Settings.from_env({}).captures_dir).load("mini-project.md")
    return record.captures["build"].output


def test_every_line_of_the_recorded_lesson_build_is_explained():
    explained, unknown = explain(recorded_build_output())
    assert unknown == []
    actors = {line.line.split(":")[0]: line.actors for line in explained}
    assert actors["Sending build context to Docker daemon  2.048kB"] == ("client", "daemon")
    assert ("daemon", "registry") in [item.actors for item in explained]


def test_unknown_lines_are_flagged_not_dropped():
    table = render_table("Sending build context to Docker daemon  2kB\nsomething new | odd\n")
    assert "| `something new \\| odd` | ? | Not explained yet. |" in table
