#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing vactor needs, from Debian packages only.
# Idempotent: a second run with everything present does nothing.  The
# bookworm-backports suite (for the 6.12 LTS kernel) is added with the same
# archive URI that the machine's own apt sources already use.
#
#   scripts/deps.sh            build + VM test dependencies
#   scripts/deps.sh --with-rt  also Debian's PREEMPT_RT 6.1 kernel (check-debug)
#   scripts/deps.sh --check    exit 1 (with a message) if anything is missing
#                              (with --with-rt too: --check --with-rt)
set -euo pipefail

base_pkgs=(build-essential bc bison flex libelf-dev libssl-dev pkg-config cpio
	   qemu-system-x86 busybox-static liburing-dev sparse linux-source-6.1
	   xz-utils kmod perl)

say() { printf 'deps: %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		say "missing: $*"
		say "run 'sudo scripts/deps.sh' (installing Debian packages needs root)"
		exit 1
	fi
}

apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return
	need_root "$@"
	DEBIAN_FRONTEND=noninteractive apt-get -qq update
	apt_updated=1
}

apt_install() {
	apt_update "$@"
	# No recommends: initramfs-tools would regenerate a Debian initramfs we never
	# boot (the VM uses our own busybox initramfs), costing minutes per kernel.
	DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends "$@" >/dev/null
}

# Adds bookworm-backports next to the existing Debian entry, reusing its URI.
ensure_backports() {
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return
	fi
	need_root bookworm-backports
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
	if [ -z "$uri" ]; then
		uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
	fi
	[ -n "$uri" ] || { say "cannot find the Debian archive URI in apt sources"; exit 1; }
	cat > /etc/apt/sources.list.d/vactor-backports.sources <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt_updated=0
}

# Prints the versioned image package that the suite's metapackage (default
# linux-image-amd64) names.
kernel_pkg_for() {
	local suite=$1 meta=${2:-linux-image-amd64}
	apt-cache depends -t "$suite" "$meta" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

missing=()
for p in "${base_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

check_only=0 with_rt=0
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	--with-rt) with_rt=1 ;;
	*) say "unknown argument $arg"; exit 2 ;;
	esac
done

# Kernels: present when vmlinuz and the kbuild tree exist for a version of the
# suite's series (6.1 from bookworm, 6.12 from backports; "rt": PREEMPT_RT).
have_kernel() {
	local series=$1 k
	for k in /boot/vmlinuz-"$series".*-amd64; do
		[ -e "$k" ] || continue
		k=${k#/boot/vmlinuz-}
		case $k in *-rt-amd64) [ "${2:-}" = rt ] || continue ;; *) [ "${2:-}" = rt ] && continue ;; esac
		[ -e "/lib/modules/$k/build/Makefile" ] && return 0
	done
	return 1
}
# Each wanted kernel as suite:metapackage.
want_kernels=()
have_kernel 6.1 || want_kernels+=(bookworm:linux-image-amd64)
have_kernel 6.12 || want_kernels+=(bookworm-backports:linux-image-amd64)
[ $with_rt = 1 ] && ! have_kernel 6.1 rt && want_kernels+=(bookworm:linux-image-rt-amd64)

if [ ${#missing[@]} -eq 0 ] && [ ${#want_kernels[@]} -eq 0 ]; then
	exit 0
fi
if [ $check_only -eq 1 ]; then
	say "missing: ${missing[*]} ${want_kernels[*]/#/kernel from }"
	exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	apt_install "${missing[@]}"
fi
for want in "${want_kernels[@]}"; do
	suite=${want%%:*} meta=${want#*:}
	[ "$suite" = bookworm-backports ] && ensure_backports
	apt_update "kernel from $suite"
	img=$(kernel_pkg_for "$suite" "$meta")
	[ -n "$img" ] || { say "no $meta in $suite"; exit 1; }
	hdr=${img/linux-image-/linux-headers-}
	say "installing $img $hdr ($suite)"
	apt_install -t "$suite" "$img" "$hdr"
done
