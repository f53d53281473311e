#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vactor module load/unload test (busybox sh), KTAP output.
#
# Loads and unloads vactor.ko CYCLES times (default 100), using it in between
# with vactor_poke (ports, actors, messages held and dropped, dormant actors
# left behind), and checks:
#   - every load, use and unload succeeds;
#   - rmmod is refused while a port is open, and works once it is closed;
#   - the module's own slab caches are gone after each unload;
#   - nothing leaks: kmalloc-* active objects and free memory after the last
#     cycle match those after the first, within a slack (see below).
#
# Runs with the module NOT loaded (scripts/vm.sh with VM_NO_INSMOD=1); if it
# is loaded it is unloaded first and loaded again at the end.  The module is
# $VACTOR_KO (default /vactor.ko, where scripts/vm.sh puts it).

KO=${VACTOR_KO:-/vactor.ko}
CYCLES=${VACTOR_MODLOAD_CYCLES:-100}
DIR=$(cd "$(dirname "$0")" && pwd)
POKE=$DIR/vactor_poke
TMP=${TMPDIR:-/tmp}/vactor-modload.$$

# Slack for the kmalloc comparison, in objects.  SLUB counts every object
# of a CPU's current slab as active, so one allocation right after the
# shrink makes a whole slab (512 objects for kmalloc-8) look used: reads in a
# quiet guest swing by +-350.  The minimum of several reads strips most of
# that; what is left is well under the slack.  vactor_poke opens 32 ports
# per run, each with actors and messages, so a leak of one object per port,
# actor or message grows by at least 32 per cycle, over 3000 in 100 cycles.
# (A leak of one object per module load is below this noise: kmemleak on the
# debug kernel is the check for that.)
KMALLOC_SLACK=1024
# Free-memory slack in kB.  Each poke maps ~5 MB of ring and area pages
# per cycle; leaking them would cost ~500 MB over 100 cycles.  Page-cache and
# per-CPU list noise in an initramfs guest stays far below 32 MB.
MEMFREE_SLACK_KB=32768

PLAN=8
n=0
pass=0
fail=0

