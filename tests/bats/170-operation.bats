#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/170-operation.bats - df11fs as an operator runs it: a log
# file with timestamps that logrotate can move (SIGHUP reopens it),
# statistics on SIGUSR1, at exit and in .df11fs-stats.json, a readiness
# line and sd_notify, fsname= and max_read= as given, and no GPU noise at
# the default log level

load helpers
load mount_helpers

STAMP='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z df11fs\[[0-9]+\]: '
STATS_LINE='statistics: uptime [0-9.]+ s, hits [0-9]+, misses [0-9]+, bytes served [0-9]+, bytes decoded [0-9]+, errors [0-9]+, peak cache [0-9]+ bytes'

setup_file() {
	require_fuse
	require_bins
	export SRC=$BATS_FILE_TMPDIR/src D=$BATS_FILE_TMPDIR/d
	mkdir -p "$SRC" "$D"
	genmodel -s 11 -S 6M -n 2 "$SRC/a"
	genmodel -s 12 -S 2M "$SRC/b"
	df11 compress -q "$SRC/a" "$D/a"
	df11 compress -q "$SRC/b" "$D/b"
}

setup() {
	# no GPU, whatever the machine has
	export DF11_GPU_LIB=/nonexistent/libdf11gpu.so
	M=$BATS_TEST_TMPDIR/m
}

teardown() {
	unmount_all
}

# pid_of MNT - the daemon's pid, as mount_df11fs recorded it
pid_of() {
	cat "$1.pid"
}

@test "-o log=FILE: timestamped lines; SIGHUP reopens it and the models stay" {
	local log=$BATS_TEST_TMPDIR/df11fs.log
	mount_df11fs "$D" "$M" -o "log=$log"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	grep -Eq "${STAMP}decoder: " "$log"
	# every line of the file has the timestamp
	run -1 grep -Ev "$STAMP" "$log"
	mv "$log" "$log.1"
	kill -HUP "$(pid_of "$M")"
	wait_until 10 test -e "$log"
	wait_until 10 grep -Eq "${STAMP}log file '$log' reopened" "$log"
	mountpoint -q "$M"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	kill -USR1 "$(pid_of "$M")"
	wait_until 10 grep -Eq "${STAMP}${STATS_LINE}" "$log"
	run -1 grep -q statistics "$log.1"
	unmount_df11fs "$M"
}

@test "SIGHUP without a log file leaves the mount serving" {
	mount_df11fs "$D" "$M"
	kill -HUP "$(pid_of "$M")"
	# signals are taken in order: the statistics line comes after the HUP
	kill -USR1 "$(pid_of "$M")"
	wait_until 10 grep -Eq "^df11fs: $STATS_LINE" "$M.log"
	mountpoint -q "$M"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
}

