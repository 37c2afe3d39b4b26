"""Every setting doclab reads from the environment, named in one place."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from doclab.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Fail instead of showing a recorded output when no daemon can produce a live one.
STRICT = "DOCLAB_STRICT"
#: Where the captures (the recorded outputs, committed) are kept.
CAPTURES_DIR = "DOCLAB_CAPTURES_DIR"
#: Path of Alpine's minirootfs tarball that seeds the lab registry.
ALPINE_ROOTFS = "DOCLAB_ALPINE_ROOTFS"
#: Folder of the lab's sockets, data roots, logs and state.
LAB_DIR = "DOCLAB_LAB_DIR"
#: Loopback port of the lab registry.
REGISTRY_PORT = "DOCLAB_REGISTRY_PORT"
#: The docker client the pages' commands use (a name on PATH or a path).
DOCKER_CLI = "DOCLAB_DOCKER_CLI"
#: Seconds one code block may run before it is killed.
BLOCK_TIMEOUT = "DOCLAB_BLOCK_TIMEOUT"
#: Show the recorded outputs and never contact Docker (a reader's preview with no Docker at all).
RECORDED = "DOCLAB_RECORDED"
#: The Docker Engine the lab runs (doclab/lab/engines.py): 28.5-containerd (the default), 28.5-overlay2, 26.1, 20.10.
ENGINE = "DOCLAB_ENGINE"
DEFAULT_ENGINE = "28.5-containerd"
#: How many pages run at the same time when records must be made (each on a lab daemon of its own).
JOBS = "DOCLAB_JOBS"
#: Set by scripts/serve when it has the lab: where the lesson's live terminals are, and their token (URL#TOKEN).
LIVE_TERMINAL = "DOCLAB_LIVE_TERMINAL"
#: Set by scripts/serve: a page whose example fails shows the error in the browser instead of stopping the build.
SERVING = "DOCLAB_SERVING"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    strict: bool
    captures_dir: Path
    snippets_dir: Path
    docker_cli: str
    block_timeout: float
    lab_dir: Path
    registry_port: int
    alpine_rootfs: Path | None
    recorded: bool = False
    jobs: int = 2
    engine: str = DEFAULT_ENGINE
    #: Records of pages run on other engines than the records' (``<!-- output: ID engine=NAME -->``), made by the
    #: engine matrix: the project's own, whatever DOCLAB_CAPTURES_DIR says.
    engine_captures_dir: Path = PROJECT_ROOT / "engine-captures"
    live_terminal: str = ""
    serving: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, project_root: Path = PROJECT_ROOT) -> "Settings":
        """Settings from the environment; ``project_root`` holds ``snippets/`` and ``captures/``."""
        env = os.environ if environ is None else environ
        rootfs = env.get(ALPINE_ROOTFS)
        return cls(
            strict=_truthy(env.get(STRICT)),
            captures_dir=Path(env.get(CAPTURES_DIR) or project_root / "captures"),
            snippets_dir=project_root / "snippets",
            docker_cli=env.get(DOCKER_CLI) or lab_client(Path(env.get(LAB_DIR) or "/tmp/doclab-lab"), env) or "docker",
            block_timeout=float(env.get(BLOCK_TIMEOUT) or 300),
            lab_dir=Path(env.get(LAB_DIR) or "/tmp/doclab-lab"),
            registry_port=int(env.get(REGISTRY_PORT) or 5000),
            alpine_rootfs=Path(rootfs).resolve() if rootfs else None,
            recorded=_truthy(env.get(RECORDED)),
            jobs=_positive_int(env.get(JOBS), JOBS, default=2 * (os.cpu_count() or 1)),
            engine=env.get(ENGINE) or DEFAULT_ENGINE,
            live_terminal=env.get(LIVE_TERMINAL, ""),
            serving=_truthy(env.get(SERVING)),
        )


def lab_client(lab_dir: Path, env) -> str | None:
    """The lab engine's own client (with its buildx), when the pages' daemon is the lab's: DOCKER_HOST in its folder,
    or unset while it is up. A page on the lab then runs the Docker its engine is, whatever ``docker`` is on PATH."""
    host = env.get("DOCKER_HOST", "")
    if host and not host.startswith(f"unix://{lab_dir}/"):
        return None
    try:
        return json.loads((lab_dir / "engine.json").read_text())["client"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _positive_int(value: str | None, name: str, default: int) -> int:
    if not value:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise SettingsError(f"{name}={value}: set it to a whole number of at least 1")
    return int(value)
