#!/usr/bin/env bash
# Debian's chromium for the browser test (tests/test_ui_browser.py drives it through Playwright with
# executable_path=/usr/bin/chromium; `playwright install` and its browser download are never used).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "tests/install_chromium.sh: /usr/bin/chromium is missing; as root: apt-get install -y chromium" >&2
    exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
