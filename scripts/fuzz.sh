#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each
# (go test -fuzz takes one target per package per run).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Only packages with a Fuzz function in a test file: `go test -list` builds
# a package's test binary, which for the others would be work for nothing.
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do
  pkg=$(go list "$dir")
  list=$(go test -list '^Fuzz' "$pkg") # a package that does not build fails the run
  for target in $(grep '^Fuzz' <<<"$list" || true); do
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
