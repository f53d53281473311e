#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the reliability-tier kernel: Debian's linux-source-6.1 with KASAN,
# lockdep, kmemleak, UBSAN, KFENCE and fault injection, small enough to boot
# under qemu TCG (~1 min) and to build out-of-tree modules against.
#
#   scripts/debug-kernel.sh [TREE]
#
# TREE defaults to ~/.cache/vactor/debug-6.1/linux-source-6.1 (outside the
# repository: ~1.5 GB of sources and objects).  Prints the bzImage path last.
# A second run with the same options does nothing.  The first takes ~20 min
# on 2 cores; it runs under nice so that other work on the machine goes on.
set -euo pipefail

tar=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
cache=${VACT_CACHE:-${HOME:-/tmp}/.cache/vactor}
tree=${1:-$cache/debug-6.1/linux-source-6.1}
jobs=${JOBS:-$(nproc)}

# Options on top of defconfig + kvm_guest.config.  -e enables, -d disables.
# The disabled subsystems only cost build time: the VM has no display, sound,
# USB, wireless or firewall.
opts=(
	-e KASAN -e KASAN_GENERIC -e KASAN_INLINE
	-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_LIST
	-e DEBUG_KMEMLEAK -d DEBUG_KMEMLEAK_DEFAULT_OFF
	-e UBSAN -e KFENCE
	-e FAULT_INJECTION -e FAILSLAB -e FAIL_PAGE_ALLOC
	-e FAULT_INJECTION_DEBUG_FS -e DEBUG_FS
	-e DETECT_HUNG_TASK -e SOFTLOCKUP_DETECTOR -e KALLSYMS_ALL
	-e KUNIT -e IO_URING -e MEMCG -e IPC_NS -e PRINTK_TIME
	-e DEVTMPFS -e BLK_DEV_INITRD -e RD_GZIP -e MODULES -e MODULE_UNLOAD
	-d DRM -d SOUND -d USB_SUPPORT -d WLAN -d WIRELESS -d NETFILTER -d HID
)

say() { echo "debug-kernel: $*" >&2; }

if [ ! -f "$tree/Makefile" ]; then
	[ -f "$tar" ] || { say "$tar missing; run scripts/deps.sh"; exit 1; }
	say "extracting $tar"
	mkdir -p "$(dirname "$tree")"
	tar -xJf "$tar" -C "$(dirname "$tree")" --no-same-owner
fi
cd "$tree"

# Reconfigure only when the option list changed, so reruns are no-ops.
want=$(printf '%s\n' "${opts[@]}" | paste -sd' ')
if [ ! -f .config ] || [ "$(cat .vactor-opts 2>/dev/null)" != "$want" ]; then
	say "configuring"
	make -s defconfig
	make -s kvm_guest.config
	scripts/config "${opts[@]}"
	make -s olddefconfig
	echo "$want" > .vactor-opts
fi
for o in KASAN PROVE_LOCKING DEBUG_KMEMLEAK UBSAN; do
	grep -q "^CONFIG_$o=y" .config || { say "CONFIG_$o did not stick"; exit 1; }
done

img=arch/x86/boot/bzImage
if [ ! -f "$img" ] || [ .config -nt "$img" ] || [ ! -f Module.symvers ]; then
	say "building with $jobs jobs (about 20 min on 2 cores)"
	# "modules" too: it writes Module.symvers, which out-of-tree module
	# builds need to resolve and check symbols.
	nice -n 19 make -s -j"$jobs" bzImage modules
fi
echo "$tree/$img"
