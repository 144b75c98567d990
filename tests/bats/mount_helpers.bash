# SPDX-License-Identifier: MIT
# tests/bats/mount_helpers.bash - mounting df11fs in bats tests
#
# Load after helpers (load helpers; load mount_helpers). A mount runs in
# the foreground, in the background, with FD 3 closed (bats waits for FD
# 3) and its output in a log file; readiness is polled with a deadline,
# never slept for. Every mount is recorded so that teardown can unmount
# what a test left behind, and every daemon is waited for: a test fails
# if one outlives its unmount.

DF11FS=$BUILD/df11fs
MOUNT_DEADLINE=${DF11_MOUNT_DEADLINE:-10}

# require_fuse - skip (with the reason) when FUSE cannot be used here;
# fail when df11fs itself is missing
require_fuse() {
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "no fusermount3"
	if [ ! -x "$DF11FS" ]; then
		echo "missing $DF11FS: run make first (BUILD=$BUILD)" >&2
		return 1
	fi
}

# mount_df11fs SRC MNT [DF11FS OPTIONS...] - mount SRC on MNT and wait
# until it answers; the daemon's pid goes to MNT.pid, its output to
# MNT.log, and the mount to the list teardown unmounts
mount_df11fs() {
	local src=$1 mnt=$2 pid deadline
	shift 2
	mkdir -p "$mnt"
	"$DF11FS" -f "$@" "$src" "$mnt" </dev/null >"$mnt.log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$mnt.pid"
	echo "$mnt" >>"$BATS_FILE_TMPDIR/mounts"
	deadline=$((SECONDS + MOUNT_DEADLINE))
	until mountpoint -q "$mnt"; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]
		then
			echo "df11fs did not mount '$mnt':" >&2
			cat "$mnt.log" >&2
			return 1
		fi
		sleep 0.01
	done
}

# daemon_gone PID - the process no longer exists (or is a zombie)
daemon_gone() {
	! kill -0 "$1" 2>/dev/null ||
		[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]
}

# unmount_df11fs MNT - unmount (retrying while busy), wait for the daemon
# to exit, and fail if it does not or if it exits with an error
unmount_df11fs() {
	local mnt=$1 pid rc=0
	pid=$(cat "$mnt.pid" 2>/dev/null) || return 0
	if mountpoint -q "$mnt"; then
		wait_until "$MOUNT_DEADLINE" fusermount3 -u "$mnt" 2>/dev/null ||
			fusermount3 -u -z "$mnt" || true
	fi
	if ! wait_until "$MOUNT_DEADLINE" daemon_gone "$pid"; then
		echo "df11fs $pid still running after unmounting '$mnt'" >&2
		kill -9 "$pid" 2>/dev/null
		rc=1
	fi
	wait "$pid" 2>/dev/null || {
		local st=$?
		# 127: not our child (started by another shell); no status
		if [ "$st" -ne 127 ]; then
			echo "df11fs exited with $st for '$mnt':" >&2
			cat "$mnt.log" >&2
			rc=1
		fi
	}
	rm -f "$mnt.pid"
	return "$rc"
}

# unmount_all - unmount every mount still recorded (teardown)
unmount_all() {
	local mnt rc=0
	[ -f "$BATS_FILE_TMPDIR/mounts" ] || return 0
	while read -r mnt; do
		[ -f "$mnt.pid" ] || continue
		unmount_df11fs "$mnt" || rc=1
	done <"$BATS_FILE_TMPDIR/mounts"
	return "$rc"
}

# ct_corrupt FILE - flip one bit in the middle of the largest stream of
# container FILE (coded weights, in practice)
ct_corrupt() {
	python3 - "$1" <<'EOF'
import json, struct, sys
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop("__metadata__", None)
s, e = max((t["data_offsets"] for t in h.values()), key=lambda r: r[1] - r[0])
b[8 + n + (s + e) // 2] ^= 0x10
open(path, "wb").write(b)
EOF
}

# check_reads MOUNTED ORIGINAL COUNT SEED - COUNT reads at random and
# at awkward places (header end, tensor edges, 1 MiB multiples, odd
# offsets, past the end) must equal the original's bytes
check_reads() {
	python3 - "$@" <<'EOF'
import json, os, random, struct, sys
mnt, org, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(org, "rb").read()
size = len(data)
n = struct.unpack("<Q", data[:8])[0]
edges = {0, 8, 8 + n, size}
for name, t in json.loads(data[8:8 + n]).items():
    if name != "__metadata__":
        edges.update(8 + n + o for o in t["data_offsets"])
edges.update(range(0, size, 1 << 20))
edges = sorted(edges)
rnd = random.Random(seed)
fd = os.open(mnt, os.O_RDONLY)
if os.fstat(fd).st_size != size:
    sys.exit("size %d, expected %d" % (os.fstat(fd).st_size, size))
for i in range(count):
    kind = i % 4
    if kind == 0:    # straddle an edge
        off = max(0, rnd.choice(edges) - rnd.randint(0, 4097))
        ln = rnd.randint(1, 3 << 20)
    elif kind == 1:  # start exactly on an edge
        off = rnd.choice(edges)
        ln = rnd.choice([1, 2, 7, 4096, 65536, 1 << 20, (1 << 20) + 3])
    elif kind == 2:  # odd offset, odd length
        off = rnd.randrange(0, size) | 1
        ln = rnd.randrange(1, 200000) | 1
    else:            # anywhere, may run past the end
        off = rnd.randrange(0, size + 100)
        ln = rnd.randint(1, 1 << 21)
    got = os.pread(fd, ln, off)
    if got != data[off:off + ln]:
        sys.exit("read %d: %d bytes at %d differ" % (i, ln, off))
os.close(fd)
EOF
}

# check_mmap MOUNTED ORIGINAL - the file read through mmap (whole, and in
# random slices) equals the original
check_mmap() {
	python3 - "$@" <<'EOF'
import mmap, random, sys
mnt, org = sys.argv[1], sys.argv[2]
data = open(org, "rb").read()
with open(mnt, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
    if len(m) != len(data):
        sys.exit("mmap length %d, expected %d" % (len(m), len(data)))
    rnd = random.Random(7)
    for _ in range(100):
        off = rnd.randrange(len(data))
        ln = rnd.randint(1, 300000)
        if m[off:off + ln] != data[off:off + ln]:
            sys.exit("mmap slice at %d differs" % off)
    if m[:] != data:
        sys.exit("mmap content differs")
EOF
}

# read_errno FILE - print the errno of reading FILE to the end (0: fine)
read_errno() {
	python3 - "$1" <<'EOF'
import sys
try:
    with open(sys.argv[1], "rb") as f:
        while f.read(1 << 20):
            pass
    print(0)
except OSError as e:
    print(e.errno)
EOF
}

# start_df11fs SRC MNT [DF11FS OPTIONS...] - start df11fs -f on MNT like
# mount_df11fs does (MNT.pid, MNT.log for stderr, recorded for teardown)
# but wait for nothing; its stdout goes to MNT.out
start_df11fs() {
	local src=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	"$DF11FS" -f "$@" "$src" "$mnt" </dev/null >"$mnt.out" 2>"$mnt.log" 3>&- &
	echo "$!" >"$mnt.pid"
	echo "$mnt" >>"$BATS_FILE_TMPDIR/mounts"
}

# root_attr MNT NAME - the value of user.df11.NAME on the mount's root
root_attr() {
	getfattr --absolute-names --only-values -n "user.df11.$2" "$1"
}
