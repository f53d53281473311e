#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a Debian kernel under qemu with a busybox initramfs, load a module, run
# one command inside and report how it went.  This host cannot load modules,
# so every test of vactor.ko runs this way.
#
#   scripts/vm.sh KERNEL MODULE COMMAND...
#
#   KERNEL   a release under /boot ("6.1.0-50-amd64"), a series resolved by
#            scripts/kernels.sh ("6.1", "6.12"), or a path to a bzImage
#            (e.g. a debug kernel built from linux-source-6.1).
#   MODULE   the .ko to copy to /<name>.ko in the guest and insmod before the
#            command; "-" for none.
#   COMMAND  run inside by /bin/sh (the words are joined with spaces), cwd /.
#
# Guest layout: busybox in /bin; build/selftests/* and selftests/*.sh in
# /selftests, build/examples/* in /examples, build/bench/* in /bench (all
# three on PATH); libvact.so* in /lib (LD_LIBRARY_PATH=/lib); the shared
# libraries those binaries need (found with ldd) at their host paths.
# Mounted: /proc /sys /dev (devtmpfs) /dev/pts /dev/shm /tmp debugfs tracefs.
#
# Environment:
#   VM_NO_INSMOD=1     copy the module in but do not load it (load/unload tests)
#   VM_NO_RMMOD=1      do not unload the module after the command
#   VM_TIMEOUT=1200    host-side limit in seconds; qemu is killed past it
#   VM_BOOT_TIMEOUT=120  limit for reaching init; past it, one more boot
#   VM_MEM=2G VM_SMP=2 guest size
#   VM_APPEND=...      extra kernel command line
#   VM_QEMU_EXTRA=...  extra qemu arguments (e.g. "-cpu max")
#   VM_FILES="a b:/c"  extra host files to copy in (src, or src:guest-path)
#   VM_LOG=path        full serial log (default build/vm/<kver>.log)
#   VM_SHOW_DMESG=1    print the guest's dmesg even when it is clean
#   VM_REPORT_IGNORE=  extended regex of kernel lines not to count as reports
#
# Exit status: the command's; 1 if the module failed to load or unload, the
# kernel logged a report (WARNING, BUG, Oops, lockdep, hung task, RCU stall,
# KASAN, UBSAN, kmemleak, ...) after the module was loaded, or the guest did
# not finish (panic, crash); 124 when the timeout fired.  A boot that
# crashes or hangs before init runs (nothing of ours loaded yet) is retried
# once.  The full serial log stays in build/vm/.
set -euo pipefail

