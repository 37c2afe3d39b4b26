"""A page cannot reach the machine it is built on: tried through ``mkdocs build`` on the lab, as a hostile
pull request would, with a canary secret in the builder's environment and canary files on the host."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docker_env import running_lab

pytestmark = pytest.mark.docker

#: Each route a page could take to the machine, and what the lab answers (the daemon's refusal, or nothing to find).
ATTEMPTS = r"""
docker run --rm -v /:/host alpine:3.18 head -1 /host/etc/shadow
docker run --rm -v /tmp:/hosttmp alpine:3.18 touch /hosttmp/{tmp_canary}
docker run --rm --mount type=bind,source=/root,target=/r alpine:3.18 cat /r/{root_canary}
docker run --rm --privileged alpine:3.18 true
docker run --rm --pid host alpine:3.18 true
docker run --rm --cap-add SYS_PTRACE alpine:3.18 true
docker run --rm --device /dev/vda alpine:3.18 true
docker run --rm --security-opt seccomp=unconfined alpine:3.18 true
docker volume create --opt type=none --opt device=/root --opt o=bind hostroot
{raw} -d '{{"Image":"alpine:3.18","Cmd":["cat","/h/root/{root_canary}"],"hostconfig":{{"binds":["/:/h"]}}}}' http://d/v1.51/containers/create
{raw} -d '{{"Image":"alpine:3.18","Cmd":["cat","/h/root/{root_canary}"],"HostConfig":{{"Binds":["/:/h"]}}}}' http://d/v1.51/containers/%63reate
{raw} -d '{{"Image":"alpine:3.18","Cmd":["cat","/h/root/{root_canary}"],"Binds":["/:/h"]}}' http://d/v1.51/containers/create
{raw} -d '{{"Binds":["/:/h"]}}' http://d/v1.23/containers/anything/start
mkdir d && docker create --name swap -v "$PWD/d:/h" alpine:3.18 cat /h/root/{root_canary} && rmdir d && ln -s / d && docker start -a swap
printf 'FROM alpine:3.18\nRUN echo POISONED-BY-PAGE > /poison\n' | docker build -q -t 127.0.0.1:45000/library/alpine:3.18 - >/dev/null && docker push 127.0.0.1:45000/library/alpine:3.18
python3 -c "exec('import os, time\nn = 0\ntry:\n while n < 5000:\n  if os.fork() == 0: time.sleep(1); os._exit(0)\n  n += 1\nexcept OSError as error: print(\'contained after\', n, \'processes:\', error.strerror)\nwhile n: os.wait(); n -= 1')"
docker run --rm alpine:3.18 sh -c 'for i in $(seq 1100); do sleep 3 & done 2>&1 | head -1; wait'
head -1 /etc/shadow; cat /root/{root_canary}; ls /root /home
for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do ln -s /root/{written} ../control/block-$n.sh; done 2>&1 | sort -u
echo written > /root/{written}; echo written > {project}/{written}; echo written > /usr/{written}
for environ in /proc/[0-9]*/environ; do tr '\0' '\n' < "$environ"; done | grep -c CANARY_TOKEN
ls /dev; ls /run; ls /var/run/docker.sock
mount -t tmpfs none /mnt
true
"""


#: Folders whose files are the machine's own: no test run, page or lab changes them (the suite's caches are under
#: ~/.cache, the labs under /tmp). Walked whole; /usr and /root are too big for that and are listed instead.
WALKED = ("/etc", "/opt", "/home", "/srv", "/boot", "/usr/local")
LISTED = ("/root", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/bin", "/sbin", "/lib", "/var/lib")
#: Mount points tests and labs make and remove while this test runs (page daemons, network namespaces, cgroups).
OTHERS_MOUNTS = ("/tmp", "/run/netns", "/run/docker", "/sys/fs/cgroup", "/proc", "/var/lib/docker")


def machine_inventory() -> dict[str, set]:
    """The machine's files (name, size, mode, modification time), folder listings and mounts, to compare after a page."""
    files = set()
    for top in WALKED:
        for folder, _, names in os.walk(top):
            for name in names:
                try:
                    info = os.lstat(os.path.join(folder, name))
                except FileNotFoundError:
                    continue
                files.add((os.path.join(folder, name), info.st_size, info.st_mode, info.st_mtime_ns))
    listings = {(folder, name) for folder in LISTED if os.path.isdir(folder) for name in os.listdir(folder)}
    mounts = {line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()}
    mounts = {point for point in mounts if not any(point == top or point.startswith(top + "/") for top in OTHERS_MOUNTS)}
    return {"files": files, "folders": listings, "mounts": mounts}


