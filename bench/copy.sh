#!/usr/bin/env bash
# copy.sh: side-by-side benchmark of the replicad copy engine (cmd/replicad-copy),
# cp --sparse=always and qemu-img convert -O raw on 8 GiB sparse images, plus the
# disk's sequential write rate and the cost of a 1% mirror catch-up (Resync).
# Every run is timed to the end of a final `sync` of its target and checked with cmp.
# Run by `make bench`, not by `make test`. Needs ~40 GiB free in BENCH_DIR. As root with
# xfsprogs it also clones the fully allocated image on a loop-mounted XFS (reflink=1).
#
#   BENCH_DIR=/scratch/dir SIZE=8G RUNS=3 DD_MIB=8192 ./bench/copy.sh   (BENCH_DIR is deleted at the end)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-8G}
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /var/tmp/replicad-bench.XXXXXX)}
BIN=$BENCH_DIR/bin
DD_MIB=${DD_MIB:-8192}

mkdir -p "$BENCH_DIR" "$BIN"
cleanup() { rm -rf "$BENCH_DIR"; }
trap cleanup EXIT

if ! command -v qemu-img >/dev/null; then
	echo "qemu-img missing: installing qemu-utils" >&2
	apt-get install -y qemu-utils >/dev/null || sudo apt-get install -y qemu-utils >/dev/null
fi

(cd "$ROOT" && go build -o "$BIN/replicad-copy" ./cmd/replicad-copy && go build -o "$BIN/benchimg" ./bench/benchimg)

now() { date +%s.%N; }
alloc_bytes() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed TOOL SRC DST: runs one tool, syncs its target, prints seconds.
timed() {
	local tool=$1 src=$2 dst=$3 s e
	rm -f "$dst"
	drop_caches
	s=$(now)
	case $tool in
	replicad) "$BIN/replicad-copy" "$src" "$dst" 2>/dev/null ;;
	cp) cp --sparse=always "$src" "$dst" ;;
	qemu-img) qemu-img convert -O raw "$src" "$dst" ;;
	esac
	sync "$dst"
	e=$(now)
	cmp "$src" "$dst" || { echo "FAIL: $tool copy of $src differs" >&2; exit 1; }
	echo "$e - $s" | bc -l
}

echo "# replicad copy benchmark: $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), $(df -T "$BENCH_DIR" | awk 'NR==2{print $2}')"
echo "# $RUNS runs per tool, caches dropped before each run, timed to the end of sync of the target; replicad reads and writes with O_DIRECT"

# dd_rate ARGS...: runs dd RUNS times with caches dropped and prints the median MB/s.
dd_rate() {
	local rates=() r
	for ((i = 0; i < RUNS; i++)); do
		drop_caches
		r=$(dd "$@" bs=4M conv=fdatasync 2>&1 | awk '/copied/ {v=$(NF-1); if ($NF=="GB/s") v*=1000; print v}')
		rm -f "$BENCH_DIR/dd.out"
		rates+=("$r")
	done
	printf '%s\n' "${rates[@]}" | median
}

# The disk's sequential write rate, through the page cache (what cp and qemu-img use)
# and with O_DIRECT (what replicad uses), each timed to the end of an fdatasync.
DD_MED=$(dd_rate if=/dev/zero of="$BENCH_DIR/dd.out" count=$((DD_MIB / 4)))
DD_DIRECT=$(dd_rate if=/dev/zero of="$BENCH_DIR/dd.out" count=$((DD_MIB / 4)) oflag=direct)
echo "# disk sequential write, ${DD_MIB} MiB, dd bs=4M conv=fdatasync: median ${DD_MED} MB/s buffered, ${DD_DIRECT} MB/s with oflag=direct"
echo

declare -A IMG_ARGS=(
	[5pct]="-alloc 0.05"
	[50pct]="-alloc 0.5"
	[100pct]="-alloc 1.0"
	[zeroruns]="-zeroruns"
)
# compare IMG SRC DIR: times each tool copying SRC into DIR/dst and prints the rows of IMG;
# leaves SRC's allocated bytes in ALLOC and replicad's median seconds in OURS.
compare() {
	local img=$1 src=$2 dst=$3/dst m tool
	ALLOC=$(alloc_bytes "$src")
	declare -A T=() B=()
	for ((i = 0; i < RUNS; i++)); do
		for tool in replicad cp qemu-img; do
			T[$tool]+="$(timed "$tool" "$src" "$dst") "
			B[$tool]=$(stat -c %b "$dst")
		done
	done
	rm -f "$dst"
	OURS=$(echo "${T[replicad]}" | tr ' ' '\n' | grep . | median)
	for tool in replicad cp qemu-img; do
		m=$(echo "${T[$tool]}" | tr ' ' '\n' | grep . | median)
		printf '%-10s %-9s %8.2f %9.2f %12.2f %14s %10.2f   (runs: %s)\n' "$img" "$tool" "$m" \
			"$(echo "$ALLOC / 1073741824 / $m" | bc -l)" "$(echo "$ALLOC / 1073741824" | bc -l)" \
			"${B[$tool]}" "$(echo "$m / $OURS" | bc -l)" "${T[$tool]% }"
	done
}

