# Shared by scripts/serve, scripts/test and scripts/publish: a virtual environment with the pinned
# dependencies, and where the lab finds Alpine's minirootfs.
# Sourced, not run.

say() { printf '==> %s\n' "$*" >&2; }

need_root_or_say() {  # need_root_or_say "what" "apt packages…"
  if [ "$(id -u)" -eq 0 ]; then
    say "installing $2 with apt-get ($1)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >/dev/null
  else
    say "missing: $1. Install it with: sudo apt-get install $2"
    exit 2
  fi
}

ensure_venv() {
  command -v python3 >/dev/null || need_root_or_say "Python 3" "python3 python3-venv"
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import doclab' 2>/dev/null; then
    rm -rf .venv
    python3 -m venv .venv 2>/dev/null || { need_root_or_say "Python's venv module" "python3-venv"; python3 -m venv .venv; }
    say "installing the pinned Python dependencies (requirements.txt) into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    # A plain path entry (compat mode), not an import finder: the hooks import doclab on every build.
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e .
  elif ! cmp -s requirements.txt .venv/.requirements.txt; then
    say "requirements.txt changed: updating .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  fi
  cp requirements.txt .venv/.requirements.txt
  export NO_MKDOCS_2_WARNING=1
}

default_alpine_rootfs() {  # DOCLAB_ALPINE_ROOTFS, when unset: ../shared/alpine/… if present, else Alpine's mirror if DOCLAB_ALPINE_FETCH=1
  local shared=../shared/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz
  [ -z "${DOCLAB_ALPINE_ROOTFS:-}" ] || return 0
  if [ -f "$shared" ]; then
    export DOCLAB_ALPINE_ROOTFS="$PWD/$shared"
    say "DOCLAB_ALPINE_ROOTFS not set: using $DOCLAB_ALPINE_ROOTFS"
  elif [ "${DOCLAB_ALPINE_FETCH:-}" = 1 ]; then
    DOCLAB_ALPINE_ROOTFS=$(.venv/bin/python -m doclab.lab.rootfs)
    export DOCLAB_ALPINE_ROOTFS
    say "DOCLAB_ALPINE_ROOTFS not set: using $DOCLAB_ALPINE_ROOTFS (downloaded, SHA-256 checked)"
  fi
}