ok() {
	n=$((n + 1))
	pass=$((pass + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
}

# result STATUS NAME: ok when STATUS is 0.
result() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}

loaded() {
	[ -d /sys/module/vactor ]
}

# Empties the CPU slabs of every kmalloc cache so active counts are exact.
shrink_kmalloc() {
	for f in /sys/kernel/slab/kmalloc-*/shrink; do
		[ -w "$f" ] && echo 1 > "$f"
	done 2>/dev/null
}

# Active kmalloc objects: the smallest of 5 reads (see KMALLOC_SLACK).
kmalloc_active() {
	min=
	for r in 1 2 3 4 5; do
		shrink_kmalloc
		v=$(awk '/^kmalloc-/ { s += $2 } END { print s + 0 }' /proc/slabinfo)
		[ -z "$min" ] || [ "$v" -lt "$min" ] && min=$v
	done
	echo "$min"
}

kmalloc_by_cache() {
	awk '/^kmalloc-/ { print $1, $2 }' /proc/slabinfo
}

memfree_kb() {
	awk '/^MemFree:/ { print $2 }' /proc/meminfo
}

# The module's own caches (vactor_actor, vactor_msg, ...) that exist as
# caches: slabinfo lines and sysfs directories.  A cache SLUB merged into
# another has only a symlink under /sys/kernel/slab, which SLUB never removes
# on destroy (the next create of that name replaces it): not counted.
vactor_caches() {
	{
		awk '/^vactor/ { print $1 }' /proc/slabinfo
		for d in /sys/kernel/slab/vactor*; do
			[ -d "$d" ] && [ ! -L "$d" ] && echo "$d"
		done
	} | tr '\n' ' '
}

# All of them, merged ones too: what the module created while loaded.
vactor_cache_names() {
	ls -d /sys/kernel/slab/vactor* 2>/dev/null | tr '\n' ' '
}

unload_quietly() {
	loaded && rmmod vactor
	! loaded
}

was_loaded=0
loaded && was_loaded=1

echo "TAP version 13"
echo "1..$PLAN"
mkdir -p "$TMP"

# 1: the module loads and gives /dev/vactor.
unload_quietly
if [ ! -f "$KO" ]; then
	echo "# $KO: no such file"
	not_ok "insmod"
elif insmod "$KO" && [ -c /dev/vactor ]; then
	ok "insmod"
else
	not_ok "insmod"
fi

# 2: one use of every object kind.
if loaded && "$POKE"; then ok "poke"; else not_ok "poke"; fi

# 3, 4: rmmod refused while a port is open (held by a helper that says when
# it has the port, through a fifo); allowed once the helper closes it.
mkfifo "$TMP/ready" "$TMP/release"
"$POKE" hold "$TMP/ready" "$TMP/release" &
holder=$!
read -r line < "$TMP/ready"
if [ "$line" = ready ] && ! rmmod vactor 2>/dev/null && loaded; then
	ok "rmmod refused while a port is open"
else
	echo "# holder said '$line'"
	not_ok "rmmod refused while a port is open"
fi
# Opening the fifo for writing and closing it is the helper's end of file.
: > "$TMP/release"
wait $holder
holder_status=$?
if [ $holder_status -eq 0 ] && rmmod vactor && ! loaded; then
	ok "rmmod after the port is closed"
else
	echo "# holder exit status $holder_status"
	not_ok "rmmod after the port is closed"
fi

# 5-8: load, use, unload CYCLES times; measure after the first and the last.
cycles_ok=0
caches_ok=0
first_kmalloc=0
first_memfree=0
i=1
while [ $i -le "$CYCLES" ]; do
	if ! insmod "$KO"; then
		echo "# cycle $i: insmod failed"
		break
	fi
	if ! "$POKE"; then
		echo "# cycle $i: poke failed"
		break
	fi
	[ $i -eq 1 ] && loaded_caches=$(vactor_cache_names)
	if ! rmmod vactor || loaded; then
		echo "# cycle $i: rmmod failed"
		break
	fi
	left=$(vactor_caches)
	if [ -n "$left" ]; then
		echo "# cycle $i: caches left after unload: $left"
		caches_ok=1
	fi
	if [ $i -eq 1 ]; then
		echo "# caches while loaded: ${loaded_caches:-none of its own}"
		first_kmalloc=$(kmalloc_active)
		kmalloc_by_cache > "$TMP/kmalloc.first"
		first_memfree=$(memfree_kb)
	fi
	i=$((i + 1))
done
[ $i -gt "$CYCLES" ] || cycles_ok=1
result $cycles_ok "$CYCLES load/use/unload cycles"
if [ $cycles_ok -eq 0 ]; then
	result $caches_ok "module caches gone after every unload"
else
	not_ok "module caches gone after every unload"
fi

if [ $cycles_ok -eq 0 ]; then
	last_kmalloc=$(kmalloc_active)
	kmalloc_by_cache > "$TMP/kmalloc.last"
	grow=$((last_kmalloc - first_kmalloc))
	echo "# kmalloc active objects: $first_kmalloc after cycle 1, $last_kmalloc after cycle $CYCLES ($grow, slack $KMALLOC_SLACK)"
	# Which caches changed, to name the leaking size if there is one.
	awk 'NR == FNR { first[$1] = $2; next }
	     $2 != first[$1] { printf "#   %s %+d\n", $1, $2 - first[$1] }' \
		"$TMP/kmalloc.first" "$TMP/kmalloc.last"
	result $([ $grow -lt $KMALLOC_SLACK ]; echo $?) "no kmalloc growth over $CYCLES cycles"
	last_memfree=$(memfree_kb)
	lost=$((first_memfree - last_memfree))
	echo "# MemFree: ${first_memfree} kB after cycle 1, ${last_memfree} kB after cycle $CYCLES (lost $lost kB, slack $MEMFREE_SLACK_KB)"
	result $([ $lost -lt $MEMFREE_SLACK_KB ]; echo $?) "no page loss over $CYCLES cycles"
else
	not_ok "no kmalloc growth over $CYCLES cycles"
	not_ok "no page loss over $CYCLES cycles"
fi

rm -rf "$TMP"
[ $was_loaded -eq 1 ] && ! loaded && insmod "$KO"

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
