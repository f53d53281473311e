#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the vactor selftests in order (busybox sh) and prints their KTAP
# output, then one summary line:
#
#   vactor-selftests: pass:N fail:N
#
# N counts test cases, from each program's "# Totals:" line; a program that
# dies before printing one counts as one failure.  Exit status non-zero if
# anything failed.
#
# The C tests need the module loaded: if it is not, /vactor.ko (or
# $VACTOR_KO) is loaded first.  modload.sh goes last: it unloads and reloads
# the module (and leaves it loaded if it found it so).
#
#   VACTOR_TESTS="ring names"   run only these C tests (modload.sh: "modload")
#   VACTOR_EXTRA_TESTS="faults fuzz"
#                               also these, before modload (make check-debug):
#                               faults: vactor_faults (needs fault injection);
#                               fuzz: vactor_fuzz, VACTOR_FUZZ_OPS operations
#                               (default 1000000), seed VACTOR_FUZZ_SEED
#                               (default: from the clock; printed either way)

DIR=$(cd "$(dirname "$0")" && pwd)
KO=${VACTOR_KO:-/vactor.ko}
TESTS=${VACTOR_TESTS:-"ring params names badinput backpressure perm msg batch uring exit usermem runtime ${VACTOR_EXTRA_TESTS:-} modload"}
TMP=${TMPDIR:-/tmp}/vactor-run.$$

pass=0
fail=0
mkdir -p "$TMP"

# Adds a program's "# Totals: pass:P fail:F ..." to the sums.
count() {
	log=$1 rc=$2
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		echo "# $3: no totals (exit status $rc): counted as one failure"
		fail=$((fail + 1))
		return
	fi
	set -- $totals
	pass=$((pass + $1))
	fail=$((fail + $2))
	if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then
		echo "# $3: exit status $rc with no failed case: counted as one failure"
		fail=$((fail + 1))
	fi
}

# Runs one program, its output live and logged; its exit status in $TMP/rc.
run_one() {
	name=$1
	shift
	echo "# selftests: vactor: $name"
	{ "$@" 2>&1; echo $? > "$TMP/rc"; } | tee "$TMP/log"
	count "$TMP/log" "$(cat "$TMP/rc")" "$name"
}

ensure_loaded() {
	[ -d /sys/module/vactor ] && return 0
	insmod "$KO" || { echo "# insmod $KO failed"; return 1; }
}

for t in $TESTS; do
	case $t in
	modload)
		run_one modload.sh sh "$DIR/modload.sh"
		;;
	faults | fuzz)
		if ! ensure_loaded; then
			echo "# selftests: vactor: vactor_$t: module not loaded"
			fail=$((fail + 1))
			continue
		fi
		if [ $t = faults ]; then
			run_one vactor_faults "$DIR/vactor_faults"
		else
			run_one vactor_fuzz "$DIR/vactor_fuzz" \
				-n "${VACTOR_FUZZ_OPS:-1000000}" \
				${VACTOR_FUZZ_SEED:+-s "$VACTOR_FUZZ_SEED"}
		fi
		;;
	*)
		if ! ensure_loaded; then
			echo "# selftests: vactor: ${t}_test: module not loaded"
			fail=$((fail + 1))
			continue
		fi
		if [ ! -x "$DIR/${t}_test" ]; then
			echo "# selftests: vactor: ${t}_test: missing"
			fail=$((fail + 1))
			continue
		fi
		run_one "${t}_test" "$DIR/${t}_test"
		;;
	esac
done

rm -rf "$TMP"
echo "vactor-selftests: pass:$pass fail:$fail"
[ $fail -eq 0 ]
