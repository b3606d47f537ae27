#!/usr/bin/env bash
# Coverage per package of the unit tests, of the integration tests (what the
# daemons and commands they run executed) and of both together.
#
#   scripts/cover.sh [OUTDIR]      (default ./coverage; `make cover`)
#
# Unit tests run with -cover and write binary coverage data
# (-test.gocoverdir); the integration tests run with GOCOVERDIR set, which
# makes integration/daemon_test.go build replicad with -cover, so every
# daemon and `replicad user|cert` command they start writes its counters
# there when it exits cleanly (a daemon killed with SIGKILL counts nothing).
# `go tool covdata` merges both. It prints a table (Markdown) and leaves
# OUTDIR/coverage.txt, a profile for `go tool cover -html`.
# Extra environment (REPLICAD_REQUIRE_CLIENTS=1) is passed to the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-coverage}
rm -rf "$out"
mkdir -p "$out/unit" "$out/integration" "$out/merged"
out=$(cd "$out" && pwd)
mod=$(go list -m)

# -covermode=atomic: the integration daemon is built with -race, which
# implies atomic counters, and covdata merges only data of one mode.
mapfile -t unit < <(go list ./... | grep -v "^$mod/integration\$")
status=0
go test -count=1 -covermode=atomic -cover "${unit[@]}" -args -test.gocoverdir="$out/unit" >"$out/unit.log" 2>&1 || status=$?
GOCOVERDIR="$out/integration" go test -count=1 -timeout 40m ./integration >"$out/integration.log" 2>&1 || status=$?
if ((status != 0)); then
  echo "cover: some tests failed (see $out/unit.log and $out/integration.log); the numbers below count what ran" >&2
fi

go tool covdata merge -i="$out/unit,$out/integration" -o="$out/merged"
go tool covdata textfmt -i="$out/merged" -o="$out/coverage.txt"

# percent prints "package percent" lines for one covdata folder.
percent() {
  go tool covdata percent -i="$1" |
    awk '{ for (i = 2; i < NF; i++) if ($i == "coverage:") { sub(/%$/, "", $(i + 1)); print $1, $(i + 1) } }'
}
percent "$out/unit" >"$out/unit.pct"
percent "$out/integration" >"$out/integration.pct"
percent "$out/merged" >"$out/merged.pct"

echo "| package | unit | integration | together |"
echo "|---|---:|---:|---:|"
awk -v mod="$mod/" '
  { f = FILENAME ~ /unit[.]pct$/ ? 1 : FILENAME ~ /integration[.]pct$/ ? 2 : 3 }
  { pkg[$1] = 1; pct[f, $1] = $2 "%" }
  END {
    for (p in pkg) {
      row = "| " (index(p, mod) == 1 ? substr(p, length(mod) + 1) : p)
      for (i = 1; i <= 3; i++) row = row " | " (((i, p) in pct) ? pct[i, p] : "–")
      print row " |"
    }
  }' "$out/unit.pct" "$out/integration.pct" "$out/merged.pct" | sort
total() { go tool cover -func="$1" | awk '/^total:/ { print $3 }'; }
go tool covdata textfmt -i="$out/unit" -o="$out/unit.txt"
go tool covdata textfmt -i="$out/integration" -o="$out/integration.txt"
echo "| **all statements** | $(total "$out/unit.txt") | $(total "$out/integration.txt") | $(total "$out/coverage.txt") |"
exit "$status"
