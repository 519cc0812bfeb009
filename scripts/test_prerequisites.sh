#!/usr/bin/env bash
# What the test suite needs beyond Python packages: Debian's chromium (browser tests of the connection
# forms) and redis-server (the shared-store tests). Installs them when this runs as root with apt;
# otherwise stops with the exact command to run. The suite never skips for a missing one.
set -euo pipefail
missing=()
command -v chromium > /dev/null || missing+=(chromium)
command -v redis-server > /dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
command=(apt-get install -y "${missing[@]}")
if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
    echo "Installing Debian packages the tests need: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${command[@]}" -qq > /dev/null
    exit 0
fi
echo "The tests need Debian packages that are not installed: ${missing[*]}" >&2
echo "Install them, then run make test again:" >&2
echo "    sudo apt-get update && sudo ${command[*]}" >&2
exit 1
