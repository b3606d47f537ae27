#!/usr/bin/env bash
# copy.sh: the copy engine against cp --sparse=always and qemu-img convert -O raw on two
# yardsticks (docs/copy-benchmark.md):
#
#   shm   a quiet disk: ext4 on a loop device backed by a file in /dev/shm (the loop
#         does direct I/O into tmpfs), the same on every machine; copies are bound by
#         CPU, memory bandwidth and syscalls, not by a shared disk.
#   disk  the machine's own disk (BENCH_DIR).
# On both, the device's read rate R and write rate W are measured in the same rounds
# (after each round's copies): R by fio reading the source image itself, W by fio
# writing RATE_MIB of new data (4 MiB direct requests, 16 in flight, fio's reported
# rate of its I/O: timing fio whole, start-up included, understated the rates so much
# that every tool beat the "limit"), or dd through the page cache if that was faster.
# Every tool is placed against
#   limit   max(allocated bytes / R, data bytes / W): reads and writes overlap;
#   serial  allocated bytes / R + data bytes / W: what a device that serves one
#           request at a time needs (the shm loop device: one kernel worker copies
#           every byte read or written, reads and writes in turn);
#   both    fio reading the source and writing the data bytes into a new file at
#           once, each with the requests of R and W (the longer job's runtime): what
#           the device gives when a copy's reads and writes really overlap, without
#           any copy between them. limit assumes R and W at once; both measures it.
# On each testbed, for 2 GiB images (5%, 50%, 100% random 1 MiB units, and fully
# allocated alternating data and zero runs) it times in interleaved rounds (the order
# rotates each round):
#   daemon    replicad's Clone through its WS-Management interface: the request to the
#             job read back done (bench/clone), then sync
#   engine    the engine alone (cmd/replicad-copy, default options), then sync
#   engine-direct, engine-pagecache  (optional, in TOOLS) the engine with its target
#             path forced (-write direct / -write pagecache): the measurement behind
#             the default
#   cp        cp --sparse=always, then sync
#   qemu-img  qemu-img convert -O raw, then sync
# caches dropped before each copy; every target is compared with its source (benchimg cmp,
# a MiB at a time: cmp(1) took 12 s of CPU per 2 GiB) and its allocated
# blocks must not exceed cp's. It prints each tool's median, min and max and the
# daemon's and the engine's ratios to the best peer tool (and, on disk, to the limit), and the
# median of the per-round ratios (each round's time over the faster peer's in that round),
# which shared-machine noise moves least.
# The machine may be shared: compare figures within one run only.
#
# Needs root (loop mount, drop_caches), qemu-img, ~8 GiB of RAM for shm and ~6 GiB free
# in BENCH_DIR.
#
#   RUNS=7 SIZE=2G TESTBEDS="shm disk" IMAGES="5pct 50pct zeroruns 100pct" LOAD=1 ./bench/copy.sh
#
# SCAN_IMAGES ("50pct 100pct"; empty: none) also time, on those images, an untracked catch-up of a
# 1% change against a plain read of both images (scan_image).
# LOAD=1 (default) ends with bench/load's Get ratio against a bare net/http handler.
# RATE_MIB (1024) sizes the device rate measurements; CHECK=ours compares cp's and
# qemu-img's targets with their source in the first round only (the daemon's and the
# engine's in every round), which saves a third of a run on the real disk.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-2G}
RUNS=${RUNS:-7}
TESTBEDS=${TESTBEDS:-shm disk}
IMAGES=${IMAGES:-5pct 50pct zeroruns 100pct}
TOOLS=${TOOLS:-daemon engine cp qemu-img}
ENGINE_ARGS=${ENGINE_ARGS:-}
RATE_MIB=${RATE_MIB:-1024}   # size of the device rate measurements
CHECK=${CHECK:-all}          # all: cmp every target; ours: cp's and qemu-img's in round 0 only
SCAN_IMAGES=${SCAN_IMAGES-50pct 100pct} # images whose untracked catch-up is timed (scan_image)
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /var/tmp/replicad-bench.XXXXXX)}
SHM_IMG=${SHM_IMG:-/dev/shm/replicad-bench-$$.ext4}
BIN=$BENCH_DIR/bin
PASSWORD=bench-$$-$RANDOM

