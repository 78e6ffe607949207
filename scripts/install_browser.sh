#!/usr/bin/env bash
# Debian's Chromium, for the SVG copies of notebook figures (kaleido) and the browser test
# (Playwright drives /usr/bin/chromium; no browser is ever downloaded by pip or playwright).
# Installs with apt-get when run as root on Debian/Ubuntu; otherwise says why not and exits 0:
# the notebooks then keep interactive figures only, and tests/test_browser.py skips.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: no chromium and no apt-get here; install a Chromium-based browser (or set BROWSER_PATH) for static figures and the browser test" >&2
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup: chromium is not installed; run 'sudo apt-get install chromium' for static figures and the browser test" >&2
  exit 0
fi
echo "setup: installing Debian's chromium (apt-get)" >&2
if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
       || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; }; then
  echo "setup: apt-get could not install chromium; static figures and the browser test are off" >&2
fi
exit 0
