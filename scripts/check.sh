#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the selftests in one VM per kernel and add up the results.
#
#   scripts/check.sh KVER...        (make check does the building first)
#   scripts/check.sh debug=/path/to/bzImage
#
# The module comes from build/kmod-<KVER or NAME>/kmod/vactor.ko.
#
# Each kselftest-harness binary prints
#   # Totals: pass:N fail:N xfail:N xpass:N skip:N error:N
# Counted as passed: pass + xfail.  As failed: fail + xpass + skip + error;
# a skipped test is not a passed one.  A program that dies without its
# totals counts as one failure (selftests/run.sh's summary line says so).
# A VM run also adds one failure when the kernel logged a report, the guest
# did not finish, the module did not load or unload, no test reported at
# all, or the run failed without any test saying so.
#
# The last line printed is "N passed, N failed" over all kernels (also in
# build/check-summary.txt); exit status 1 unless everything passed.
#
# Environment: CHECK_CMD (default: cd /selftests && sh ./run.sh),
# CHECK_CMD_<NAME> for one kernel (NAME as in build/kmod-NAME, characters
# other than letters, digits and _ as _), and the VM_* variables of
# scripts/vm.sh.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
cmd=${CHECK_CMD:-cd /selftests && sh ./run.sh}
[ $# -gt 0 ] || { echo "usage: $0 KVER..." >&2; exit 2; }

total_pass=0 total_fail=0 bad=0 lines=()
for arg in "$@"; do
	kver=${arg%%=*}		# a name for logs and the module's build dir
	kernel=${arg#*=}	# what vm.sh boots
	ko=$build/kmod-$kver/kmod/vactor.ko
	log=$build/check-$kver.log
	# A kernel's own command, if any: CHECK_CMD_debug, CHECK_CMD_rt, ...
	var=CHECK_CMD_${kver//[^A-Za-z0-9_]/_}
	kcmd=${!var:-$cmd}
	echo "=== check on $kver"
	VM_LOG=$build/vm/check-$kver.serial.log \
		"$root/scripts/vm.sh" "$kernel" "$ko" "$kcmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	# Sum the harness's totals lines (run.sh may indent them with "# ").
	# selftests/run.sh also ends with "vactor-selftests: pass:N fail:N",
	# whose fail count includes programs that died before their totals; when
	# it is there, its counts stand in for the plain pass/fail sums.
	read -r pass fail nres < <(awk '
		function field(k,   r) {
			if (!match($0, k ":[0-9]+"))
				return 0
			return substr($0, RSTART + length(k) + 1) + 0
		}
		/# Totals: pass:[0-9]+/ {
			p += field("pass"); f += field("fail")
			other += field("xpass") + field("skip") + field("error")
			xf += field("xfail"); n++
		}
		/^vactor-selftests: pass:[0-9]+ fail:[0-9]+/ {
			rp = field("pass"); rf = field("fail"); have = 1
		}
		END {
			if (have) { p = rp; f = rf; if (n == 0) n = 1 }
			print p + xf, f + other, n + 0
		}' "$log")

	why=()
	grep -q '^vm: KERNEL REPORT' "$log" && why+=("kernel report in dmesg")
	grep -qE '^vm: (TIMEOUT|.* did not finish)' "$log" && why+=("VM did not finish")
	grep -qE '^vm: (insmod|rmmod) .* failed' "$log" && why+=("module load/unload failed")
	[ "$nres" = 0 ] && why+=("no test results")
	if [ ${#why[@]} = 0 ] && [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
		why+=("run failed (exit status $rc)")
	fi
	fail=$((fail + ${#why[@]}))
	[ "$rc" != 0 ] && bad=1

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	line="$kver: $pass passed, $fail failed"
	[ ${#why[@]} -gt 0 ] && line+=" ($(IFS=';'; echo "${why[*]}" | sed 's/;/; /g'))"
	lines+=("$line")
done

echo "=== summary"
printf '%s\n' "${lines[@]}"
summary="$total_pass passed, $total_fail failed"
echo "$summary" > "$build/check-summary.txt"
echo "$summary"
[ "$total_fail" = 0 ] && [ $bad = 0 ]
