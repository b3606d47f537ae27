#!/bin/sh
# crashtest.sh: the long form of integration's TestCrashKill9: 20 rounds of
# kill -9 during 1 GiB replica copies (override with REPLICAD_CRASH_ROUNDS,
# REPLICAD_CRASH_SIZE in bytes, REPLICAD_CRASH_SEED to replay a run), then
# TestCrashKill9Endings: kill -9 during Detach, Return To ResourcePool,
# Restore and Resync of group synchronizations.
set -eu
cd "$(dirname "$0")/.."
export REPLICAD_CRASH_ROUNDS="${REPLICAD_CRASH_ROUNDS:-20}"
export REPLICAD_CRASH_SIZE="${REPLICAD_CRASH_SIZE:-1073741824}"
exec go test -race -count=1 -timeout 30m -run '^TestCrashKill9(Endings)?$' -v ./integration/