if [[ $(id -u) != 0 ]]; then
	echo "copy.sh: needs root (loop mount, drop_caches)" >&2
	exit 2
fi
if ! command -v qemu-img >/dev/null; then
	echo "qemu-img missing: installing qemu-utils" >&2
	apt-get install -y qemu-utils >/dev/null
fi
if ! command -v jq >/dev/null; then
	echo "jq missing: installing jq" >&2
	apt-get install -y jq >/dev/null
fi
if ! command -v fio >/dev/null; then
	echo "fio missing: installing fio" >&2
	apt-get install -y fio >/dev/null
fi

mkdir -p "$BENCH_DIR" "$BIN"
DAEMON_PID= MNT= LOOP=
cleanup() {
	stop_daemon
	if [[ -n $MNT ]]; then umount "$MNT" || true; fi
	if [[ -n $LOOP ]]; then losetup -d "$LOOP" || true; fi
	rm -f "$SHM_IMG"
	rm -rf "$BENCH_DIR"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$BIN/" ./cmd/replicad ./cmd/replicad-copy ./bench/benchimg ./bench/clone)

now() { date +%s.%N; }
blocks() { stat -c %b "$1"; }
# drop_caches DIR: syncs DIR's filesystem only (a global sync waits for everyone's
# writes on a shared machine), then drops the clean caches.
drop_caches() { sync -f "$1"; echo 3 >/proc/sys/vm/drop_caches; }
# stats: reads numbers, prints "median min max".
stats() { sort -g | awk '{a[NR]=$1} END {printf "%.3f %.3f %.3f", a[int((NR+1)/2)], a[1], a[NR]}'; }
fdiv() { echo "$1 / $2" | bc -l; }

# start_daemon DATA: runs replicad on a loopback port with DATA as its data folder;
# sets URL.
start_daemon() {
	local data=$1 log=$1/daemon.log
	printf '%s\n' "$PASSWORD" | "$BIN/replicad" user add bench --data-dir "$data" --password-stdin >/dev/null
	"$BIN/replicad" --listen 127.0.0.1:0 --data-dir "$data" --log-format json 2>"$log" &
	DAEMON_PID=$!
	for _ in $(seq 300); do
		URL=$(grep -o '"msg":"listening".*' "$log" 2>/dev/null | grep -o '"addr":"[^"]*"' | head -1 | cut -d'"' -f4 || true)
		[[ -n $URL ]] && break
		sleep 0.1
	done
	[[ -n $URL ]] || { echo "FAIL: replicad did not start:" >&2; cat "$log" >&2; exit 1; }
	URL="http://$URL/wsman"
}
stop_daemon() {
	if [[ -n $DAEMON_PID ]]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
}
clonectl() { "$BIN/clone" -url "$URL" -user bench -password "$PASSWORD" "$@"; }

# timed TOOL SRC DIR ROUND: one copy of SRC by TOOL into DIR, synced and checked; prints
# "seconds target-blocks".
timed() {
	local tool=$1 src=$2 dir=$3 round=$4 dst s e t
	dst=$dir/dst
	[[ $tool == daemon ]] && dst=$dir/pools/default/c$round.img
	rm -f "$dst"
	drop_caches "$dir"
	s=$(now)
	case $tool in
	daemon)
		t=$(clonectl -source src -name "c$round")
		s=$(echo "$(now) - $t" | bc -l)
		;;
	engine) "$BIN/replicad-copy" $ENGINE_ARGS "$src" "$dst" 2>/dev/null ;;
	engine-*) "$BIN/replicad-copy" $ENGINE_ARGS -write "${tool#engine-}" "$src" "$dst" 2>/dev/null ;;
	cp) cp --sparse=always "$src" "$dst" ;;
	qemu-img) qemu-img convert -O raw "$src" "$dst" ;;
	esac
	sync "$dst"
	e=$(now)
	if [[ $CHECK == all || $tool == daemon || $tool == engine* || $round == 0 ]]; then
		"$BIN/benchimg" cmp "$src" "$dst" || { echo "FAIL: $tool copy of $src differs" >&2; exit 1; }
	fi
	echo "$(echo "$e - $s" | bc -l) $(blocks "$dst")"
	if [[ $tool == daemon ]]; then clonectl -drop "c$round"; else rm -f "$dst"; fi
}

