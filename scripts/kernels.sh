#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Map kernel names to installed kernel releases, one per line.
#
#   scripts/kernels.sh 6.1 6.12          -> 6.1.0-50-amd64 6.12.95+deb12-amd64
#   scripts/kernels.sh 6.1.0-50-amd64    -> 6.1.0-50-amd64 (already a release)
#
# A series ("6.1") picks the newest installed release of that series that has
# both /boot/vmlinuz-<kver> (to boot) and /lib/modules/<kver>/build (to build
# the module against), PREEMPT_RT flavours excluded; "rt" picks the newest
# PREEMPT_RT one (Debian's linux-image-rt-amd64).  A name that resolves to
# nothing is an error, so that "make check KERNELS=6.2" fails loudly instead
# of silently testing less.
set -eu

status=0
for name in "$@"; do
	if [ -e "/boot/vmlinuz-$name" ]; then
		echo "$name"
		continue
	fi
	# "6.1" must not match 6.12: require the dot (6.1.x) or dash (6.1-rc).
	if [ "$name" = rt ]; then
		pick="s/^vmlinuz-\(.*-rt-amd64\)$/\1/p"
	else
		pick="/-rt-/d; s/^vmlinuz-\(${name}[.-].*\)$/\1/p"
	fi
	kver=$(ls -1 /boot 2>/dev/null | sed -n "$pick" |
		while read -r k; do
			[ -e "/lib/modules/$k/build/Makefile" ] && echo "$k"
		done | sort -V | tail -n 1)
	if [ -z "$kver" ]; then
		echo "kernels.sh: no installed kernel with headers for '$name'" \
			"(run scripts/deps.sh$([ "$name" = rt ] && echo ' --with-rt'))" >&2
		status=1
		continue
	fi
	echo "$kver"
done
exit $status
