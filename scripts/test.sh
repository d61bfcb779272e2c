#!/usr/bin/env bash
# Install everything the tests need and run all of them, browser tests included.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser of its own), Debian's redis-server, which the scale-out tests start,
# and a Java runtime for the Nu HTML Checker (vnu.jar, from PyPI) the markup tests run.
if [ ! -x /usr/bin/chromium ] || ! command -v redis-server >/dev/null || ! command -v java >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core redis-server default-jre-headless >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/ruff check .

set +e
# Two processes, one a core: the browser tests wait on Chromium and servers as much as they
# compute, and the whole suite takes about 10 minutes instead of 14.
.venv/bin/python -m pytest -n 2 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
