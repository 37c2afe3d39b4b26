import pytest

from doclab.capture.record import CaptureStore
from doclab.settings import Settings
from doclab.capture.facts import builder_of
from doclab.render.walkthrough import explain, render_table


def recorded_output(capture_id: str) -> str:
    record = CaptureStore(Settings.from_env({}).captures_dir).load("mini-project.md")
    return record.captures[capture_id].output


@pytest.mark.parametrize("capture_id, builder", [("build-buildkit", "BuildKit"), ("build-classic", "classic builder")])
def test_every_line_of_both_recorded_lesson_builds_is_explained(capture_id, builder):
    output = recorded_output(capture_id)
    explained, unknown = explain(output)
    assert unknown == []
    assert len(explained) == len([line for line in output.splitlines() if line.strip()])
    assert builder_of(output) == builder
    assert ("daemon", "registry") in [item.actors for item in explained]


def test_checksum_and_download_complete_say_different_things_and_the_daemon_checks():
    explained, _ = explain("1d90362d504b: Verifying Checksum\n1d90362d504b: Download complete\n")
    assert explained[0].meaning != explained[1].meaning
    assert explained[0].actors == ("registry", "daemon") and "SHA-256" in explained[0].meaning  # the layer the registry sent


def test_buildkit_tells_the_layer_from_the_small_documents():
    layer, document = "a" * 64, "b" * 64
    output = (f"#4 extracting sha256:{layer}\n#4 sha256:{document} 527B / 527B done\n"
              f"#4 sha256:{layer} 3.29MB / 3.29MB 0.0s done\n")
    meanings = [item.meaning for item in explain(output)[0]]
    assert "manifest or its configuration" in meanings[1] and "A layer of the base image" in meanings[2]


def test_no_two_rules_of_the_notice_share_a_text():
    notice = ("DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n"
              "            Install the buildx component to build images with BuildKit:\n"
              "            https://docs.docker.com/go/buildx/\n")
    meanings = [item.meaning for item in explain(notice)[0]]
    assert len(set(meanings)) == 3 and not any("The rest of" in meaning for meaning in meanings)


def test_unknown_lines_are_flagged_not_dropped():
    table = render_table("Sending build context to Docker daemon  2kB\nsomething new | odd\n")
    assert "| `something new \\| odd` | ? | Not explained yet. |" in table


@pytest.mark.parametrize("capture_id", ["build-buildkit", "build-buildkit-terminal", "build-classic"])
def test_step_4s_boxes_and_the_line_explainer_give_every_line_the_same_part(capture_id):
    """A line the explainer gives to the daemon and the registry is the one the pull box takes, and only such a line;
    a line it gives to the client and the daemon is the one the upload box takes; the tag box takes only the daemon's."""
    from doclab.lesson.answers import load_rules

    rules = load_rules(Settings.from_env({}).snippets_dir / "mini-project" / "answers.json")
    disagree = []
    for item in explain(recorded_output(capture_id))[0]:
        taken = {field for field in ("upload", "pull", "tag") if rules.check_field("4", field, item.line).verdict == "right"}
        told = {"pull"} if {"daemon", "registry"} <= set(item.actors) else {"upload"} if item.actors == ("client", "daemon") else set()
        if taken - {"tag"} != told or ("tag" in taken and item.actors != ("daemon",)):
            disagree.append(f"{item.line!r}: the explainer says {' → '.join(item.actors)}, the boxes take it for {sorted(taken)}")
    assert not disagree, "\n".join(disagree)
