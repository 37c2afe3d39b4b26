# Shared by scripts/serve and scripts/test: a virtual environment with the pinned dependencies.
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
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  elif ! cmp -s requirements.txt .venv/.requirements.txt; then
    say "requirements.txt changed: updating .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  fi
  cp requirements.txt .venv/.requirements.txt
  export NO_MKDOCS_2_WARNING=1
}
