#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/mkhub.sh - lay out a model directory as a Hugging Face hub cache repo
#
# usage: mkhub.sh HUB ORG--NAME MODELDIR [REV]
#
# Adds revision REV (40 hex digits; default: the sha1 of MODELDIR's file
# sums) of repository ORG--NAME to hub cache HUB the way huggingface_hub
# writes it:
#
#   HUB/models--ORG--NAME/blobs/<sha256 of the file>
#   HUB/models--ORG--NAME/snapshots/REV/<path> -> ../../blobs/<sha256>
#   HUB/models--ORG--NAME/refs/main            REV, no newline
#
# Every file of MODELDIR becomes one blob named by its sha256 (equal files,
# and files equal to another revision's, share a blob); each snapshot path
# is a relative link, one more "../" per subdirectory. Calling it again
# with another REV adds a revision and moves refs/main to it.
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: mkhub.sh HUB ORG--NAME MODELDIR [REV]" >&2
	exit 2
fi
hub=$1 repo=$hub/models--$2 model=$3
rev=${4:-$(cd "$model" && find . -type f -print0 | sort -z |
	xargs -0 sha256sum | sha1sum | cut -c1-40)}

mkdir -p "$repo/blobs" "$repo/refs" "$repo/snapshots/$rev"
(cd "$model" && find . -type f -print0 | sort -z) |
	while IFS= read -r -d '' f; do
		f=${f#./}
		sum=$(sha256sum "$model/$f" | cut -d' ' -f1)
		[ -e "$repo/blobs/$sum" ] || cp -p "$model/$f" "$repo/blobs/$sum"
		up=../..
		d=$(dirname "$f")
		while [ "$d" != . ]; do
			up=../$up
			d=$(dirname "$d")
		done
		mkdir -p "$(dirname "$repo/snapshots/$rev/$f")"
		ln -sfn "$up/blobs/$sum" "$repo/snapshots/$rev/$f"
	done
printf '%s' "$rev" >"$repo/refs/main"
echo "$rev"
