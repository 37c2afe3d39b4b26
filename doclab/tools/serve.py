"""Run a site command (``mkdocs serve``, ``mkdocs build``) against the Docker a reader has, or
the lab when there is none: the command behind ``scripts/serve`` and ``scripts/publish``.

    python -m doclab.tools.serve [--recorded | --live] -- mkdocs serve ...

Where the outputs come from, first match wins:

1. ``--recorded``: the recorded outputs, and Docker is never contacted.
2. A reachable daemon (DOCKER_HOST, the current docker context, or the default socket) that is
   clean for the pages (ours, or holding nothing): used as it is.
3. The lab, when it is up already: used, and left up.
4. The lab, when this machine can run it (``Lab.missing()`` is empty): started for the command
   and stopped when it ends — normally, on an error, on Ctrl-C or on SIGTERM.
5. A daemon that holds images or containers of its own: used, and each page shows its last clean
   record, labelled with the reason (doclab never removes what is not its own).
6. Otherwise the recorded outputs, saying why the lab cannot run.
With ``--live`` (publishing), 5 and 6 are an error instead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from doclab.daemon import facts_where
from doclab.errors import DoclabError
from doclab.lab.control import Lab
from doclab.lab.folder import MAIN_DAEMON
from doclab.settings import DOCKER_CLI, LIVE_TERMINAL, SERVING, Settings

#: The engine's switch for "show recorded outputs, never contact Docker".
RECORDED = "DOCLAB_RECORDED"
#: A socket path that can never exist (/dev/null is no folder): an engine that ignores RECORDED finds no daemon.
NO_DAEMON_HOST = "unix:///dev/null/doclab-recorded-outputs-only.sock"
#: What stops a run: Ctrl-C, a polite kill, a closed terminal.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class NoLiveDocker(DoclabError, RuntimeError):
    """Live outputs were required, and neither a daemon nor the lab is available."""


@dataclass(frozen=True)
class Plan:
    source: str  # "daemon", "running lab", "lab" or "recorded"
    why: str


def choose(
    *, recorded: bool, live: bool, daemon_reason: str | None, lab_running: bool, lab_missing: list[str],
    daemon_held: str | None = None,
) -> Plan:
    """Where outputs come from; ``daemon_reason`` is None when a daemon answers, else why none does;
    ``daemon_held`` says what an answering daemon that is not ours holds (None: nothing)."""
    if recorded:
        return Plan("recorded", "--recorded: recorded outputs, Docker is not contacted")
    if daemon_reason is None and daemon_held is None:
        return Plan("daemon", "a Docker daemon answers: outputs are captured live with it")
    unusable = daemon_reason or f"your Docker holds {daemon_held} of its own, where a first pull cannot be shown"
    if lab_running:
        return Plan("running lab", f"{unusable}; the lab is already up: outputs are captured live with it (it stays up)")
    if not lab_missing:
        return Plan("lab", f"{unusable}; starting the lab for live outputs (stopped on exit)")
    why = f"{unusable}, and the lab cannot run here:\n  - " + "\n  - ".join(lab_missing)
    if live:
        raise NoLiveDocker(why)
    if daemon_reason is None:
        return Plan("daemon", f"{why}\neach page shows its last clean record, labelled as recorded; nothing of yours is removed")
    return Plan("recorded", f"{why}\nserving the recorded outputs, labelled as recorded on each page")


def held(facts) -> str | None:
    """What a reachable daemon that is not ours holds, for ``choose`` (None: it is clean for the pages)."""
    if facts is None or not facts.reachable or facts.owned or not (facts.images or facts.containers):
        return None
    return f"{facts.images} image(s) and {facts.containers} container(s)"


def environment(plan: Plan, lab: Lab, base: dict[str, str]) -> dict[str, str]:
    """The command's environment for ``plan``."""
    if plan.source == "recorded":
        return {**base, RECORDED: "1", "DOCKER_HOST": NO_DAEMON_HOST}
    if plan.source in ("lab", "running lab"):
        # The pages' client is the lab engine's own, with its buildx: what a reader of that Docker runs.
        return {**base, "DOCKER_HOST": lab.daemon(MAIN_DAEMON).docker_host, DOCKER_CLI: lab.engine().client}
    return dict(base)


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` until it ends; SIGINT, SIGTERM or SIGHUP to us asks it to stop (as Ctrl-C does).

    It runs in a process group of its own, so a terminal's Ctrl-C reaches it only through us, once:
    a second interrupt during mkdocs' own cleanup would leave its temporary site behind.
    """
    started: list[subprocess.Popen] = []
    asked = []

    def stop(signum, _frame):
        asked.append(signum)
        if started:
            started[0].send_signal(signal.SIGINT if len(asked) == 1 else signal.SIGTERM)

    # Installed before the start: a handled signal is reset to its default in the child, while an
    # ignored one (SIGINT, when we run in the background) would stay ignored and Ctrl-C do nothing.
    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        started.append(subprocess.Popen(command, env=env, process_group=0))
        if asked:
            started[0].send_signal(signal.SIGINT)
        returncode = started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if asked and returncode in (0, -signal.SIGINT, 130) else returncode


def live_terminals(lab: Lab, env: dict[str, str], command: list[str]):
    """The lesson's live terminals ("Do it"), for pages served from the ``--dev-addr`` in ``command``."""
    from doclab.tools.live import LiveTerminals  # only for a serve that has the lab

    # The last --dev-addr (or -a) wins, as for mkdocs: scripts/serve puts its default before the author's own.
    given = [command[index + 1] for index, word in enumerate(command[:-1]) if word in ("--dev-addr", "-a")]
    address = given[-1] if given else "127.0.0.1:8000"
    port = address.rsplit(":", 1)[-1]
    terminals = LiveTerminals(Settings.from_env(env), lab, (f"http://127.0.0.1:{port}", f"http://localhost:{port}")).start()
    print(f"==> live terminals for the lesson's \"Do it\": {terminals.address} (token {terminals.token}, "
          f"for pages on http://127.0.0.1:{port} only)", file=sys.stderr)
    return terminals


class _Interrupted(Exception):
    pass


def _interrupted(signum, _frame):
    raise _Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.tools.serve", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--recorded", action="store_true", help="recorded outputs only; never contact Docker")
    source.add_argument("--live", action="store_true", help="fail unless every output can be captured live")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    lab = Lab(Settings.from_env())
    started_lab, terminals = False, None
    # A SIGTERM (or a closed terminal's SIGHUP) before the command runs must still reach the `finally`.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    try:
        facts = None if args.recorded else facts_where(os.environ)
        plan = choose(
            recorded=args.recorded,
            live=args.live,
            daemon_reason=None if facts is None or facts.reachable else facts.reason,
            lab_running=not args.recorded and lab.daemon_up(MAIN_DAEMON) and lab.registry_up(),
            lab_missing=[] if args.recorded else lab.missing(),
            daemon_held=held(facts),
        )
        print(f"==> {plan.why}", file=sys.stderr)
        if plan.source == "lab":
            started_lab = True
            lab.up()
            print(f"==> lab up: {lab.daemon(MAIN_DAEMON).docker_host}, registry {lab.registry_url}", file=sys.stderr)
        env = environment(plan, lab, dict(os.environ))
        if "serve" in command:
            env[SERVING] = "1"
        if plan.source in ("lab", "running lab") and "serve" in command:
            terminals = live_terminals(lab, env, command)
            env[LIVE_TERMINAL] = terminals.page_setting
        return run_command(command, env)
    except NoLiveDocker as error:
        print(f"doclab.tools.serve: live outputs are required (--live), but {error}", file=sys.stderr)
        return 2
    except DoclabError as error:  # the lab's, its seed's and its minirootfs's: one family
        print(f"doclab.tools.serve: the lab did not start: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Interrupted) as error:
        print(f"doclab.tools.serve: interrupted ({error or 'SIGINT'})", file=sys.stderr)
        return 130
    finally:
        if terminals is not None:
            terminals.stop()  # every reader's shell ended, its folder removed, its daemon given back, before the lab goes
        if started_lab:
            # Nothing may stop the teardown half-way: a lab left running holds mounts and a bridge.
            for sig in _STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            left = lab.down()
            with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
                print("==> lab down" + (f", but still running: {left}" if left else ": nothing left running"), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