@test "SIGUSR1 logs a statistics line and the mount keeps working" {
	mount_df11fs "$D" "$M"
	cat "$M"/b/*.safetensors >/dev/null
	kill -USR1 "$(pid_of "$M")"
	wait_until 10 grep -Eq "^df11fs: $STATS_LINE" "$M.log"
	kill -0 "$(pid_of "$M")"
	mountpoint -q "$M"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	# the counters moved: bytes were served
	grep -E "$STATS_LINE" "$M.log" | grep -vq 'bytes served 0,'
}

@test "a statistics line at exit" {
	mount_df11fs "$D" "$M"
	cat "$M"/a/*.safetensors >/dev/null
	unmount_df11fs "$M"
	[ "$(grep -Ec "^df11fs: $STATS_LINE" "$M.log")" = 1 ]
	tail -n 1 "$M.log" | grep -Eq "$STATS_LINE"
}

@test "-f prints the readiness line; a listing right after it sees the files" {
	start_df11fs "$D" "$M"
	wait_until 10 grep -qx "df11fs: mounted $D on $M" "$M.out"
	# no polling of mountpoint: the line itself is the signal
	[ "$(ls "$M")" = "$(printf 'a\nb')" ]
	[ "$(wc -l <"$M.out")" = 1 ]
}

# notify_listen SOCKET OUT - receive sd_notify datagrams on SOCKET (a
# leading @: abstract) into OUT, one per line, until STOPPING=1 or 30 s
notify_listen() {
	python3 - "$1" "$2" 3>&- <<'PY' &
import socket, sys
name, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
open(out + ".bound", "w").close()
s.settimeout(30)
with open(out, "a") as f:
    try:
        while True:
            msg = s.recv(4096).decode()
            f.write(msg.replace("\n", " ") + "\n")
            f.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
	wait_until 10 test -e "$2.bound"
}

@test "NOTIFY_SOCKET (path and abstract): READY=1 once mounted, STOPPING=1 at unmount" {
	local sock out n=0
	for sock in "$BATS_TEST_TMPDIR/notify" "@df11fs-test-$$-$RANDOM"; do
		out=$BATS_TEST_TMPDIR/notify.$((n += 1)).txt
		notify_listen "$sock" "$out"
		export NOTIFY_SOCKET=$sock
		mount_df11fs "$D" "$M"
		unset NOTIFY_SOCKET
		wait_until 10 grep -q "^READY=1 MAINPID=$(pid_of "$M")$" "$out"
		ls "$M/a" >/dev/null
		unmount_df11fs "$M"
		wait_until 10 grep -qx "STOPPING=1" "$out"
		[ "$(wc -l <"$out")" = 2 ]
	done
}

@test ".df11fs-stats.json: valid JSON, documented keys, per-file bytes grow" {
	mount_df11fs "$D" "$M"
	local f=$M/.df11fs-stats.json shard=a/model-00001-of-00002.safetensors
	# hidden: looked up, not listed
	run -1 grep -q df11fs-stats <(ls -a "$M")
	[ -f "$f" ] && [ ! -w "$f" ] || [ "$(id -u)" = 0 ]
	run ! sh -c "echo x >'$f'"
	head -c 1000 "$M/$shard" >/dev/null
	python3 - "$f" "$shard" "$D" "$M" <<'PY'
import json, sys
f, shard, src, mnt = sys.argv[1:]
a = json.load(open(f))
for k in ("format", "version", "df11fs", "source", "mountpoint", "pid",
          "time", "uptime_s", "memory", "cache", "decoder", "models", "files"):
    assert k in a, k
assert a["format"] == "df11fs-stats" and a["version"] == 1
assert a["source"] == src and a["mountpoint"] == mnt
assert a["memory"]["rss"] > 0 and a["memory"]["rss_peak"] >= a["memory"]["rss"]
for k in ("budget", "used", "peak", "hits", "misses", "waits", "evictions",
          "readahead", "errors", "bytes_served", "bytes_decoded"):
    assert isinstance(a["cache"][k], int), k
for k in ("name", "decode_ns", "decode_gbps", "gpu_chunks", "gpu_batches"):
    assert k in a["decoder"], k
assert a["decoder"]["name"] == "cpu"
before = a["files"][shard]
for k in ("size", "stored", "bytes_served", "chunks_decoded", "errors"):
    assert isinstance(before[k], int), k
with open(mnt + "/" + shard, "rb") as g:
    data = g.read()
assert len(data) == before["size"]
b = json.load(open(f))
after = b["files"][shard]
assert after["bytes_served"] > before["bytes_served"], (before, after)
assert after["chunks_decoded"] >= before["chunks_decoded"]
m = b["models"]["a"]
assert m["files"] >= 1 and m["bytes_served"] >= after["bytes_served"]
assert b["uptime_s"] >= a["uptime_s"]
assert b["cache"]["bytes_served"] >= m["bytes_served"]
PY
}

@test "-o trace=FILE and the requests/stage figures account for every read" {
	local trace=$BATS_TEST_TMPDIR/trace.txt f=$M/.df11fs-stats.json
	local shard=a/model-00001-of-00002.safetensors
	printf 'plain bytes %.0s' $(seq 5000) >"$D/plain.bin"
	mount_df11fs "$D" "$M" -o "trace=$trace"
	cmp "$M/$shard" "$SRC/$shard"
	cmp "$M/plain.bin" "$D/plain.bin"
	python3 - "$f" "$SRC/$shard" "$D/plain.bin" <<'PY'
import json, os, sys
f, shard, plain = sys.argv[1:]
a = json.load(open(f))
r = a["requests"]
want = os.path.getsize(shard) + os.path.getsize(plain)
assert r["bytes"] == want, (r["bytes"], want)
assert r["reads"] == sum(r["sizes"].values()) and r["reads"] > 0
assert 1 <= r["in_flight_max"] and r["in_flight_mean"] >= 1
assert 0 < r["reply_ns"] <= r["service_ns"]
for k in ("wait_ns",):
    assert isinstance(a["cache"][k], int), k
d = a["decoder"]
assert 0 < d["map_ns"] + d["fetch_ns"] + d["check_ns"] <= d["decode_ns"], d
PY
	unmount_df11fs "$M"
	rm "$D/plain.bin"
	# one line per request: 7 numbers; the offsets and sizes cover both
	# files once each
	run -1 grep -Ev '^([0-9]+ ){6}[0-9]+$' "$trace"
	local total
	total=$(awk '{ s += $4 } END { print s }' "$trace")
	[ "$total" -ge $(($(stat -c %s "$SRC/$shard") + 60000)) ]
	run -1 "$DF11FS" -f -o trace=/nonexistent/dir/t "$D" "$M"
	[[ "$output" == *"cannot open trace file '/nonexistent/dir/t'"* ]]
}

@test "-o fsname= is the first field of /proc/mounts; max_read= honoured or refused" {
	mount_df11fs "$D" "$M" -o fsname=df11-test-models,max_read=64K
	run -0 awk -v m="$M" '$2 == m { print $1, $4 }' /proc/mounts
	[[ "$output" == "df11-test-models "*max_read=65536* ]]
	grep -q "max_read=64K: read requests of at most 65536 bytes" "$M.log"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	unmount_df11fs "$M"
	run -2 "$DF11FS" -f -o max_read=2M "$D" "$M"
	[[ "$output" == *"max_read=2M: must be between 4096 and 1048576 bytes"* ]]
	run ! mountpoint -q "$M"
}

@test "decoder=auto without a GPU: no GPU library line at the default level" {
	mount_df11fs "$D" "$M"
	unmount_df11fs "$M"
	grep -q '^df11fs: decoder: cpu (no GPU' "$M.log"
	run -1 grep -Eq 'nonexistent|CUDA' "$M.log"
	# -d tells why; decoder=gpu keeps it an error
	mount_df11fs "$D" "$M" -d
	unmount_df11fs "$M"
	grep -q "decoder: cpu (no GPU: .*nonexistent" "$M.log"
	mount_df11fs "$D" "$M" -o decoder=gpu
	unmount_df11fs "$M"
	grep -q "decoder=gpu: no usable GPU (.*nonexistent" "$M.log"
}

@test "detached without /dev/log: lines go to the stderr it was started with" {
	[ ! -e /dev/log ] || skip "/dev/log exists: detached df11fs logs to syslog"
	mkdir -p "$M"
	timeout 20 "$DF11FS" "$D" "$M" </dev/null >/dev/null 2>"$M.log" 3>&-
	echo "$M" >>"$BATS_FILE_TMPDIR/mounts"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
		"$M/.df11fs-stats.json" >"$M.pid"
	grep -q "^df11fs: no syslog ('/dev/log' does not exist): logging to stderr" "$M.log"
	kill -USR1 "$(pid_of "$M")"
	wait_until 10 grep -Eq "${STAMP}${STATS_LINE}" "$M.log"
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	unmount_df11fs "$M"
}

# n_tasks MNT - threads of the daemon mounted on MNT
n_tasks() {
	ls "/proc/$(pid_of "$1")/task" | wc -l
}

# readahead_of MNT - chunks decoded ahead, from .df11fs-stats.json
readahead_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cache"]["readahead"])' \
		"$1/.df11fs-stats.json"
}

@test "-o workers=0: no read-ahead thread starts, nothing is decoded ahead" {
	local one none
	mount_df11fs "$D" "$M" -o workers=1,threads=2
	one=$(n_tasks "$M")
	unmount_df11fs "$M"
	mount_df11fs "$D" "$M" -o workers=0,threads=2
	none=$(n_tasks "$M")
	[ "$none" -eq $((one - 1)) ]
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	[ "$(readahead_of "$M")" = 0 ]
	[ "$(getfattr --absolute-names --only-values -n user.df11.readahead "$M")" = 0 ]
	unmount_df11fs "$M"
}

@test "attr_timeout= and entry_timeout=: infinite, NaN, negative or over a day refused" {
	local o v
	for o in attr_timeout entry_timeout; do
		for v in 1e309 inf -inf nan -1 -0.5 86401 0x10 1s ''; do
			run -2 timeout 10 "$DF11FS" -f -o "$o=$v" "$D" "$M"
			[ "${#lines[@]}" -eq 1 ]
			[ "$output" = "df11fs: $o=$v: must be a number of seconds from 0 to 86400" ]
		done
	done
	run ! mountpoint -q "$M"
	mount_df11fs "$D" "$M" -o attr_timeout=86400,entry_timeout=0.25
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
	unmount_df11fs "$M"
}

# decoded_per_served MNT - bytes decoded per byte served, 3 decimals
decoded_per_served() {
	python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))["cache"]
print("%.3f" % (c["bytes_decoded"] / c["bytes_served"]))' "$1/.df11fs-stats.json"
}

@test "four sequential readers at once: every chunk decoded about once, bytes equal" {
	# four shards read at once share readahead= (32M here, half of the
	# cache): a chunk read ahead for one reader is not evicted for
	# another's before it is served, and a reader that overtakes the
	# workers leaves no job behind it to decode its chunks again
	local s4=$BATS_TEST_TMPDIR/s4 d4=$BATS_TEST_TMPDIR/d4 f r pids=()
	genmodel -s 17 -S 96M -n 4 "$s4"
	df11 compress -q "$s4" "$d4"
	mount_df11fs "$d4" "$M" -o cache_size=64M,readahead=32M
	for f in "$M"/*.safetensors; do
		timeout 120 dd if="$f" of=/dev/null bs=1M status=none &
		pids+=($!)
	done
	for f in "${pids[@]}"; do
		wait "$f"
	done
	r=$(decoded_per_served "$M")
	echo "decoded per served: $r"
	python3 -c 'import sys; sys.exit(float(sys.argv[1]) > 1.1)' "$r"
	[ "$(tree_sums "$M")" = "$(tree_sums "$s4")" ]
	unmount_df11fs "$M"
}
