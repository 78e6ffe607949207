#!/usr/bin/env bash
# One-step set-up on a fresh machine: a virtualenv in .venv with albert_nb (editable), the notebook,
# test, hub and hf extras at the exact versions of constraints.txt, and the optional real-text
# packages the walkthrough trains on.
# Idempotent: a stamp of the inputs makes a second run take about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${ALBERT_NB_VENV:-.venv}"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "setup: $PYTHON is $("$PYTHON" --version 2>&1); albert-nb needs Python >= 3.10 (set PYTHON=...)" >&2
  exit 2
fi

# Chromium is checked on every run (a second's work), apart from the Python stamp below.
[ -f scripts/install_browser.sh ] && bash scripts/install_browser.sh

stamp_inputs=(pyproject.toml constraints.txt scripts/setup.sh)
[ -f scripts/install_data.sh ] && stamp_inputs+=(scripts/install_data.sh)
stamp="$(cat "${stamp_inputs[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$VENV/.albert_nb_stamp" ] && [ "$(cat "$VENV/.albert_nb_stamp")" = "$stamp" ]; then
  exit 0
fi

echo "setup: creating $VENV and installing albert-nb (first run takes a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# pyproject.toml states ranges; constraints.txt pins every version, so this venv (and CI) is
# reproducible (regenerate it with scripts/lock_constraints.py).
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[notebooks,test,hub,hf]"
if [ -f scripts/install_data.sh ]; then
  PYTHON="$VENV/bin/python" bash scripts/install_data.sh
fi
echo "$stamp" > "$VENV/.albert_nb_stamp"
echo "setup: done" >&2