# rate_write FILE MiB and rate_read FILE: the device's rates, as fio reports
# them for its I/O (its start-up not counted: timing fio whole understated the rates
# so much that copies beat the "limit"), 4 MiB direct requests, 16 in flight.
# rate_write writes a new sparse file of MiB (appending direct writes serialise on the
# file size, which no copy does), then fsyncs it, and prints "best fio dd": dd writes
# the same through the page cache (4 MiB writes, then fdatasync, timed whole), since
# writeback may reach further than direct requests (bytes/s). rate_read reads FILE, the
# source image itself, and prints fio's seconds: R is its allocated bytes over that, what
# the device delivers for the very blocks a copy reads (a hole reads as zeros, no I/O).
FIO=(--bs=4M --direct=1 --ioengine=libaio --iodepth=16 --output-format=json)
secs() { local s e; s=$(now); "$@"; e=$(now); echo "$e - $s" | bc -l; }
rate_write() {
	local f d
	rm -f "$1"
	truncate -s "$2"M "$1"
	f=$(fio --name=w --filename="$1" --rw=write --size="$2"M --fallocate=none --end_fsync=1 "${FIO[@]}" | jq '.jobs[0].write.bw_bytes')
	rm -f "$1"
	sync -f "$(dirname "$1")"
	d=$(fdiv "$(($2 << 20))" "$(secs dd if=/dev/zero of="$1" bs=4M count=$(($2 / 4)) conv=fdatasync status=none)")
	rm -f "$1"
	echo "$(echo "if ($f > $d) $f else $d" | bc -l) $f $d"
}
rate_read() {
	drop_caches "$(dirname "$1")"
	fio --name=r --filename="$1" --rw=read --readonly "${FIO[@]}" | jq '.jobs[0].read.runtime / 1000'
}
# rate_both SRC FILE MiB: fio reading SRC and writing MiB into a new sparse FILE at
# once (the requests of rate_read and rate_write, two jobs in one run); prints the
# seconds of the longer job.
rate_both() {
	rm -f "$2"
	truncate -s "$3"M "$2"
	drop_caches "$(dirname "$2")"
	fio "${FIO[@]}" --name=r --filename="$1" --rw=read \
		--name=w --filename="$2" --rw=write --size="$3"M --fallocate=none --end_fsync=1 |
		jq '[.jobs[].job_runtime] | max / 1000'
	rm -f "$2"
}

# scan_image DIR SRC: an untracked catch-up against a plain read of both images, in
# interleaved rounds: each round changes 1% of the source's 64 KiB blocks (benchimg
# mutate: nothing tracks the change), then times, in rotating order, caches dropped
# before each, replicad-copy -resync (no dirty map, no sidecar: it compares both sides'
# data) with a sync of the mirror, and dd reading the source and then the mirror
# (direct, 4 MiB). The mirror is compared with the source after each resync.
scan_image() {
	local dir=$1 src=$2 mirror=$1/mirror r t s e
	local -a order=(resync read-both)
	local -A T=()
	"$BIN/replicad-copy" "$src" "$mirror" 2>/dev/null
	for ((r = 0; r < RUNS; r++)); do
		"$BIN/benchimg" mutate -frac 0.01 -seed $((r + 100)) "$src"
		for t in "${order[@]}"; do
			drop_caches "$dir"
			s=$(now)
			case $t in
			resync) "$BIN/replicad-copy" -resync "$src" "$mirror" 2>/dev/null && sync "$mirror" ;;
			read-both) dd if="$src" of=/dev/null bs=4M iflag=direct status=none && dd if="$mirror" of=/dev/null bs=4M iflag=direct status=none ;;
			esac
			e=$(now)
			T[$t]+="$(echo "$e - $s" | bc -l) "
			if [[ $t == resync ]]; then
				"$BIN/benchimg" cmp "$src" "$mirror" || { echo "FAIL: resync of $mirror differs" >&2; exit 1; }
			fi
		done
		order=("${order[@]:1}" "${order[0]}")
	done
	echo "# scan $(basename "$dir") src+mirror allocated $(( ($(blocks "$src") + $(blocks "$mirror")) * 512 )) bytes"
	for t in resync read-both; do
		echo "# scan runs $t: ${T[$t]% }"
		printf 'scan %-9s median %7.3f s  min %7.3f  max %7.3f\n' "$t" $(echo "${T[$t]}" | tr ' ' '\n' | grep . | stats)
	done
	printf 'scan per-round ratio resync / read-both (median min max): %s\n' \
		"$(paste <(tr ' ' '\n' <<<"${T[resync]}") <(tr ' ' '\n' <<<"${T[read-both]}") | awk 'NF == 2 {print $1 / $2}' | stats)"
	rm -f "$mirror"
}

