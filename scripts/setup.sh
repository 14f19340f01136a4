#!/usr/bin/env bash
# Everything a fresh Debian machine needs for camcount, idempotent and fast when done:
# Debian packages, TimescaleDB, the Python environment (locked by constraints.txt), the live
# page's JavaScript (from npm), the sample clip, and the dbt manifest. Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_system.sh
bash scripts/install_timescaledb.sh

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
STAMP=.venv/.camcount-installed
WANT=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "[setup] installing the Python environment (.venv)" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -c constraints.txt -e '.[dev,yolo]'
  echo "$WANT" > "$STAMP"
fi

bash scripts/vendor_js.sh
bash scripts/fetch_sample_video.sh data/vtest.avi
bash scripts/build_dbt_manifest.sh