def processes_with_token(token: str) -> list[int]:
    """Processes whose environment holds the builder's canary: started by the build, alive after it."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_page_reaches_neither_the_machines_files_nor_the_builders_environment(tmp_path):
    lab = running_lab()
    token = secrets.token_hex(12)
    names = {name: f"doclab-canary-{secrets.token_hex(4)}" for name in ("tmp_canary", "root_canary", "written")}
    before = machine_inventory()
    root_canary = Path("/root") / names["root_canary"]
    root_canary.write_text(f"root canary {token}\n")
    root_canary.chmod(0o600)
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    # The Engine API written by hand, as Docker reads it and a filter might not (issue 29's routes).
    raw = 'curl -s --unix-socket "${DOCKER_HOST#unix://}" -H "Content-Type: application/json"'
    attempts = ATTEMPTS.format(project=project, raw=raw, **names).strip().splitlines()
    # Each attempt says how it ended, so the page runs whole whatever the lab answers.
    blocks = "\n\n".join(f'<!-- exec: id=try-{index} -->\n```bash\n{line}; echo "[exit $?]"\n```\n\n<!-- output: try-{index} -->'
                          for index, line in enumerate(attempts))
    (project / "docs" / "index.md").write_text("# Sandbox\n\n" + blocks + "\n")
    (project / "mkdocs.yml").write_text(f"site_name: sandbox\nplugins: [search]\nhooks: [{ROOT / 'hooks' / 'captures.py'}]\n")
    shadow_line = Path("/etc/shadow").read_text().splitlines()[0]
    env = {**os.environ, "CANARY_TOKEN": token, "DOCKER_HOST": lab.daemon("main").docker_host, "NO_MKDOCS_2_WARNING": "1",
           "DOCLAB_STRICT": ""}
    try:
        built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project, env=env,
                               capture_output=True, text=True, timeout=600)
        log = built.stdout + built.stderr
        assert built.returncode == 0, log
    finally:
        root_canary.unlink()
    after = machine_inventory()
    for part in before:
        assert after[part] == before[part], f"the machine's {part} changed: -{before[part] - after[part]} +{after[part] - before[part]}"
    assert not processes_with_token(token), "a process the page started outlived its build"
    written = [path for path in (Path("/root") / names["written"], Path("/tmp") / names["tmp_canary"],
                                 project / names["written"], Path("/usr") / names["written"]) if path.exists()]
    assert not written, f"a page wrote on the machine: {written}"
    shown = "\n".join(path.read_text() for path in (project / "captures").rglob("*.json"))
    shown += "\n".join(path.read_text() for path in (project / "site").rglob("*") if path.suffix in {".html", ".json"})
    for secret in (token, shadow_line):
        assert secret not in shown + log, "a page read what is the machine's"
    outputs = {name: capture["output"] for name, capture in json.loads((project / "captures" / "index.json").read_text())["captures"].items()}
    refused = [name for name, output in outputs.items() if "authorization denied by plugin" in output]
    assert sorted(refused, key=lambda name: int(name.split("-")[1])) == [f"try-{index}" for index in range(14)], outputs
    assert "[exit 1]" in outputs["try-14"] and "Pushed" not in outputs["try-14"], "a page pushed to the lab's registry"
    assert outputs["try-15"].startswith("contained after "), "a page's shell forks without end: " + outputs["try-15"]
    assert "can't fork" in outputs["try-16"], "a page's containers fork without end: " + outputs["try-16"]
    assert "Read-only file system" in outputs["try-18"], "a page plants links where doclab writes its blocks"
    assert outputs["try-20"].startswith("0\n"), "the builder's environment is in sight: " + outputs["try-20"]
    assert "Read-only file system" in outputs["try-19"] and "No such file" in outputs["try-21"]
    assert "permission denied" in outputs["try-22"]
    assert "now leads out of the page's folder" in outputs["try-13"], outputs["try-13"]
    print("\n" + "\n".join(f"{name}: {output.strip()}" for name, output in outputs.items()))


#: What a container may try once a request got past the filter (run on a daemon with no plugin at all), and what the
#: daemon's own namespaces answer: the machine's secrets out of sight, nothing of it writable, its root not ours.
UNFILTERED = r"""
cat /host/root/{root_canary}; ls /host/tmp | grep -c {tmp_canary}
touch /host/usr/{written}; touch /host/etc/{written}; touch /host/root/{written}
echo changed > /host/proc/sys/kernel/hostname; ls /host/run/docker.sock /host/var/run/docker.sock
awk '{{print $1, $2}}' /proc/self/uid_map; mount -t tmpfs none /mnt && touch /mnt/x && echo own-mount-only
""".strip()


def test_when_the_filter_misses_a_request_the_page_daemon_still_reaches_nothing_of_the_machine():
    """Issue 29's boundary: a page daemon with no authorization plugin (every request passes, as one the filter
    misses would) runs ``--privileged`` with the machine's ``/`` bound, and finds only its own namespaces' view."""
    from doclab.lab.userns import UID_RANGE_START

    lab = running_lab()
    names = {name: f"doclab-canary-{secrets.token_hex(4)}" for name in ("tmp_canary", "root_canary", "written")}
    token = secrets.token_hex(12)
    before = machine_inventory()
    canaries = (Path("/root") / names["root_canary"], Path("/tmp") / names["tmp_canary"])
    ipc_before = subprocess.run(["ipcs"], capture_output=True, text=True, check=True).stdout
    canary_process = subprocess.Popen(["sleep", f"{secrets.randbelow(10**6) + 10**8}"])
    for canary in canaries:
        canary.write_text(f"canary {token}\n")
        canary.chmod(0o600)
    hostname = Path("/proc/sys/kernel/hostname").read_text()
    daemon = f"unfiltered-{secrets.token_hex(3)}"
    handle = lab.start_daemon(daemon, owned=False)
    docker = [lab.settings.docker_cli, "--host", handle.docker_host]
    try:
        subprocess.run([*docker, "pull", "-q", "alpine:3.18"], check=True, capture_output=True, timeout=120)

        def container(*options: str, script: str = UNFILTERED.format(**names)) -> subprocess.CompletedProcess:
            return subprocess.run([*docker, "run", "--rm", *options, "alpine:3.18", "sh", "-c", script],
                                  capture_output=True, text=True, timeout=120)

        privileged = container("--privileged", "--net", "host", "-v", "/:/host")
        through_volume = subprocess.run([*docker, "volume", "create", "--opt", "type=none", "--opt", "device=/root",
                                         "--opt", "o=bind", "hostroot"], capture_output=True, text=True)
        in_volume = container("-v", "hostroot:/r", script=f"cat /r/{names['root_canary']}; ls /r | wc -l")
        host_pids = container("--pid", "host", script="cat /proc/1/environ")
        # The daemon's own process ids, IPC and /proc (red team, issue 29): the machine's processes stay out of sight,
        # and an IPC object a container makes dies with the daemon instead of staying on the machine.
        processes = container("--privileged", "--pid", "host", "-v", "/proc:/proc", "-v", "/:/host",
                              script="cat /proc/[0-9]*/cmdline /host/proc/[0-9]*/cmdline | tr '\\0' ' '")
        ipc = container("--privileged", "--ipc", "host", "--tmpfs", "/dev/mqueue", "-v", "/:/host",
                        script="chroot /host sh -c 'ipcmk -M 4096 && ipcmk -S 1'")  # the machine's ipcmk, in the view
    finally:
        lab.stop_daemon(daemon)
        canary_process.kill()
        canary_process.wait()
        for canary in canaries:
            canary.unlink()
    output = privileged.stdout + privileged.stderr
    assert f"/host/root/{names['root_canary']}': No such file" in output and token not in output, output
    assert privileged.stdout.splitlines()[0] == "0", "the machine's /tmp is in sight: " + output
    assert output.count("Read-only file system") == 2 and f"/host/root/{names['written']}: Permission denied" in output
    assert "hostname: Permission denied" in output and Path("/proc/sys/kernel/hostname").read_text() == hostname, output
    assert "/host/run/docker.sock: No such file" in output, "the machine's Docker socket is in sight: " + output
    inside, outside = privileged.stdout.splitlines()[1].split()
    assert inside == "0" and int(outside) >= UID_RANGE_START, "a container's root is the machine's root: " + output
    assert "own-mount-only" in output, output
    # A volume bound to the machine's /root either fails to mount or shows the daemon's empty /root.
    assert through_volume.returncode == 0 and token not in in_volume.stdout + in_volume.stderr
    assert in_volume.returncode != 0 or in_volume.stdout.strip().endswith("0"), in_volume.stdout + in_volume.stderr
    assert host_pids.returncode != 0 and token not in host_pids.stdout, "a container reached the machine's processes"
    assert processes.returncode == 0 and "dockerd" in processes.stdout, processes.stdout + processes.stderr
    assert canary_process.args[1] not in processes.stdout, "a container sees the machine's processes"
    assert ipc.returncode == 0 and "Shared memory id" in ipc.stdout, ipc.stdout + ipc.stderr
    assert subprocess.run(["ipcs"], capture_output=True, text=True).stdout == ipc_before, "an IPC object outlived the daemon"
    assert not [path for path in (Path("/usr") / names["written"], Path("/etc") / names["written"]) if path.exists()]
    after = machine_inventory()
    for part in before:
        assert after[part] == before[part], f"the machine's {part} changed: -{before[part] - after[part]} +{after[part] - before[part]}"