declare -A IMG_ARGS=([5pct]="-alloc 0.05" [50pct]="-alloc 0.5" [100pct]="-alloc 1.0" [zeroruns]="-zeroruns")

# bench_image BED DIR IMG: the rounds of one image on one testbed.
bench_image() {
	local bed=$1 dir=$2 img=$3 src=$2/pools/default/src.img r tool out alloc
	local -a order
	local -A T=() B=()
	mkdir -p "$dir/pools/default"
	# shellcheck disable=SC2086
	"$BIN/benchimg" make -size "$SIZE" ${IMG_ARGS[$img]} "$src"
	alloc=$(($(blocks "$src") * 512))
	start_daemon "$dir"
	local rd= wr= wrf= wrd= bo= w
	read -ra order <<<"$TOOLS"
	for ((r = 0; r < RUNS; r++)); do
		for tool in "${order[@]}"; do
			out=$(timed "$tool" "$src" "$dir" "$r")
			T[$tool]+="${out% *} "
			B[$tool]=${out#* }
		done
		order=("${order[@]:1}" "${order[0]}") # rotate: no tool always goes first
		read -r w f d <<<"$(rate_write "$dir/rate" "$RATE_MIB")"
		wr+="$w " wrf+="$f " wrd+="$d "
		rd+="$(rate_read "$src") "
		bo+="$(rate_both "$src" "$dir/rate" "$(((${B[cp]:-${B[qemu-img]}} * 512 + (1 << 20) - 1) >> 20))") "
	done
	stop_daemon
	if [[ " $SCAN_IMAGES " == *" $img "* ]]; then
		echo "# $bed $img: untracked catch-up of 1% changed against a plain read of both images"
		scan_image "$dir" "$src" | sed "s/^/$bed $img /"
	fi
	rm -f "$src"
	rm -rf "$dir/pools" "$dir/state.db" "$dir/users" "$dir/daemon.log"

	local best=9999 best_tool= m
	for tool in cp qemu-img; do
		[[ -n ${T[$tool]:-} ]] || continue
		m=$(echo "${T[$tool]}" | tr ' ' '\n' | grep . | stats | cut -d' ' -f1)
		if (($(echo "$m < $best" | bc -l))); then best=$m best_tool=$tool; fi
	done
	local limit data=${B[cp]:-${B[qemu-img]:-0}} R W serial both
	med() { tr ' ' '\n' | grep . | stats | cut -d' ' -f1; }
	R=$(fdiv "$alloc" "$(med <<<"$rd")") W=$(med <<<"$wr")
	limit=$(echo "a=$alloc / $R; b=$data * 512 / $W; if (a > b) a else b" | bc -l)
	serial=$(echo "$alloc / $R + $data * 512 / $W" | bc -l)
	both=$(med <<<"$bo")
	printf '%-5s %-9s device R %.0f MB/s, W %.0f MB/s (fio direct 4M QD16 %.0f, page cache + fdatasync %.0f; medians); limit max(%.2f GiB / R, %.2f GiB / W) = %.3f s; serial (one loop worker) sum = %.3f s; both (fio reading and writing at once) = %.3f s\n' \
		"$bed" "$img" "$(fdiv "$R" 1000000)" "$(fdiv "$W" 1000000)" "$(fdiv "$(med <<<"$wrf")" 1000000)" "$(fdiv "$(med <<<"$wrd")" 1000000)" \
		"$(fdiv "$alloc" 1073741824)" "$(fdiv "$((data * 512))" 1073741824)" "$limit" "$serial" "$both"
	echo "# $bed $img R runs (fio's seconds to read the source): $rd"
	echo "# $bed $img both runs (fio's seconds, reading and writing at once): $bo"
	echo "# $bed $img W runs: $wr (fio: $wrf; dd: $wrd)"
	for tool in $TOOLS; do
		read -r m lo hi <<<"$(echo "${T[$tool]}" | tr ' ' '\n' | grep . | stats)"
		local vs="" vl="" vsr="" vb=""
		vs=$(printf '%.2f' "$(fdiv "$m" "$best")")
		vl=$(printf '%.2f' "$(fdiv "$limit" "$m")")
		vsr=$(printf '%.2f' "$(fdiv "$serial" "$m")")
		vb=$(printf '%.2f' "$(fdiv "$both" "$m")")
		printf '%-5s %-9s %-9s median %7.3f s  min %7.3f  max %7.3f  vs %-8s %5s  of-limit %5s  of-serial %5s  of-both %5s  blocks %10s %s\n' \
			"$bed" "$img" "$tool" "$m" "$lo" "$hi" "$best_tool" "$vs" "${vl:--}" "$vsr" "$vb" "${B[$tool]}" \
			"$( ((B[$tool] > data)) && echo "ABOVE cp's" || true)"
		echo "# $bed $img $tool runs: ${T[$tool]% }"
	done
	echo "# $bed $img load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	# Paired: each round's time over the faster peer's in the same round, then the median.
	for tool in $TOOLS; do
		[[ $tool == daemon || $tool == engine* ]] || continue
		[[ -n ${T[$tool]:-} && -n ${T[cp]:-} && -n ${T[qemu-img]:-} ]] || continue
		printf '%-5s %-9s %-9s per-round ratio to the faster of cp and qemu-img (median min max): %s\n' "$bed" "$img" "$tool" \
			"$(paste <(tr ' ' '\n' <<<"${T[$tool]}") <(tr ' ' '\n' <<<"${T[cp]}") <(tr ' ' '\n' <<<"${T[qemu-img]}") |
				awk 'NF == 3 {b = $2 < $3 ? $2 : $3; print $1 / b}' | stats)"
		printf '%-5s %-9s %-9s per-round limit / time, R and W of the same round (median min max): %s\n' "$bed" "$img" "$tool" \
			"$(paste <(tr ' ' '\n' <<<"${T[$tool]}") <(tr ' ' '\n' <<<"$rd") <(tr ' ' '\n' <<<"$wr") |
				awk -v d="$((data * 512))" 'NF == 3 {r = $2; w = d / $3; print (r > w ? r : w) / $1}' | stats)"
		printf '%-5s %-9s %-9s per-round both / time, fio reading and writing at once in the same round (median min max): %s\n' "$bed" "$img" "$tool" \
			"$(paste <(tr ' ' '\n' <<<"${T[$tool]}") <(tr ' ' '\n' <<<"$bo") | awk 'NF == 2 {print $2 / $1}' | stats)"
	done
}

