#!/usr/bin/env bash
# Runs every native fuzz target in the module for the given time each.
#
# Each package's fuzz-instrumented test binary is built once (go test -c
# -fuzz), not once per target, and without go test's vet pass (make test
# runs go vet ./... first). The targets then run two at a time, each with one
# fuzzing worker (-test.parallel 1): a run lasts the given wall time whatever
# it does, so two side by side on two cores take half the time of one after
# the other with two workers each. A target that fails fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
jobs=${FUZZ_JOBS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=$(go env GOCACHE)/fuzz # where go test -fuzz keeps what it found

# run_target DIR BINARY PKG TARGET runs one target in its package's folder (its
# testdata/fuzz corpus, where a failing input is written) and prints its
# output in one piece when it ends.
run_target() {
  local dir=$1 bin=$2 pkg=$3 target=$4 log status
  log=$(mktemp -p "$work")
  for try in 1 2 3; do
    echo "== $pkg $target ($fuzztime)" >"$log"
    status=0
    (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$fuzztime" \
      -test.parallel 1 -test.fuzzcachedir "$cache/$pkg") >>"$log" 2>&1 || status=$?
    if [[ $status -eq 0 ]]; then
      echo "ok  $pkg $target" >>"$log"
      break
    fi
    # On a loaded machine the fuzzing engine can miss its own stop deadline
    # ("context deadline exceeded") with no failing input: run it again, up to three tries in all.
    # A real failure writes a failing input and fails at once.
    if [[ $try -eq 3 ]] || grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
      echo "FAIL $pkg $target" >>"$log"
      break
    fi
    cat "$log"
    echo "== $target: the fuzzing engine missed its stop deadline; running it again"
  done
  cat "$log"
  return "$status"
}
export -f run_target
export fuzztime cache work

# list_targets builds the test binary of each package with a Fuzz function in
# a test file (building the others' would be work for nothing) and prints,
# NUL-separated, the folder, binary, package and name of each of its targets,
# so that xargs starts fuzzing the first package while the next one builds.
list_targets() {
  local dir pkg bin target
  for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do
    pkg=$(go list "$dir")
    bin="$work/$(tr / _ <<<"$pkg").test"
    go test -c -vet=off -fuzz '^Fuzz' -o "$bin" "$dir" || return 1 # a package that does not build fails the run
    for target in $("$bin" -test.list '^Fuzz' | grep '^Fuzz' || true); do
      printf '%s\0' "$(cd "$dir" && pwd)" "$bin" "$pkg" "$target"
    done
  done
}

# xargs exits non-zero (123) when a target failed, and pipefail fails the
# run when a build did.
if ! list_targets | xargs -0 -r -n 4 -P "$jobs" bash -c 'run_target "$@"' _; then
  echo "fuzz: a build or a target failed (its output is above)" >&2
  exit 1
fi
