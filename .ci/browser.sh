#!/usr/bin/env bash
# Headless Chromium and chromedriver for racecount's browser test (tests/html_browser.rs,
# `cargo test --features browser-tests --test html_browser`), from Debian's packages.
#
#   .ci/browser.sh install    # apt-get install chromium chromium-driver (as root), if missing
#
# The test starts chromedriver on a loopback port and Chromium with a fresh profile itself;
# nothing is left running.
set -euo pipefail

say() { echo "browser.sh: $*" >&2; }

missing() {
    local what=()
    command -v chromium >/dev/null || what+=(chromium)
    command -v chromedriver >/dev/null || what+=(chromium-driver)
    echo "${what[@]:-}"
}

install() {
    local need
    need=$(missing)
    if [ -z "$need" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "not installed: $need; run: sudo apt-get install -y $need"
        exit 1
    fi
    say "installing $need from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >&2
}

case "${1:-}" in
    install) install ;;
    *) say "usage: $0 install"; exit 2 ;;
esac
