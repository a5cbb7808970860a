# Shared by scripts/run and scripts/test: system packages, then the project's virtual environment.
# Safe to run again: it installs only what is missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SITREP_VENV:-$ROOT/.venv}"

# What Qt's xcb and offscreen platforms load, a font, and venv support for Debian's python3.
QT_RUNTIME_PACKAGES="python3 python3-venv python3-pip libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
  libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core"

# The keyring tests start a private D-Bus session with a real Secret Service (tests/sync/conftest.py).
TEST_ONLY_PACKAGES="dbus-daemon gnome-keyring prometheus-alertmanager"

_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "sitrep: need root (or sudo) to install: $*" >&2; return 1; fi
}

ensure_debian_packages() {
  command -v dpkg >/dev/null 2>&1 || return 0   # not Debian/Ubuntu: install the Qt runtime yourself
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "sitrep: installing system packages: ${missing[*]}" >&2
  _as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive _as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  local extras="$1"
  local py="${PYTHON:-python3}"
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "sitrep: needs Python 3.11 or newer; $py is $("$py" --version 2>&1)" >&2
    return 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  local stamp="$VENV/.sitrep-installed$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q -e "$ROOT$extras"
    touch "$stamp"
  fi
}
