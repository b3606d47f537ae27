#!/usr/bin/env bash
# reliability.sh: runs the crash, fault-injection, hostile-envelope and load
# tests and writes their figures to docs/reliability.md (never edit that file
# by hand). Needs root for the tmpfs mounts of the fault tests.
#
#   REPLICAD_CRASH_ROUNDS=20 REPLICAD_CRASH_SIZE=1073741824 LOAD_DURATION=20s ./scripts/reliability.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-docs/reliability.md}
WORK=$(mktemp -d /tmp/replicad-reliability.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export REPLICAD_CRASH_ROUNDS=${REPLICAD_CRASH_ROUNDS:-20}
export REPLICAD_CRASH_SIZE=${REPLICAD_CRASH_SIZE:-1073741824}
LOAD_DURATION=${LOAD_DURATION:-20s}
# COMMIT names the tree under test (set it when running from an export of a commit).
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
LOAD_CLIENTS=${LOAD_CLIENTS:-32}
status=0

# field KEY FILE: the value of KEY=... on the last RELIABILITY line of FILE.
field() { grep -o "RELIABILITY.*" "$2" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# num KEY FILE: as field, 0 when absent.
num() { local v; v=$(field "$1" "$2"); echo "${v:-0}"; }
# pfield KIND KEY FILE: the value of KEY=... on the last "RELIABILITY KIND" line of FILE.
pfield() { grep -o "RELIABILITY $1 .*" "$3" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
pnum() { local v; v=$(pfield "$1" "$2" "$3"); echo "${v:-0}"; }
# tverdict TEST FILE: PASS, FAIL or SKIP of one test in a go test -v log.
tverdict() { local v; v=$(grep -o "^--- [A-Z]*: $1 " "$2" | tail -1 | awk '{print $2}' | tr -d :); echo "${v:-MISSING}"; }
# verdict FILE: PASS, FAIL or SKIP of a go test -v log.
verdict() { if grep -q '^--- FAIL' "$1" || grep -q '^FAIL' "$1"; then echo FAIL; elif grep -q '^--- PASS' "$1"; then echo PASS; else echo SKIP; fi; }

if ! go build -o "$WORK/replicad" ./cmd/replicad; then
	echo "reliability: replicad does not build; $OUT left unchanged" >&2
	exit 1
fi

echo "crash test: $REPLICAD_CRASH_ROUNDS rounds of kill -9, $((REPLICAD_CRASH_SIZE >> 20)) MiB sources" >&2
go test -race -count=1 -timeout 40m -run '^TestCrashKill9$' -v ./integration/ >"$WORK/crash.log" 2>&1 || status=1
echo "fault injection" >&2
go test -race -count=1 -timeout 10m -run '^TestFault' -v ./integration/ >"$WORK/fault.log" 2>&1 || status=1
echo "hostile envelopes" >&2
go test -race -count=1 -timeout 10m -run '^TestHostileEnvelopes$' -v ./integration/ >"$WORK/hostile.log" 2>&1 || status=1
echo "attacks without a password" >&2
go test -race -count=1 -timeout 10m -run '^TestPreauth' -v ./integration/ >"$WORK/preauth.log" 2>&1 || status=1
echo "integrity and attacks with a password" >&2
go test -race -count=1 -timeout 15m -v \
	-run '^(TestResyncAfterTargetWrittenCmp|TestVerifyReplicaCommand|TestScrubFindsMismatch|TestSymlinkSwap|TestCrashKill9Endings)$' \
	./integration/ >"$WORK/integrity.log" 2>&1 || status=1
go test -race -count=1 -timeout 10m -v \
	-run '^(TestResyncAfterTargetWritten|TestSizeChangeEndsSynchronized|TestMirrorCatchesTouchR|TestMirrorOfBusySource|TestEnumerateStopsAtOperationTimeout|TestEnumerationContextMemory|TestNTLMWithout128BitRefused|TestNameStartingWithDash)$' \
	./replica/ ./wsman/ ./volumes/ >"$WORK/units.log" 2>&1 || status=1
echo "load: $LOAD_CLIENTS clients for $LOAD_DURATION" >&2
# The machine's own load when the phase starts: other work on the machine lowers the figures below.
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
go run ./bench/load -replicad "$WORK/replicad" -clients "$LOAD_CLIENTS" -duration "$LOAD_DURATION" >"$WORK/load.log" 2>&1 || status=1

load_verdict=FAIL
if grep -q '^RELIABILITY load' "$WORK/load.log" 2>/dev/null && ! grep -q '^load:' "$WORK/load.log"; then load_verdict=PASS; fi
faults_total=$(grep -c '^    --- \|^--- ' "$WORK/fault.log" || true)
{
	echo "# Reliability figures"
	echo
	echo "Produced by \`scripts/reliability.sh\` (\`make reliability\`); do not edit by hand."
	echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') on commit $COMMIT,"
	echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go env GOVERSION)."
	echo "The integration tests run the daemon built with \`-race\`; the load test runs a plain build."
	echo
	echo "## Crash (\`TestCrashKill9\`, $(verdict "$WORK/crash.log"))"
	echo
	echo "| kills survived (kill -9) | terminations requested just before a kill | jobs started | completed byte-identical | failed/terminated with an error | seed |"
	echo "|---|---|---|---|---|---|"
	echo "| $(field kills "$WORK/crash.log") | $(field terminates "$WORK/crash.log") | $(field jobs "$WORK/crash.log") | $(field completed "$WORK/crash.log") | $(field failed "$WORK/crash.log") | $(field seed "$WORK/crash.log") |"
	echo
	echo "Sources of $((REPLICAD_CRASH_SIZE >> 20)) MiB; after the last restart every job is final, no source changed,"
	echo "no synchronization reports CopyState 4 over differing bytes, terminated jobs left no target, and \`state.db\` passes"
	echo "bbolt's consistency check. After every restart the jobs, the source group, the sources and the targets of completed"
	echo "jobs are all still there."
	echo
	echo "## Fault injection (\`TestFault*\`)"
	echo
	echo "| test | result | job error (ErrorDescription) |"
	echo "|---|---|---|"
	for t in $(grep -o '^--- [A-Z]*: TestFault[A-Za-z]*' "$WORK/fault.log" | awk '{print $3}'); do
		res=$(grep -o "^--- [A-Z]*: $t " "$WORK/fault.log" | awk '{print $2}' | tr -d :)
		msg=$(grep -o "RELIABILITY fault $t: .*" "$WORK/fault.log" | tail -1 | sed "s/^RELIABILITY fault $t: //; s/|/\\\\|/g; s#/tmp/[^ ]*/pools/#DATA/pools/#g")
		skip=$(grep -A1 "^--- SKIP: $t " "$WORK/fault.log" | tail -1 | sed 's/^ *//; s/|/\\|/g')
		echo "| $t | $res | ${msg:-$skip} |"
	done
	echo
	echo "Faults injected: $faults_total. After each, the daemon still answers Identify and an authenticated Enumerate."
	echo
	echo "## Hostile envelopes (\`TestHostileEnvelopes\`, $(verdict "$WORK/hostile.log"))"
	echo
	echo "$(field faults "$WORK/hostile.log") of $(field cases "$WORK/hostile.log") hostile bodies answered with a SOAP fault, the daemon alive after each:"
	echo
	echo "| body | reply |"
	echo "|---|---|"
	grep -o 'hostile_test.go:[0-9]*: .*: HTTP [0-9]* .*' "$WORK/hostile.log" | sed 's/^hostile_test.go:[0-9]*: //' |
		sed -E 's/^(.*): (HTTP [0-9]+ .*)$/| \1 | \2 |/'
	echo
	echo "## Attacks without a password (\`TestPreauth*\`, $(verdict "$WORK/preauth.log"))"
	echo
	echo "| attack | result |"
	echo "|---|---|"
	echo "| 64 anonymous 4 MiB requests at once, each with an NTLM NEGOTIATE | daemon peak RSS $(( $(pnum preauth_memory peak_rss_kib "$WORK/preauth.log") / 1024 )) MiB (bound 100 MB; $(( $(pnum preauth_memory rss_before_kib "$WORK/preauth.log") / 1024 )) MiB before) |"
	echo "| 64 connections announcing a 4 MiB body and sending none | administrator's NTLM logon: HTTP $(pfield preauth_slow admin_ntlm_status "$WORK/preauth.log"), Basic request: HTTP $(pfield preauth_slow admin_basic_status "$WORK/preauth.log") |"
	echo "| 63 wrong passwords at once (Basic) | $(pfield preauth_guesses checked "$WORK/preauth.log") checked, $(pfield preauth_guesses refused_unchecked "$WORK/preauth.log") refused unchecked; NTLM session of the same address: HTTP $(pfield preauth_guesses established_session_status "$WORK/preauth.log") |"
	echo "| a password typed into the user field (Basic, NTLM) | in the log: $(pfield preauth_redaction secret_in_log "$WORK/preauth.log") |"
	echo "| TLS 1.2 offering only CBC-SHA1 suites | refused by default: $(pfield preauth_tls cbc_default_refused "$WORK/preauth.log"), accepted with --tls-compat: $(pfield preauth_tls cbc_compat_ok "$WORK/preauth.log") |"
	echo "| request with Transfer-Encoding and Content-Length | HTTP $(pfield preauth_te_cl status "$WORK/preauth.log"), Connection: close $(pfield preauth_te_cl connection_close "$WORK/preauth.log"), closed after $(pfield preauth_te_cl closed_after "$WORK/preauth.log") |"
	echo
	echo "The daemon is the \`-race\` build (about 40 MiB resident at rest)."
	echo
	I=$WORK/integrity.log U=$WORK/units.log
	echo "## Integrity and attacks with a password"
	echo
	echo "Each row is one attack of issue 14, the test that replays it and what it measured."
	echo
	echo "| attack | test | result |"
	echo "|---|---|---|"
	echo "| Clone, Resync, Fracture, 256 KiB written into the target, Resync | TestResyncAfterTargetWrittenCmp $(tverdict TestResyncAfterTargetWrittenCmp "$I") | CopyState $(pfield integrity_resync copystate "$I"), PercentSynced $(pfield integrity_resync percent_synced "$I"), \`cmp\` $(pfield integrity_resync cmp "$I") |"
	echo "| the same written into the target while Fractured, then Resync or Restore | TestResyncAfterTargetWritten $(tverdict TestResyncAfterTargetWritten "$U") | bytes equal after each |"
	echo "| 256 KiB written into a clone's target behind the daemon's back, \`replicactl replica verify\` | TestVerifyReplicaCommand $(tverdict TestVerifyReplicaCommand "$I") | first differing offset $(pfield integrity_verify first_offset "$I") (as \`cmp\`), $(pfield integrity_verify differing_bytes "$I") bytes differ, pair $(pfield integrity_verify state "$I"), repaired by Resync: $(pfield integrity_verify repaired_by_resync "$I") |"
	echo "| the same found by the background scrub (\`--scrub-rate\`) | TestScrubFindsMismatch $(tverdict TestScrubFindsMismatch "$I") | first offset $(pfield integrity_scrub first_offset "$I"), corrupted pair $(pfield integrity_scrub corrupted_pair "$I"), untouched pair $(pfield integrity_scrub untouched_pair "$I") |"
	echo "| a Synchronized clone's target grown from 8 to 16 MiB | TestSizeChangeEndsSynchronized $(tverdict TestSizeChangeEndsSynchronized "$U") | no longer Synchronized |"
	echo "| mirror source and target written with the mtime put back (\`touch -r\`) | TestMirrorCatchesTouchR $(tverdict TestMirrorCatchesTouchR "$U") | caught up, bytes equal |"
	echo "| a mirror created on a volume written every millisecond | TestMirrorOfBusySource $(tverdict TestMirrorOfBusySource "$U") | converges to Synchronized, bytes equal |"
	echo "| kill -9 during Detach, Return To ResourcePool (64 targets), Restore and Resync | TestCrashKill9Endings $(tverdict TestCrashKill9Endings "$I") | $(pfield crash-endings rounds "$I") rounds; volumes refused as members without a relationship: $(pfield crash-endings refused-unpaired "$I"), orphan sidecars/partials: $(pfield crash-endings orphan-files "$I") |"
	echo "| a volume image swapped for a symlink to a file outside the pool after the request | TestSymlinkSwap $(tverdict TestSymlinkSwap "$I") | job state $(pfield symlink_swap swapped_after_accept_job_state "$I") (10 = Failed), outside bytes in the pools: $(pfield symlink_swap outside_bytes_in_pools "$I") |"
	echo "| WQL \`LIKE\` with 16,000 unclosed \`[\`, and a filter running past OperationTimeout | TestEnumerateStopsAtOperationTimeout $(tverdict TestEnumerateStopsAtOperationTimeout "$U") | $(pfield wql_like answer "$U") (provider ran: $(pfield wql_like provider_ran "$U")); past the timeout $(pfield wql_like past_timeout "$U") |"
	echo "| $(pfield enum_contexts contexts "$U") open enumeration contexts over $(pfield enum_contexts instances "$U") instances | TestEnumerationContextMemory $(tverdict TestEnumerationContextMemory "$U") | $(pfield enum_contexts bytes_per_context "$U") bytes a context ($(pfield enum_contexts bytes_per_item "$U") an item); before the fix a context held a copy of every instance, 6.1 MB here |"
	echo "| NTLM AUTHENTICATE without NTLMSSP_NEGOTIATE_128 (40-bit sealing) | TestNTLMWithout128BitRefused $(tverdict TestNTLMWithout128BitRefused "$U") | HTTP $(pfield ntlm_40bit status "$U"), session bound: $(pfield ntlm_40bit session_bound "$U") |"
	echo "| a volume or pool named \`-rf\` | TestNameStartingWithDash $(tverdict TestNameStartingWithDash "$U") | refused |"
	echo
	echo "## Load (\`bench/load\`, $load_verdict)"
	echo
	echo "| phase | clients | requests | failed | requests/s | p50 | p99 | shed (QuotaLimit) |"
	echo "|---|---|---|---|---|---|---|---|"
	echo "| steady mix (Identify, Get, Enumerate/Pull, Invoke) | $(field clients "$WORK/load.log") | $(field requests "$WORK/load.log") | $(field failed "$WORK/load.log") | $(field rps "$WORK/load.log") | $(field p50_ms "$WORK/load.log") ms | $(field p99_ms "$WORK/load.log") ms | 0 |"
	echo "| burst of slow clients | $(field burst_clients "$WORK/load.log") | $(( $(num burst_ok "$WORK/load.log") + $(num burst_shed "$WORK/load.log") + $(num burst_failed "$WORK/load.log") )) | $(field burst_failed "$WORK/load.log") | | | | $(field burst_shed "$WORK/load.log") |"
	echo
	echo "Load average of the machine as the phase started: $LOADAVG ($(nproc) cores); the figures are only comparable between runs on an idle machine."
	echo
	echo "Daemon peak resident memory (VmHWM): $(( $(num peak_rss_kib "$WORK/load.log") / 1024 )) MiB (bound $(field max_rss_mib "$WORK/load.log") MiB)."
	echo "The burst exceeds the daemon's 64 request slots (wsman MaxConcurrentRequests); the excess is answered"
	echo "with a QuotaLimit fault and the daemon answers normally afterwards."
} >"$OUT"
if [ "$status" -ne 0 ]; then
	echo "reliability: a run failed; logs:" >&2
	for f in "$WORK"/*.log; do echo "== $f" >&2; grep -v '^{' "$f" | tail -30 >&2; done
fi
echo "wrote $OUT" >&2
exit "$status"
