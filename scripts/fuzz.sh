#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each
# (go test -fuzz takes one target per package per run).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    for try in 1 2; do
      echo "== $pkg $target ($fuzztime)"
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; [[ ${PIPESTATUS[0]} -eq 0 ]]; then
        break
      fi
      # On a loaded machine the fuzzing engine can miss its own stop deadline
      # ("context deadline exceeded") with no failing input: run it once more.
      # A real failure writes a failing input and fails at once.
      if [[ $try -eq 2 ]] || grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
        exit 1
      fi
      echo "== $target: the fuzzing engine missed its stop deadline; running it again"
    done
  done
done
