import pytest

from doclab.run.scrub import MachineFacts, as_terminal_shows, normalize, scrub

FACTS = MachineFacts(
    workdirs=(("/tmp/doclab-x1/home/demo", "~/demo"), ("/tmp/doclab-x1", "~")),
    home="/home/ada",
    hostname="buildhost-7",
    username="ada",
)


def test_scrub_removes_machine_specifics_only():
    text = "copied /tmp/doclab-x1/home/demo/Dockerfile and /tmp/doclab-x1/control to /home/ada/.docker on buildhost-7 as ada\n"
    assert scrub(text, FACTS) == "copied ~/demo/Dockerfile and ~/control to ~/.docker on <host> as <user>\n"


def test_scrub_leaves_generic_names_alone():
    facts = MachineFacts(hostname="localhost", username="root", home="/root")
    assert scrub("localhost:5000 rootfs root /root/x\n", facts) == "localhost:5000 rootfs root /root/x\n"


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
        ("unix:///tmp/doclab-lab/page-client-1a2b3c.sock", "unix://<daemon-socket>"),
        ('Get "http://localhost:5999/v2/": dial tcp [::1]:5999: connect', 'Get "http://localhost:5999/v2/": dial tcp <loopback>:5999: connect'),
        ('dial tcp 127.0.0.1:5999: connect', 'dial tcp <loopback>:5999: connect'),
        (' OS/Arch:           linux/arm64', ' OS/Arch:  <machine>'),
        ('"Arch": "arm64",', '"Arch": "<machine>",'),
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
    timed = "#6 exporting layers\n#6 exporting layers 0.3s done\n#7 naming to x\n"
    assert normalize(timed) == normalize(text)
    ticking = "#6 exporting layers\n#6 exporting layers 0.1s\n#6 exporting layers 0.3s done\n#7 naming to x\n"
    assert normalize(ticking) == normalize(text)
    sized = "#2 transferring context: 0.0s\n#2 transferring context: 2B 0.0s done\n#2 DONE 0.1s\n"
    assert normalize(sized) == normalize("#2 transferring context: 2B done\n#2 DONE 0.0s\n")
    started = "#2 transferring context:\n#2 transferring context: 2B done\n#2 DONE 0.1s\n"
    assert normalize(started) == normalize(sized)
    assert normalize("#2 transferring context: 2B done\n") != normalize("#2 transferring context: 3B\n")


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


PULL_STEP = "#1 [1/1] FROM docker.io/library/alpine:3.18\n#1 resolve docker.io/library/alpine:3.18 done\n{}\n#1 DONE 0.3s\n"


def test_status_lines_inside_a_buildkit_step_compare_equal_in_any_order():
    # Seen in CI: "extracting … done" printed before or after the layers' byte counts, as updates arrived.
    sizes = "#1 sha256:aa 3.4MB / 3.4MB 0.1s done\n#1 sha256:bb 528B / 528B done"
    extracting = "#1 extracting sha256:aa 0.1s done"
    assert normalize(PULL_STEP.format(f"{sizes}\n{extracting}")) == normalize(PULL_STEP.format(f"{extracting}\n{sizes}"))
    assert normalize(PULL_STEP.format(sizes)) != normalize(PULL_STEP.format(f"{sizes}\n{extracting}"))


def test_a_buildkit_step_printed_twice_after_an_early_done_compares_equal_to_one_printed_once():
    # Seen here: "#4 [1/1] FROM …", "#4 sha256:…", "#4 DONE 0.0s", then the same step again with its progress.
    once = "#4 [1/1] FROM alpine\n#4 sha256:aa\n#4 resolve alpine done\n#4 DONE 0.4s\n"
    twice = "#4 [1/1] FROM alpine\n#4 sha256:aa\n#4 DONE 0.0s\n\n" + once
    assert normalize(twice) == normalize(once)
    assert normalize(once) != normalize(once.replace("resolve alpine done", "resolve alpine:3.19 done"))