echo "# replicad copy benchmark: $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), $SIZE images, $RUNS interleaved rounds"
echo "# seconds to the end of a sync of the target; vs: median over the faster peer's (cp, qemu-img) median; of-limit: limit / median"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for bed in $TESTBEDS; do
	case $bed in
	shm)
		MNT=$BENCH_DIR/shm
		mkdir -p "$MNT"
		truncate -s $((3 * $(numfmt --from=iec "$SIZE") + (1 << 30))) "$SHM_IMG"
		LOOP=$(losetup -f --show --direct-io=on "$SHM_IMG")
		mkfs.ext4 -q -F "$LOOP"
		mount "$LOOP" "$MNT"
		for img in $IMAGES; do bench_image shm "$MNT" "$img"; done
		umount "$MNT" && MNT=
		losetup -d "$LOOP" && LOOP=
		rm -f "$SHM_IMG"
		;;
	disk)
		echo "# disk: $(df -T "$BENCH_DIR" | awk 'NR==2{print $1, $2}')"
		for img in $IMAGES; do bench_image disk "$BENCH_DIR/disk" "$img"; done
		;;
	esac
done

# The request path (bench/load): a WS-Transfer Get through the daemon against a bare
# net/http handler answering the same reply, 8 clients, interleaved rounds.
if [[ ${LOAD:-1} == 1 ]]; then
	(cd "$ROOT" && go run ./bench/load -replicad "$BIN/replicad" -duration 5s -requests 5000 \
		-burst-clients 80 -burst-rounds 2 -ratio-rounds 5 -ratio-round 3s) | grep -E '^(get ratio|steady):'
fi
