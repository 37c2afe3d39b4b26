import pytest

from doclab.scrub import MachineFacts, as_terminal_shows, normalize, scrub

FACTS = MachineFacts(
    workdirs=(("/tmp/doclab-x1/home/demo", "~/demo"), ("/tmp/doclab-x1", "~")),
    home="/home/ada",
    hostname="buildhost-7",
    username="ada",
)


def test_scrub_removes_machine_specifics_only():
    text = "copied /tmp/doclab-x1/home/demo/Dockerfile and /tmp/doclab-x1/control to /home/ada/.docker on buildhost-7 as ada\n"
    assert scrub(text, FACTS) == "copied ~/demo/Dockerfile and ~/control to ~/.docker on <host> as <user>\n"


def test_scrub_leaves_short_or_generic_names_alone():
    facts = MachineFacts(hostname="vm", username="root", home="/root")
    assert scrub("vm rootfs root /root/x\n", facts) == "vm rootfs root ~/x\n"


def test_carriage_returns_show_what_a_terminal_shows():
    assert as_terminal_shows("Sending 1kB\rSending 2.048kB\r\r\nStep 1/1\n") == "Sending 2.048kB\nStep 1/1\n"


@pytest.mark.parametrize(
    ("volatile", "masked"),
    [
        ("Digest: sha256:" + "a" * 64, "Digest: sha256:<digest>"),
        (" ---> 682eb95e98b9", " ---> <id>"),
        ("writing image " + "b" * 64, "writing image <id>"),
        ("Sending build context to Docker daemon  2.048kB", "Sending build context to Docker daemon  <size>"),
        ("#5 DONE 0.3s", "#1 DONE <duration>"),
        ("Created: 2026-11-28T05:01:02.123456789Z", "Created: <date>"),
        ("CREATED 3 minutes ago", "CREATED <date>"),
        ("unix:///tmp/doclab-lab/page-client-1a2b3c.sock", "unix:///tmp/doclab-lab/<daemon>.sock"),
    ],
)
def test_normalize_masks_each_volatile_kind(volatile, masked):
    assert normalize(volatile) == masked


def test_normalize_drops_progress_but_keeps_results_and_everything_else():
    text = (
        "3.18: Pulling from library/alpine\n1d90362d504b: Pulling fs layer\n1d90362d504b: Download complete\n"
        "1d90362d504b: Pull complete\nSuccessfully tagged my-alpine-image:latest\n"
    )
    assert normalize(text) == (
        "3.18: Pulling from library/alpine\n<id>: Pull complete\nSuccessfully tagged my-alpine-image:latest\n"
    )
    assert normalize("Step 1/2 : FROM alpine:3.18\n") == "Step 1/2 : FROM alpine:3.18\n"


def test_buildkit_in_progress_lines_are_dropped_only_when_finished_later():
    text = "#6 exporting layers\n#6 exporting layers done\n#7 naming to x\n"
    assert normalize(text) == "#1 exporting layers done\n\n#2 naming to x\n"


def test_push_results_and_sdk_progress_are_dropped():
    text = "24d58df9dfe4: Preparing\n24d58df9dfe4: Pushed\n{'status': 'Extracting', 'id': '1d90362d504b'}\n{'status': 'Pull complete'}\n"
    assert normalize(text) == "{'status': 'Pull complete'}\n"


def test_column_alignment_follows_volatile_widths():
    recorded = "IMAGE          CREATED                  SIZE\n682eb95e98b9   Less than a second ago   0B   \n"
    now = "IMAGE          CREATED        SIZE\n682eb95e98b9   1 second ago   0B\n"
    assert normalize(recorded) == normalize(now) == "IMAGE  CREATED  SIZE\n<id>  <date>  <size>\n"


def test_buildkit_steps_that_finish_in_another_order_compare_equal():
    one = "#4 [1/2] FROM a\n#4 DONE 0.0s\n\n#5 [2/2] RUN b\n#5 DONE 0.2s\n\n#6 exporting layers 0.1s done\n"
    two = "#5 [1/2] FROM a\n#5 DONE 0.0s\n\n#4 [2/2] RUN b\n#4 DONE 0.1s\n\n#6 exporting layers done\n"
    assert normalize(one) == normalize(two)
    assert normalize("#1 [2/2] RUN b\n#1 DONE 0.1s\n") != normalize("#1 [2/2] RUN c\n#1 DONE 0.1s\n")