RECORDED_HERE = """{
    "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {"KernelVersion": "6.18.44-fc-v669"}}],
    "KernelVersion": "6.18.44-fc-v669",
    "NCPU": 2,
    "MemTotal": 25769803776,
    "Driver": "overlay2",
    "CgroupVersion": "2"
}
 Kernel Version: 6.18.44-fc-v669
 Storage Driver: overlay2
 Cgroup Driver: systemd
 CPUs: 2
 Total Memory: 23.5GiB
 Operating System: Debian GNU/Linux 12 (bookworm)
 Docker Root Dir: /tmp/doclab-lab/data/build-a
"""
ANOTHER_HOST = """{
    "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {"KernelVersion": "6.1.0-41-cloud-amd64"}}],
    "KernelVersion": "6.1.0-41-cloud-amd64",
    "NCPU": 64,
    "MemTotal": 270582939648,
    "Driver": "vfs",
    "CgroupVersion": "1"
}
 Kernel Version: 6.1.0-41-cloud-amd64
 Storage Driver: vfs
 Cgroup Driver: cgroupfs
 CPUs: 64
 Total Memory: 252GiB
 Operating System: Ubuntu 24.04.3 LTS
 Docker Root Dir: /var/lib/docker
"""


def test_output_recorded_on_one_host_compares_equal_on_another():
    assert normalize(RECORDED_HERE) == normalize(ANOTHER_HOST)
    assert "Engine" in normalize(ANOTHER_HOST) and "20.10.24+dfsg1" in normalize(ANOTHER_HOST)


def test_machine_fields_do_not_hide_a_real_difference():
    assert normalize(RECORDED_HERE) != normalize(RECORDED_HERE.replace("20.10.24+dfsg1", "24.0.7"))


@pytest.mark.parametrize("hostname", ["vm", "ci-runner-7", "build.example.internal"])
def test_the_host_name_is_scrubbed_whatever_its_length(hostname):
    facts = MachineFacts(hostname=hostname)
    assert scrub(f"{hostname}\nName: {hostname}\nssh {hostname}:22\n", facts) == "<host>\nName: <host>\nssh <host>:22\n"


def test_checkout_and_venv_paths_are_scrubbed():
    facts = MachineFacts(workdirs=(("/home/ann/src/doclab", "<project>"), ("/home/ann/src/doclab/.venv", "<venv>")))
    assert scrub("/home/ann/src/doclab/.venv/bin/python /home/ann/src/doclab/x", facts) == "<venv>/bin/python <project>/x"


def test_paths_are_scrubbed_only_whole_and_never_the_systems():
    facts = MachineFacts(workdirs=(("/app", "<project>"), ("/usr/local", "<venv>")), home="/root")
    text = "/app/x /application /usr/local/bin/python /root/.ash_history\n"
    assert scrub(text, facts) == "<project>/x /application /usr/local/bin/python /root/.ash_history\n"


def test_images_listed_in_another_order_compare_equal():
    one = "REPOSITORY        TAG   IMAGE ID       CREATED   SIZE\nmy-alpine-image   latest   682eb95e98b9   2 years ago   7.35MB\nalpine   3.18   682eb95e98b9   2 years ago   7.35MB\n"
    two = "REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\nalpine   3.18   682eb95e98b9   2 years ago   7.35MB\nmy-alpine-image   latest   682eb95e98b9   2 years ago   7.35MB\n"
    assert normalize(one) == normalize(two)
    assert normalize(one) != normalize(two.replace("3.18", "3.19"))


def test_the_terminal_views_downloads_compare_in_any_order():
    one = (" => [1/1] FROM docker.io/library/alpine:3.18  0.2s\n => => extracting sha256:aaa  0.1s\n"
           " => => sha256:bbb 562B / 562B  0.0s\n => => sha256:aaa 3.29MB / 3.29MB  0.1s\n => exporting to image  0.0s\n")
    other = (" => [1/1] FROM docker.io/library/alpine:3.18  0.3s\n => => sha256:aaa 3.29MB / 3.29MB  0.0s\n"
             " => => sha256:bbb 562B / 562B  0.0s\n => => extracting sha256:aaa  0.2s\n => exporting to image  0.0s\n")
    assert normalize(one) == normalize(other)
    assert normalize(one) != normalize(one.replace("sha256:bbb", "sha256:ccc"))


def test_an_attestation_manifests_size_is_masked_and_the_images_is_not():
    index = ('{\n  "manifests": [\n    {\n      "digest": "sha256:' + "a" * 64 + '",\n      "size": 480,\n'
             '      "platform": {"os": "linux"}\n    },\n    {\n      "digest": "sha256:' + "b" * 64 + '",\n'
             '      "size": 566,\n      "annotations": {\n        "vnd.docker.reference.digest": "sha256:' + "a" * 64
             + '",\n        "vnd.docker.reference.type": "attestation-manifest"\n      }\n    }\n  ]\n}\n')
    assert normalize(index) == normalize(index.replace('"size": 566', '"size": 565'))
    assert normalize(index) != normalize(index.replace('"size": 480', '"size": 481'))