printf '%-10s %-9s %8s %9s %12s %14s %10s\n' image tool median_s GiB/s alloc_GiB target_blocks vs_replicad
for img in 5pct 50pct zeroruns 100pct; do
	src=$BENCH_DIR/img-$img
	# shellcheck disable=SC2086
	"$BIN/benchimg" make -size "$SIZE" ${IMG_ARGS[$img]} "$src"
	compare "$img" "$src" "$BENCH_DIR"
	if [[ $img == 100pct ]]; then
		# A copy reads as much as it writes from the same disk: dd with O_DIRECT on both
		# sides is the disk's own copy rate, the ceiling for any tool.
		DD_COPY=$(dd_rate if="$src" of="$BENCH_DIR/dd.out" iflag=direct oflag=direct)
		echo "# 100pct: replicad $(echo "$ALLOC / 1000000 / $OURS" | bc -l | xargs printf '%.0f') MB/s; disk write ${DD_MED} MB/s buffered, ${DD_DIRECT} MB/s direct; disk copy (dd iflag=direct oflag=direct) ${DD_COPY} MB/s"
	fi
	if [[ $img == 50pct ]]; then
		# Mirror catch-up: 1% of 64 KiB blocks changed on the 8 GiB volume.
		m=$BENCH_DIR/mirror
		"$BIN/replicad-copy" "$src" "$m" 2>/dev/null
		s=$(now)
		"$BIN/replicad-copy" -resync -sidecar "$m.hashes" "$src" "$m" 2>/dev/null
		build=$(echo "$(now) - $s" | bc -l)
		"$BIN/benchimg" mutate -frac 0.01 -seed 5 -dirty "$BENCH_DIR/dirty.json" "$src"
		drop_caches
		s=$(now)
		"$BIN/replicad-copy" -resync -dirty "$BENCH_DIR/dirty.json" -sidecar "$m.hashes" "$src" "$m" 2>"$BENCH_DIR/rs1.json"
		dirty=$(echo "$(now) - $s" | bc -l)
		cmp "$src" "$m" || { echo "FAIL: dirty-map resync differs" >&2; exit 1; }
		"$BIN/benchimg" mutate -frac 0.01 -seed 6 -dirty "$BENCH_DIR/dirty2.json" "$src"
		drop_caches
		s=$(now)
		"$BIN/replicad-copy" -resync -sidecar "$m.hashes" "$src" "$m" 2>"$BENCH_DIR/rs2.json"
		hashed=$(echo "$(now) - $s" | bc -l)
		cmp "$src" "$m" || { echo "FAIL: hash-sidecar resync differs" >&2; exit 1; }
		RESYNC=$(printf '# resync of 1%% changed 64 KiB blocks on the %s 50%% image: dirty map %.2f s (%s), hash sidecar %.2f s (%s); building the sidecar against the target took %.2f s' \
			"$SIZE" "$dirty" "$(tr -d '\n' <"$BENCH_DIR/rs1.json")" "$hashed" "$(tr -d '\n' <"$BENCH_DIR/rs2.json")" "$build")
		rm -f "$m" "$m.hashes"
	fi
	rm -f "$src"
done

# Snapshot and Clone on a reflink filesystem: the 100pct image again, on a loop-mounted
# XFS (reflink=1) in BENCH_DIR. replicad clones it (constant time); the rows show what
# the other tools do with the same chance.
XFS=$BENCH_DIR/xfs
if command -v mkfs.xfs >/dev/null && truncate -s $((2 * $(numfmt --from=iec "$SIZE") + (1 << 30))) "$XFS.img" &&
	mkfs.xfs -q -m reflink=1 "$XFS.img" && mkdir -p "$XFS" && mount -o loop "$XFS.img" "$XFS"; then
	trap 'umount "$XFS"; cleanup' EXIT
	"$BIN/benchimg" make -size "$SIZE" -alloc 1.0 "$XFS/img"
	compare 100pct-xfs "$XFS/img" "$XFS"
	echo "# 100pct-xfs: st_blocks counts shared blocks too; a clone takes no new data blocks (cp 9.x clones as well)"
	rm -f "$XFS/img"
else
	echo "# 100pct-xfs: skipped (needs root and mkfs.xfs from xfsprogs for a loop-mounted XFS)"
fi

echo
echo "${RESYNC:-}"
