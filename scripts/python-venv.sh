#!/usr/bin/env bash
# Makes (once) the Python venv for interop and reader tests from test/python/requirements.txt and prints
# its python's path. The venv is cached under $SERVICES_CACHE, keyed by the requirements' hash, so a
# second run takes milliseconds and a changed requirements file gets a fresh venv.
#   PY=$(scripts/python-venv.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES_CACHE=${SERVICES_CACHE:-${HOME:-/root}/.cache/scrapeds}
req=test/python/requirements.txt
hash=$(sha256sum "$req" | cut -c1-12)
venv=$SERVICES_CACHE/venv-$hash
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  python=${PYTHON:-$(command -v python3)}
  echo "[python-venv] creating $venv with $("$python" --version 2>&1)" >&2
  rm -rf "$venv"
  mkdir -p "$SERVICES_CACHE"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
  # Older venvs of this project are stale once the requirements change.
  find "$SERVICES_CACHE" -maxdepth 1 -name 'venv-*' ! -name "venv-$hash" -exec rm -rf {} + 2>/dev/null || true
fi
echo "$venv/bin/python"
