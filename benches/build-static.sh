#!/usr/bin/env bash
# Builds racecount for release, linked statically, for this machine's own target, and prints
# the binary's path. A static binary has about a third of the memory mappings of a dynamic
# one, and every trial's fork copies and tears them down once per worker: see "Static linking"
# in the README for the measurement (benches/linking.sh).
#
# Naming the target (the host's, whatever architecture it is) is what keeps the flag off
# proc-macros and build scripts, which cannot be linked statically.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
cd "$root"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --quiet --target "$host" >&2
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
echo "$target_dir/$host/release/racecount"
