#!/usr/bin/env bash
# The HTML report test opens the report in Debian's headless Chromium (driven by playwright-core).
# Install it when missing and we may (root with apt-get); otherwise that one test says it is skipped.
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Chromium for the HTML report test (apt-get install chromium)…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install Chromium: the HTML report test will be skipped"
else
  echo "Chromium not found (install Debian's chromium): the HTML report test will be skipped"
fi
exit 0
