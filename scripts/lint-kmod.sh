#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the module with W=1 and sparse (C=2: every file, not only the ones
# recompiled) against each given kernel, in build/lint-<kver>/, and fail on
# any compiler, sparse or modpost diagnostic.  Both kernels, because APIs
# drift between them (and Debian backports some changes into 6.1).
#
#   scripts/lint-kmod.sh KVER...
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v sparse >/dev/null; then
	echo "lint: sparse missing; run scripts/deps.sh" >&2
	exit 1
fi

status=0
for kver in "$@"; do
	dir=$root/build/lint-$kver
	log=$dir.log
	rm -rf "$dir"
	mkdir -p "$dir/kmod"
	cp "$root/Kbuild" "$dir/"
	(cd "$root/kmod" && find . -type f \
		\( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) \
		! -name '*.mod.c' -exec cp --parents {} "$dir/kmod/" \;)
	# -s: only diagnostics reach the log, not the "CC" lines.
	make -s -C "/lib/modules/$kver/build" M="$dir" W=1 C=2 modules > "$log" 2>&1
	rc=$?
	# "Skipping BTF generation" is kbuild's note that the headers package
	# has no vmlinux, not a problem with our code.
	diags=$(grep -v '^Skipping BTF generation' "$log" |
		grep -E 'warning:|error:|WARNING:|ERROR:' || true)
	if [ $rc != 0 ] || [ -n "$diags" ]; then
		echo "lint: $kver: W=1 C=2 build is not clean:" >&2
		grep -v "^Skipping BTF generation" "$log" | sed "s|$dir/||g" >&2
		status=1
	else
		echo "lint: $kver: W=1 + sparse clean"
	fi
done
exit $status