die() { echo "vm: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: $0 KERNEL MODULE|- COMMAND..."
kernel=$1 module=$2
shift 2
cmd="$*"

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build

# Resolve the kernel image and a name for logs.
if [ -f "$kernel" ]; then
	image=$kernel
	kname=$(basename "$kernel")
else
	kname=$("$root/scripts/kernels.sh" "$kernel") || exit 1
	image=/boot/vmlinuz-$kname
fi
[ -r "$image" ] || die "cannot read $image (run as root? Debian's /boot/vmlinuz-* is 0600)"
modname=none
if [ "$module" != - ]; then
	[ -f "$module" ] || die "no module $module (build it first)"
	modname=$(basename "$module" .ko)
fi

timeout_s=${VM_TIMEOUT:-1200}
mkdir -p "$build/vm"
# Runs may overlap (other kernels, other users of the tree): each logs to
# its own file, renamed to the stable name when it ends.
log_name=${VM_LOG:-$build/vm/$kname.log}
log=$(mktemp "$build/vm/.$kname.XXXXXX.log")
chmod 644 "$log"
stage=$(mktemp -d "$build/vm/stage.XXXXXX")
# mktemp makes it 0700 and cpio keeps that for the guest's /: other
# uids (the permission tests) must be able to reach /dev.
chmod 755 "$stage"
cpio=$stage.cpio.gz
pidfile=$stage.qemu.pid

# Kill the guest when we are interrupted or killed: timeout(1) would
# otherwise leave it running until the time limit.
kill_qemu() {
	[ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
	return 0
}
cleanup() {
	kill_qemu
	rm -rf "$stage" "$cpio" "$pidfile"
	[ -f "$log" ] && mv -f "$log" "$log_name"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A marker nobody's output can produce by accident: the guest prints it in
# front of every status line the host parses.
mark="@@vm-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')@@"

# --- initramfs contents ---------------------------------------------------
mkdir -p "$stage"/{bin,sbin,lib,lib64,usr/bin,usr/lib,proc,sys,dev,tmp,root} \
	 "$stage"/{selftests,examples,bench,tools,etc}
cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"

# copy_into GUEST_DIR FILE...: regular files only, keeping modes; the
# executables are remembered for the library scan below.
elfs=()
copy_into() {
	local dest=$1 f
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		cp -p "$f" "$stage$dest/"
		[ -x "$f" ] && elfs+=("$f")
	done
	return 0
}
copy_into /selftests "$build"/selftests/* "$root"/selftests/*.sh
copy_into /examples "$build"/examples/*
copy_into /bench "$build"/bench/*
copy_into /tools "$build"/tools/*
# libvact: the real file plus its soname/dev symlinks.
for f in "$build"/libvact.so*; do
	[ -e "$f" ] && cp -P "$f" "$stage/lib/"
done
for spec in ${VM_FILES:-}; do
	src=${spec%%:*}
	dst=${spec#*:}
	[ "$dst" = "$spec" ] && dst=/$(basename "$src")
	mkdir -p "$stage$(dirname "$dst")"
	cp -p "$src" "$stage$dst"
	[ -x "$src" ] && elfs+=("$src")
done

# Shared libraries: whatever ldd resolves (glibc, the loader, liburing), at
# the same path, so the guest's loader finds them without an ld.so.cache.
# glibc dlopens libgcc_s for pthread_cancel/pthread_exit unwinding, which ldd
# cannot see, so it goes in too.
libs=$(for f in "${elfs[@]}"; do
		LD_LIBRARY_PATH=$build ldd "$f" 2>/dev/null || true
	done | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
libgcc=$(gcc -print-file-name=libgcc_s.so.1 2>/dev/null || true)
for lib in $libs $libgcc; do
	[ -e "$lib" ] || continue
	case $lib in "$build"/*) continue ;; esac	# libvact: already in /lib
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
missing=$(for f in "${elfs[@]}"; do
		LD_LIBRARY_PATH=$build ldd "$f" 2>/dev/null || true
	done | awk '/not found/ {print $1}' | sort -u)
[ -z "$missing" ] || die "libraries not found: $missing"

insmod=0
if [ "$module" != - ]; then
	cp "$module" "$stage/$modname.ko"
	[ "${VM_NO_INSMOD:-0}" = 1 ] || insmod=1
fi
rmmod=1
[ "${VM_NO_RMMOD:-0}" = 1 ] && rmmod=0

printf '%s\n' "$cmd" > "$stage/vm-cmd"

# The guest's PID 1.  Every line the host parses starts with $mark.
cat > "$stage/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/selftests:/examples:/bench:/tools:/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ip link set lo up 2>/dev/null
M='$mark'
# Kernel lines before this one are boot noise, not ours to judge.
echo "\$M start" > /dev/kmsg
# The BIOS leaves its last line unterminated: start ours on a fresh one.
printf '\n%s start\n' "\$M"
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Debug kernels: forget what boot left unreferenced, so that only leaks
	# from here on are reported.  kmemleak ignores objects younger than 5 s
	# and flags a new one only on its second scan.
	sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
fi
rc=0
if [ $insmod = 1 ]; then
	insmod /$modname.ko || { rc=\$?; echo "\$M insmod-failed"; }
fi
if [ \$rc = 0 ]; then
	echo "\$M begin"
	cd /
	sh /vm-cmd
	rc=\$?
	echo "\$M end"
	# Unloading after the run catches leaked references and exit-path bugs.
	if [ $rmmod = 1 ] && grep -q "^$modname " /proc/modules; then
		rmmod $modname || echo "\$M rmmod-failed"
	fi
fi
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Debug kernels: the same two scans, once the last objects are 5 s old.
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > /tmp/kmemleak
fi
echo "\$M dmesg-begin"
dmesg
cat /tmp/kmemleak 2>/dev/null
echo "\$M dmesg-end"
echo "\$M exit=\$rc"
# The UART drains asynchronously; give the last lines time to reach the host.
sleep 0.3
poweroff -f
EOF
chmod +x "$stage/init"

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet --owner=0:0) |
	gzip -1 > "$cpio"

# --- boot -------------------------------------------------------------------
# tsc=reliable: TCG derives every vCPU's TSC from the one host clock, so the
# guest's TSC sync check is a false alarm; without it 6.1 falls back to the
# HPET, where each clock read is an emulated MMIO access and clock_gettime()
# leaves the vDSO for a syscall, which skews timeouts and benchmarks.
# no_timer_check: skip the IO-APIC timer IRQ probe, which times a few ticks
# with busy loops and goes astray when a loaded host starves the vCPUs (as
# KVM guests do by default).
append="console=ttyS0 quiet panic=-1 printk.time=1 tsc=reliable no_timer_check"
append+=" ${VM_APPEND:-}"
# shellcheck disable=SC2054,SC2206 # commas are qemu's; VM_QEMU_EXTRA splits
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -smp "${VM_SMP:-2}"
      -m "${VM_MEM:-2G}" -kernel "$image" -initrd "$cpio" -append "$append"
      -nographic -no-reboot -net none ${VM_QEMU_EXTRA:-})
[ -e /dev/kvm ] && [ -w /dev/kvm ] && qemu[1]=kvm:tcg	# fall back to TCG

qemu+=(-pidfile "$pidfile")
boot_timeout=${VM_BOOT_TIMEOUT:-120}

# Boots once.  Streams the serial console from the guest's start line on,
# minus the dmesg dump and the markers, while logging all of it (boot noise
# included).  mawk reads a pipe in blocks: a quiet guest's start line would
# sit in its buffer until the end, so it runs with -W interactive (lines in,
# unbuffered out); other awks get fflush().  Meanwhile it
# watches for the start line: a guest that has not reached it within
# $boot_timeout seconds is killed (qemu under TCG very rarely hangs before
# printing anything).  Returns qemu's status, 124 for the time limit, 125
# for a boot that hung.
awk_live=(awk)
awk -W version 2>/dev/null | grep -q mawk && awk_live+=(-W interactive)
boot() {
	: > "$log"
	rm -f "$pidfile"
	# --foreground: stay in our process group, so that ^C reaches qemu.
	timeout --foreground -k 5 "$timeout_s" "${qemu[@]}" < /dev/null 2>&1 |
		"${awk_live[@]}" -v mark="$mark" -v logf="$log" '
		# Drop CRs and the BIOS'"'"'s terminal escapes so markers start lines.
		{ sub(/\r$/, ""); gsub(/\033(\[[0-9;?]*[A-Za-z]|c)/, "")
		  print > logf; fflush(logf) }
		index($0, mark " dmesg-begin") == 1 { dm = 1 }
		!dm && index($0, mark " start") { on = 1 }
		on && !dm && index($0, mark) != 1 { print; fflush() }
		index($0, mark " dmesg-end") == 1 { dm = 0; on = 0 }' &
	local pid=$! t0=$SECONDS hung=0
	# Unanchored, as awk matches it: a kernel line can share its start.
	while kill -0 "$pid" 2>/dev/null && ! grep -aqF "$mark start" "$log"; do
		if [ $((SECONDS - t0)) -ge "$boot_timeout" ]; then
			hung=1
			kill_qemu
			break
		fi
		sleep 0.5
	done
	wait "$pid"	# with pipefail: qemu's status unless awk failed
	local rc=$?
	[ $hung = 1 ] && return 125
	return $rc
}

start=$(date +%s)
for try in 1 2; do
	echo "vm: booting $kname ($(basename "$image")), timeout ${timeout_s}s" >&2
	set +e
	boot
	qstatus=$?
	set -e
	[ "$qstatus" = 125 ] &&
		echo "vm: $kname did not reach init within ${boot_timeout}s" >&2
	# A crash or hang before our init's first line cannot be the module's
	# doing (it is not loaded yet).  Under TCG on a loaded host the stock
	# kernels very rarely oops while patching their own text at boot, and
	# qemu very rarely hangs at start; boot once more.
	if [ "$try" = 1 ] && [ "$qstatus" != 124 ] && [ "$qstatus" != 137 ] &&
	   ! grep -aqF "$mark start" "$log"; then
		echo "vm: $kname failed before init ran; log kept as $log_name.boot-crash; retrying once" >&2
		grep -a -m 3 -E 'Oops|BUG|panic' "$log" | sed 's/^/vm:   /' >&2 || true
		cp "$log" "$log_name.boot-crash"
		continue
	fi
	break
done
elapsed=$(( $(date +%s) - start ))

# --- verdict ----------------------------------------------------------------
fail=0
status=$(sed -n "s/^${mark} exit=\([0-9]*\)$/\1/p" "$log" 2>/dev/null | tail -n 1)
if [ "$qstatus" = 124 ] || [ "$qstatus" = 137 ]; then
	echo "vm: TIMEOUT: $kname did not finish within ${timeout_s}s; last lines:" >&2
	grep -av "^$mark" "$log" | tail -n 20 >&2
	exit 124
fi
if [ -z "$status" ]; then
	echo "vm: $kname did not finish (kernel panic or crash, qemu status $qstatus); last lines:" >&2
	grep -av "^$mark" "$log" | tail -n 30 >&2
	status=1
	fail=1
fi
grep -aq "^$mark insmod-failed" "$log" && { echo "vm: insmod $modname failed" >&2; fail=1; }
grep -aq "^$mark rmmod-failed" "$log" && { echo "vm: rmmod $modname failed" >&2; fail=1; }

# Kernel reports: dmesg lines after our start line, plus timestamped console
# lines after it (the only trace of a panic).  The command's own output is
# not scanned, so a test printing "WARNING:" cannot fail the run.
reports='WARNING:|BUG:|Oops|general protection fault|Call Trace|KASAN|UBSAN|'
reports+='kmemleak: .*suspected memory leak|unreferenced object|'
reports+='possible circular locking|possible recursive locking|'
reports+='inconsistent lock state|lockdep|DEBUG_LOCKS_WARN_ON|'
reports+='INFO: task .* blocked|hung_task|RCU stall|detected stalls|'
reports+='soft lockup|hard LOCKUP|Kernel panic|refcount_t:|list_(add|del) corruption|'
reports+='sleeping function called from invalid context|KFENCE:|kernel BUG'
# Console lines with a printk timestamp, outside the dmesg dump.
tslines=$(awk -v mark="$mark" '
	index($0, mark " start") { on = 1; next }
	index($0, mark " dmesg-begin") == 1 { dm = 1; next }
	index($0, mark " dmesg-end") == 1 { dm = 0; next }
	on && !dm && /\[ *[0-9]+\.[0-9]+\]/ { print }' "$log")
# The dmesg dump, from the start line the guest wrote to /dev/kmsg on.
dmesg_ours=$(awk -v mark="$mark" '
	index($0, mark " dmesg-begin") == 1 { dm = 1; next }
	index($0, mark " dmesg-end") == 1 { dm = 0; next }
	dm && index($0, mark " start") { seen = 1; next }
	dm && seen { print }' "$log")
found=$(printf '%s\n%s\n' "$tslines" "$dmesg_ours" | grep -aE "$reports" |
	{ if [ -n "${VM_REPORT_IGNORE:-}" ]; then grep -avE "$VM_REPORT_IGNORE"; else cat; fi } |
	sort -u || true)
if [ -n "$found" ]; then
	echo "vm: KERNEL REPORT on $kname:" >&2
	printf '%s\n' "$found" | sed 's/^/vm:   /' >&2
	if [ -n "$dmesg_ours" ]; then
		echo "vm: guest dmesg since the module load follows" >&2
		printf '%s\n' "$dmesg_ours" >&2
	fi
	echo "vm: full serial log: $log_name" >&2
	fail=1
elif [ "${VM_SHOW_DMESG:-0}" = 1 ]; then
	printf '%s\n' "$dmesg_ours"
fi

cmd_status=$status
[ $fail = 1 ] && [ "$status" = 0 ] && status=1
echo "vm: $kname: exit status $status (command: $cmd_status), ${elapsed}s" >&2
exit "$status"
