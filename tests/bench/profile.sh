#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/profile.sh - where the time of a read through df11fs goes
#
#   tests/bench/profile.sh BUILD_DIR SOURCE [MOUNT_OPTS] -- CMD [ARGS...]
#
# Mounts SOURCE on a fresh mount point with -o trace=, runs CMD with
# $MNT set to the mount point (e.g. `cat $MNT/model.safetensors`, or a
# python loader), then prints:
#   - wall time of CMD, bytes and GB/s that went through read requests;
#   - the requests: count, sizes, mean and peak concurrency, and the
#     summed service time split into reply copy, cache waits, fetch,
#     decode, check and the rest (lookup, locks, memcpy of lent slices);
#   - the pattern: per file, the share of requests that start where the
#     previous one of the file ended (sequential), how many files were
#     being read at once, and the order files were first touched in;
#   - the daemon's idle time: over the span from the first request to
#     the end of the last, the share of time no request was in service,
#     the idle gaps (count, median, p90), the gaps between request starts
#     (bursts of one kernel read-ahead window show as a small median and
#     a large p90), and the bytes served per 100 ms window (median, most).
#     A daemon idle most of a load means the reader, or the kernel in
#     front of it, sets the pace, not the service.
# Sums of times are over all threads, so they can exceed the wall time;
# their split is what matters. The trace and the statistics file are
# kept in $PROFILE_OUT (default: a temporary directory, printed).
set -euo pipefail

B=${1:?usage: profile.sh BUILD_DIR SOURCE [MOUNT_OPTS] -- CMD...}
SRC=${2:?usage: profile.sh BUILD_DIR SOURCE [MOUNT_OPTS] -- CMD...}
shift 2
OPTS=
if [ "${1:-}" != "--" ]; then
	OPTS=${1:-}
	shift || true
fi
[ "${1:-}" = "--" ] || { echo "usage: profile.sh BUILD_DIR SOURCE [MOUNT_OPTS] -- CMD..." >&2; exit 2; }
shift
O=${PROFILE_OUT:-$(mktemp -d /tmp/df11fs-profile.XXXXXX)}
mkdir -p "$O"
MNT=$O/mnt
mkdir -p "$MNT"
export MNT

"$B/df11fs" -f -o "trace=$O/trace.txt${OPTS:+,$OPTS}" "$SRC" "$MNT" \
	</dev/null >"$O/df11fs.log" 2>&1 &
PID=$!
trap 'fusermount3 -u "$MNT" 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
deadline=$((SECONDS + 20))
until mountpoint -q "$MNT"; do
	if ! kill -0 "$PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
		cat "$O/df11fs.log" >&2
		exit 1
	fi
	sleep 0.02
done

t0=$(date +%s.%N)
"$@"
t1=$(date +%s.%N)
cat "$MNT/.df11fs-stats.json" >"$O/stats.json"
grep -E '^(VmHWM|VmRSS)' "/proc/$PID/status" >"$O/rss.txt" || true
fusermount3 -u "$MNT"
wait "$PID" || true
trap - EXIT

python3 - "$O" "$t0" "$t1" <<'EOF'
import json, sys, collections
o, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
st = json.load(open(o + "/stats.json"))
rq, ca, de = st["requests"], st["cache"], st["decoder"]
wall = t1 - t0
print("wall %.3f s, %d read requests, %.2f GB, %.2f GB/s through the mount"
      % (wall, rq["reads"], rq["bytes"] / 1e9,
         rq["bytes"] / 1e9 / wall if wall > 0 else 0))
print("sizes: " + ", ".join("%s %d" % kv for kv in rq["sizes"].items() if kv[1]))
print("in flight: mean %.2f, max %d" % (rq["in_flight_mean"], rq["in_flight_max"]))
svc = rq["service_ns"]
parts = [("reply copy", rq["reply_ns"]), ("cache waits", ca["wait_ns"]),
         ("buffer map", de["map_ns"]), ("fetch", de["fetch_ns"]),
         ("decode", de["decode_ns"] - de["map_ns"] - de["fetch_ns"]
          - de["check_ns"]),
         ("check", de["check_ns"])]
print("service time %.3f s summed over threads (%.1f us per request):"
      % (svc / 1e9, svc / 1e3 / max(rq["reads"], 1)))
for name, ns in parts:
    print("  %-12s %9.3f s  %5.1f%%" % (name, ns / 1e9, 100.0 * ns / svc if svc else 0))
print("  (buffer map, fetch, decode and check include read-ahead done by workers,"
      " outside any request)")
print("cache: hits %d, misses %d, waits %d, readahead %d, evictions %d, "
      "fresh buffers %d, fresh scratches %d, peak %d MiB"
      % (ca["hits"], ca["misses"], ca["waits"], ca["readahead"],
         ca["evictions"], ca["maps"], ca["scratches"], ca["peak"] >> 20))
print("decoder %s: %.2f GB/s of decode time" % (de["name"], de["decode_gbps"]))
print(open(o + "/rss.txt").read().replace("\n", "  ").strip())
# the pattern
last, seq, per, order = {}, collections.Counter(), collections.Counter(), []
active, conc = {}, []
lines = [l.split() for l in open(o + "/trace.txt")]
lines.sort(key=lambda l: int(l[0]))
for t, ino, off, size, infl, svc_us, rep in lines:
    t, off, size = int(t), int(off), int(size)
    if ino not in last:
        order.append(ino)
    per[ino] += 1
    if last.get(ino) == off:
        seq[ino] += 1
    last[ino] = off + size
    active[ino] = t
    conc.append(sum(1 for v in active.values() if t - v < 100000))
names = {ino: "file%d" % i for i, ino in enumerate(order)}
print("files read: %d, in first-touch order; files read within 100 ms of each"
      " other: mean %.1f, max %d" % (len(order), sum(conc) / max(len(conc), 1),
                                     max(conc) if conc else 0))
for ino in order[:12]:
    print("  %s: %d requests, %.0f%% sequential" % (names[ino], per[ino],
          100.0 * seq[ino] / per[ino]))
# idle time: when no request was in service
iv = sorted((int(l[0]), int(l[0]) + int(l[5]), int(l[3])) for l in lines)
if iv:
    span = max(e for _, e, _ in iv) - iv[0][0]
    gaps, ce = [], iv[0][1]
    for s, e, _ in iv[1:]:
        if s > ce:
            gaps.append(s - ce)
        ce = max(ce, e)
    gaps.sort()
    starts = [s for s, _, _ in iv]
    ia = sorted(b - a for a, b in zip(starts, starts[1:]))
    win = collections.Counter()
    for s, _, n in iv:
        win[(s - iv[0][0]) // 100000] += n
    rates = sorted(win.get(k, 0) / 1e8 for k in range(span // 100000 + 1))
    q = lambda v, f: v[min(int(len(v) * f), len(v) - 1)] if v else 0
    print("daemon idle %.0f%% of %.3f s (no request in service): %d gaps,"
          " median %d us, p90 %d us" % (100.0 * sum(gaps) / span if span else 0,
                                       span / 1e6, len(gaps), q(gaps, 0.5),
                                       q(gaps, 0.9)))
    print("between request starts: median %d us, p90 %d us; GB/s per 100 ms:"
          " median %.2f, most %.2f" % (q(ia, 0.5), q(ia, 0.9), q(rates, 0.5),
                                       rates[-1] if rates else 0))
print("trace and statistics in " + o)
EOF
