# SPDX-License-Identifier: GPL-2.0
#
# vactor: top-level build.  `make help` lists the targets.
#
# The kernel module is built by kbuild (the top-level Kbuild file says
# "obj-m += kmod/"), everything else by the rules below.  Userspace outputs go
# to build/; nothing generated lands in the source tree except kbuild's own
# objects in kmod/ for the host build (`make module`).

VACT_VERSION	:= 0.3.0
VACT_SOVERSION	:= 0

PREFIX		?= /usr/local
LIBDIR		?= $(PREFIX)/lib
BINDIR		?= $(PREFIX)/bin
INCLUDEDIR	?= $(PREFIX)/include
# udev reads rules from here whatever PREFIX is.
UDEVDIR		?= /lib/udev/rules.d
DESTDIR		?=

BUILD		:= build
KMOD_NAME	:= vactor
# Where kbuild leaves the module, relative to the directory given as M=.
KMOD_KO		:= kmod/$(KMOD_NAME).ko

# Kernel tree for the host build: the running kernel's if its headers are
# installed, else the Debian 6.1 kernel the VM boots (this host's own kernel
# has no headers and cannot load modules anyway).
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(patsubst %,/lib/modules/%/build,$(shell scripts/kernels.sh 6.1 2>/dev/null)))
# Its release, for install-module: the /lib/modules directory name when KDIR
# is one (Debian's kernel.release file says "6.1.176", not "6.1.0-50-amd64").
KREL = $(if $(filter /lib/modules/%/build,$(KDIR)), \
	$(patsubst /lib/modules/%/build,%,$(KDIR)), \
	$(or $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null), \
	     $(shell uname -r)))

# Kernels the VM targets use, by series or full release: make check KERNELS=6.1
KERNELS		?= 6.1 6.12
DEMO_KERNEL	?= 6.1
BENCH_KERNEL	?= 6.1
kver_of		= $(shell scripts/kernels.sh $(1) 2>/dev/null)
# "debug" in KERNELS names the debug kernel below (make check KERNELS=debug),
# "rt" Debian's PREEMPT_RT 6.1 kernel (scripts/deps.sh --with-rt).
VM_KVERS	:= $(call kver_of,$(filter-out debug rt,$(KERNELS)))
VM_NAMES	:= $(VM_KVERS) $(filter debug rt,$(KERNELS))
RT_KVER		= $(call kver_of,rt)
DEMO_KVER	:= $(call kver_of,$(DEMO_KERNEL))
BENCH_KVER	:= $(call kver_of,$(BENCH_KERNEL))
vm_ko		= $(BUILD)/kmod-$(1)/$(KMOD_KO)

# Benchmark binary (host path; the guest sees build/X/y as /X/y) and its args.
BENCH_BIN	?= $(BUILD)/selftests/vactor_bench
BENCH_ARGS	?=
# The libvact runtime's round trips and throughput (bench/runtime_bench.c),
# run after BENCH_BIN in the same boot.
RUNTIME_BENCH_ARGS ?=
# What `make check` runs in each VM.
# busybox has no bash: run.sh must be POSIX sh.
CHECK_CMD	?= cd /selftests && sh ./run.sh

# Kernel headers for the kselftest harness and checkpatch come from Debian's
# linux-source-6.1, extracted once into a cache outside the repository.
KSRC_TAR	?= /usr/src/linux-source-6.1.tar.xz
VACT_CACHE	?= $(or $(HOME),/tmp)/.cache/vactor
KSRC		:= $(VACT_CACHE)/linux-source-6.1
KSRC_STAMP	:= $(KSRC)/.vactor-extracted
KSRC_FILES	:= tools/testing/selftests/kselftest_harness.h \
		   tools/testing/selftests/kselftest.h \
		   scripts/checkpatch.pl scripts/spelling.txt \
		   scripts/const_structs.checkpatch
KSFT_INC	:= $(KSRC)/tools/testing/selftests
CHECKPATCH	:= $(KSRC)/scripts/checkpatch.pl

# Reliability tier: linux-source-6.1 with KASAN, lockdep, kmemleak, UBSAN
# (scripts/debug-kernel.sh builds it, ~20 min, once).
DEBUG_KDIR	?= $(VACT_CACHE)/debug-6.1/linux-source-6.1
DEBUG_IMAGE	:= $(DEBUG_KDIR)/arch/x86/boot/bzImage
# Tree to build the module against for a VM kernel name.
kdir_of		= $(if $(filter debug,$(1)),$(DEBUG_KDIR),/lib/modules/$(if \
		  $(filter rt,$(1)),$(RT_KVER),$(1))/build)

# check-debug: the suite on the debug and PREEMPT_RT kernels, plus the fault
# sweep (debug only: it needs fault injection) and the fuzzer, FUZZ_OPS
# operations from FUZZ_SEED (default: the clock; the fuzzer prints it).
FUZZ_OPS	?= 1000000
FUZZ_SEED	?=
FUZZ_ENV	= VACTOR_FUZZ_OPS=$(FUZZ_OPS) $(if $(FUZZ_SEED),VACTOR_FUZZ_SEED=$(FUZZ_SEED))
export CHECK_CMD_debug ?= cd /selftests && $(FUZZ_ENV) VACTOR_EXTRA_TESTS='faults fuzz' sh ./run.sh
export CHECK_CMD_rt ?= cd /selftests && $(FUZZ_ENV) VACTOR_EXTRA_TESTS=fuzz sh ./run.sh

# --- userspace flags ---------------------------------------------------------
CC		?= cc
AR		?= ar
CFLAGS		?= -O2 -g
WARNINGS	:= -Wall -Wextra -Wno-unused-parameter
ifeq ($(WERROR),1)
WARNINGS	+= -Werror
endif
# -Ikmod/uapi makes <linux/vactor.h> the in-tree uapi header.  Programs
# define _GNU_SOURCE themselves (the kselftest harness does too); only the
# library's own sources get it from here.
VACT_CPPFLAGS	:= -Ilibvact/include -Ikmod/uapi
VACT_CFLAGS	:= -std=gnu11 -pthread $(WARNINGS) $(CFLAGS)
comma		:= ,

# $(call need,TEST,MESSAGE): a recipe line failing with MESSAGE unless
# "test TEST" holds.
need = test $(strip $(1)) || { echo "$(strip $(2))" >&2; exit 1; }

ifeq ($(V),1)
Q :=
msg = @:
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

# Objects depend on this file, rewritten only when the compiler or flags
# change, so "make CFLAGS=-O0" rebuilds instead of mixing old objects in.
FLAGS_STAMP	:= $(BUILD)/.flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(VACT_CPPFLAGS) $(VACT_CFLAGS) $(KSFT_CFLAGS) $(LDFLAGS)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# --- sources, discovered so that new files need no Makefile edit --------------
LIB_SRCS	:= $(wildcard libvact/src/*.c)
LIB_OBJS	:= $(patsubst libvact/src/%.c,$(BUILD)/obj/libvact/%.o,$(LIB_SRCS))
LIB_MAP		:= $(wildcard libvact/libvact.map)
LIB_SO		:= $(BUILD)/libvact.so.$(VACT_VERSION)
LIB_SONAME	:= libvact.so.$(VACT_SOVERSION)
LIB_A		:= $(BUILD)/libvact.a
LIB_PC		:= $(BUILD)/libvact.pc
LIBS		:= $(LIB_A) $(LIB_SO) $(BUILD)/$(LIB_SONAME) $(BUILD)/libvact.so $(LIB_PC)

SELFTESTS	:= $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(wildcard selftests/*.c))
EXAMPLES	:= $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
BENCHES		:= $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
# vactorctl and any other tools/*.c (Documentation/vactorctl.rst).
TOOLS		:= $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))

# The harness's EXPECT_EQ(1, unsigned_value) idiom trips -Wsign-compare.
KSFT_CFLAGS	:= -Wno-sign-compare

# Programs link against the shared library without an rpath: the VM puts it
# in /lib; on the host use LD_LIBRARY_PATH=build.
PROG_LDLIBS	:= -L$(BUILD) -lvact -luring -lpthread

KMOD_SRCS	:= $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h kmod/uapi/linux/*.h))

.PHONY: all module libvact selftests examples bench-bin tools vm-modules \
	need-vm-kernels check check-debug debug-kernel demo demo-run bench \
	lint checkpatch lint-kmod install install-module uninstall clean \
	clean-cache help FORCE
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

all: module libvact selftests examples bench-bin tools

help:
	@echo 'vactor targets:'
	@echo '  all (default)   module (KDIR=$(KDIR)), libvact, selftests, examples'
	@echo '  module          vactor.ko for KDIR, built in kmod/'
	@echo '  libvact         build/libvact.{a,so*,pc}'
	@echo '  selftests examples'
	@echo '  cuda            cuda/ (GPU actor slots) into build/cuda/ if nvcc is found'
	@echo '  check-gpu       cuda/ GPU tests (needs an NVIDIA GPU, not the module)'
	@echo '  bench-gpu       cuda/ round-trip and GPU-to-GPU benchmarks (GPU)'
	@echo '  check-gpu-emu   the same GPU tests on CPU threads (no GPU, no nvcc)'
	@echo '  check-gpu-link  vgpu against the module in a VM per kernel (CPU threads for the GPU)'
	@echo '  vm-modules      vactor.ko for each VM kernel in build/kmod-<kver>/'
	@echo '  check           run selftests/run.sh in a VM per kernel (KERNELS="$(KERNELS)")'
	@echo '  demo            deps, build, run build/examples/demo in a $(DEMO_KERNEL) VM'
	@echo '  bench           run $(BENCH_BIN) $(BENCH_ARGS) in a $(BENCH_KERNEL) VM'
	@echo '  debug-kernel    build linux-source-6.1 with KASAN, lockdep, kmemleak (~20 min)'
	@echo '  check-debug     selftests + fault sweep + fuzzer on it and on PREEMPT_RT'
	@echo '  lint            checkpatch --strict, W=1 C=1 (sparse) module builds'
	@echo '  install         headers, libs, pkg-config, vactorctl (PREFIX=$(PREFIX) DESTDIR=)'
	@echo '  install-module  vactor.ko into /lib/modules/<KDIR release>/extra'
	@echo '  uninstall clean clean-cache'
	@echo 'Variables: KDIR KERNELS CHECK_CMD BENCH_BIN BENCH_ARGS V=1 WERROR=1'
	@echo '           VM_TIMEOUT VM_MEM VM_SMP VM_APPEND (see scripts/vm.sh)'

# --- kernel module ---------------------------------------------------------------
module:
	@$(call need,-f "$(KDIR)/Makefile", \
		no kernel tree at KDIR=$(KDIR): run scripts/deps.sh or set KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Each VM kernel gets its own copy of the module sources so that kbuild's
# objects for one kernel never clobber the other's.  cp -p keeps mtimes, so
# kbuild still rebuilds only what changed.  Generated *.mod.c is left behind.
$(BUILD)/kmod-%/$(KMOD_KO): FORCE
	@$(call need,-f $(call kdir_of,$*)/Makefile, \
		no kernel tree $(call kdir_of,$*): run scripts/deps.sh)
	$(Q)mkdir -p $(BUILD)/kmod-$*/kmod
	$(Q)cp -p Kbuild $(BUILD)/kmod-$*/
	$(Q)cd kmod && find . -type f \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) \
		! -name '*.mod.c' -exec cp -p --parents {} $(CURDIR)/$(BUILD)/kmod-$*/kmod/ \;
	$(MAKE) -C $(call kdir_of,$*) M=$(CURDIR)/$(BUILD)/kmod-$* modules

need-vm-kernels:
	@scripts/kernels.sh $(filter-out debug,$(KERNELS)) >/dev/null
	@$(if $(filter debug,$(KERNELS)),$(call need,-f $(DEBUG_IMAGE), \
		no $(DEBUG_IMAGE): run make debug-kernel (~20 min)))

vm-modules: need-vm-kernels $(foreach k,$(VM_NAMES),$(call vm_ko,$(k)))

# --- libvact ---------------------------------------------------------------------
libvact: $(LIBS)

$(BUILD)/obj/libvact/%.o: libvact/src/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -D_GNU_SOURCE $(VACT_CPPFLAGS) -Ilibvact/src $(VACT_CFLAGS) -fPIC \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

# One PIC object set serves both libraries.  Works with no sources yet.
$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# -z defs: an undefined symbol is a link error here, not a load error later.
$(LIB_SO): $(LIB_OBJS) $(LIB_MAP) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -pthread -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs \
		$(if $(LIB_MAP),-Wl$(comma)--version-script=$(LIB_MAP)) \
		$(LDFLAGS) -o $@ $(LIB_OBJS) -Wl,--as-needed -luring -lpthread

$(BUILD)/$(LIB_SONAME): $(LIB_SO)
	$(Q)ln -sf $(notdir $<) $@

$(BUILD)/libvact.so: $(BUILD)/$(LIB_SONAME)
	$(Q)ln -sf $(notdir $<) $@

# Regenerated every time, replaced only when PREFIX & co. change its text.
$(LIB_PC): libvact/libvact.pc.in FORCE
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VACT_VERSION)|g' \
		$< > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# --- cuda/: GPU actor slots, built only where nvcc is --------------------------------
# /usr/local/cuda/bin/nvcc, else nvcc on PATH; NVCC= on the command line wins.
NVCC		?= $(firstword $(wildcard /usr/local/cuda/bin/nvcc) \
		   $(shell command -v nvcc 2>/dev/null))
CUDA_MAKE	= $(MAKE) -C cuda NVCC=$(NVCC) BUILD=$(CURDIR)/$(BUILD)/cuda \
		  LIBVACT=$(CURDIR)/$(LIB_A) $(if $(WERROR),WERROR=$(WERROR))

.PHONY: cuda check-gpu bench-gpu
all: cuda

cuda: $(LIB_A)
ifneq ($(NVCC),)
	+@if $(CUDA_MAKE) -s --no-print-directory check-version; then \
		$(CUDA_MAKE) all; \
	else \
		echo "cuda: skipping cuda/"; \
	fi
else
	@echo "cuda: nvcc not found, skipping cuda/"
endif

# The GPU tests' logic on CPU threads: needs no nvcc and no GPU.
.PHONY: check-gpu-emu
check-gpu-emu: $(LIB_A)
	+@$(MAKE) -C cuda BUILD=$(CURDIR)/$(BUILD)/cuda LIBVACT=$(CURDIR)/$(LIB_A) $@

# vgpu linked to the module (direct and bridge modes), CPU threads standing
# in for the GPU, in a VM per kernel: cuda/tests/link_test.cc.
.PHONY: check-gpu-link
check-gpu-link: vm-modules $(LIB_A)
	+@$(MAKE) -C cuda BUILD=$(CURDIR)/$(BUILD)/cuda LIBVACT=$(CURDIR)/$(LIB_A) link-emu
	$(foreach k,$(VM_KVERS),VM_FILES=$(BUILD)/cuda/vgpu_link_test_emu:/vgpu_link_test \
		scripts/vm.sh $(k) $(call vm_ko,$(k)) /vgpu_link_test &&) true

# The GPU targets fail where there is nothing to run them with.
check-gpu bench-gpu: $(LIB_A)
	@$(call need,-n "$(NVCC)",cuda: nvcc not found: $@ needs CUDA 12 or 13 and a GPU)
	+@$(CUDA_MAKE) $@

# --- kselftest harness and checkpatch from linux-source-6.1 ----------------------
# Only these files are extracted (xz still has to be read through, ~10 s, once).
$(KSRC_STAMP): $(wildcard $(KSRC_TAR))
	@$(call need,-f "$(KSRC_TAR)",$(KSRC_TAR) missing: run scripts/deps.sh)
	@echo "  EXTRACT $(KSRC_FILES) -> $(KSRC)"
	$(Q)mkdir -p $(VACT_CACHE)
	$(Q)tar -xJf $(KSRC_TAR) -C $(VACT_CACHE) --no-same-owner \
		$(addprefix linux-source-6.1/,$(KSRC_FILES))
	$(Q)touch $@

# --- programs -------------------------------------------------------------------
selftests: $(SELFTESTS)
examples: $(EXAMPLES)
bench-bin: $(BENCHES)
tools: $(TOOLS)

$(BUILD)/selftests/%: selftests/%.c $(BUILD)/libvact.so $(FLAGS_STAMP) | $(KSRC_STAMP)
	@mkdir -p $(@D) $(BUILD)/obj/selftests
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(VACT_CPPFLAGS) -Iselftests -I$(KSFT_INC) $(VACT_CFLAGS) $(KSFT_CFLAGS) \
		-MMD -MP -MF $(BUILD)/obj/selftests/$*.d $(LDFLAGS) -o $@ $< $(PROG_LDLIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libvact.so $(FLAGS_STAMP)
	@mkdir -p $(@D) $(BUILD)/obj/examples
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(VACT_CPPFLAGS) -Iexamples $(VACT_CFLAGS) \
		-MMD -MP -MF $(BUILD)/obj/examples/$*.d $(LDFLAGS) -o $@ $< $(PROG_LDLIBS)

$(BUILD)/tools/%: tools/%.c $(BUILD)/libvact.so $(FLAGS_STAMP)
	@mkdir -p $(@D) $(BUILD)/obj/tools
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(VACT_CPPFLAGS) $(VACT_CFLAGS) \
		-MMD -MP -MF $(BUILD)/obj/tools/$*.d $(LDFLAGS) -o $@ $< $(PROG_LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvact.so $(FLAGS_STAMP) | $(KSRC_STAMP)
	@mkdir -p $(@D) $(BUILD)/obj/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(VACT_CPPFLAGS) -Ibench -Iselftests -I$(KSFT_INC) \
		$(VACT_CFLAGS) $(KSFT_CFLAGS) \
		-MMD -MP -MF $(BUILD)/obj/bench/$*.d $(LDFLAGS) -o $@ $< $(PROG_LDLIBS)

-include $(wildcard $(BUILD)/obj/*/*.d)

# --- VM runs ---------------------------------------------------------------------
check: all vm-modules
	@scripts/check.sh $(VM_KVERS) $(if $(filter debug,$(KERNELS)),debug=$(DEBUG_IMAGE)) \
		$(if $(filter rt,$(KERNELS)),rt=$(RT_KVER))

debug-kernel:
	scripts/debug-kernel.sh $(DEBUG_KDIR)

# The reliability tier: slower (KASAN, lockdep), so not part of the default
# "check"; build the kernel first with "make debug-kernel", and install the
# RT kernel with "scripts/deps.sh --with-rt".  Testing.rst has the details.
check-debug:
	@$(MAKE) --no-print-directory check KERNELS="debug rt"

# deps.sh may install the kernels, so the rest runs in a fresh make that
# sees them.
demo:
	scripts/deps.sh
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	@test -n "$(DEMO_KVER)" || scripts/kernels.sh $(DEMO_KERNEL)
	@$(MAKE) --no-print-directory $(call vm_ko,$(DEMO_KVER))
	@$(call need,-x $(BUILD)/examples/demo,no $(BUILD)/examples/demo)
	scripts/vm.sh $(DEMO_KVER) $(call vm_ko,$(DEMO_KVER)) /examples/demo

bench: all
	@test -n "$(BENCH_KVER)" || scripts/kernels.sh $(BENCH_KERNEL)
	@$(MAKE) --no-print-directory $(call vm_ko,$(BENCH_KVER))
	@$(call need,-x "$(BENCH_BIN)",no benchmark $(BENCH_BIN): set BENCH_BIN=)
	scripts/vm.sh $(BENCH_KVER) $(call vm_ko,$(BENCH_KVER)) \
		'/$(patsubst $(BUILD)/%,%,$(BENCH_BIN)) $(BENCH_ARGS) && \
		 /bench/send_cost && /bench/runtime_bench $(RUNTIME_BENCH_ARGS)'

# --- lint ------------------------------------------------------------------------
# Both halves run even when the first fails, so one run shows everything.
lint:
	@rc=0; $(MAKE) --no-print-directory checkpatch || rc=1; \
	$(MAKE) --no-print-directory lint-kmod || rc=1; exit $$rc

checkpatch: | $(KSRC_STAMP)
	@test -n "$(KMOD_SRCS)" || { echo "checkpatch: no kmod sources yet"; exit 0; }
	$(CHECKPATCH) --strict --no-tree --quiet --show-types -f $(KMOD_SRCS)
	@echo "checkpatch: $(words $(KMOD_SRCS)) files clean"

# A fresh W=1 C=2 (sparse on every file) build per VM kernel, in its own
# directory; any compiler, sparse or modpost diagnostic fails the lint.
lint-kmod: need-vm-kernels
	+@scripts/lint-kmod.sh $(VM_KVERS)

# --- install ---------------------------------------------------------------------
install: libvact tools
	install -d $(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(LIBDIR)/pkgconfig
	install -D -m 755 $(BUILD)/tools/vactorctl $(DESTDIR)$(BINDIR)/vactorctl
	install -m 644 libvact/include/*.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 kmod/uapi/linux/vactor.h $(DESTDIR)$(INCLUDEDIR)/linux/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libvact.so
	install -m 644 $(LIB_PC) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -D -m 644 udev/60-vactor.rules $(DESTDIR)$(UDEVDIR)/60-vactor.rules
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

install-module: module
	install -D -m 644 $(KMOD_KO) $(DESTDIR)/lib/modules/$(KREL)/extra/$(KMOD_NAME).ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KREL); fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/vact.h $(DESTDIR)$(INCLUDEDIR)/linux/vactor.h
	rm -f $(DESTDIR)$(LIBDIR)/libvact.a $(DESTDIR)$(LIBDIR)/libvact.so*
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/libvact.pc
	rm -f $(DESTDIR)$(UDEVDIR)/60-vactor.rules $(DESTDIR)$(BINDIR)/vactorctl
	rm -f $(DESTDIR)/lib/modules/$(KREL)/extra/$(KMOD_NAME).ko

# kbuild's own "clean" with M= at the top would also delete every *.[aios]
# below it (build/libvact.a, ...), so remove its outputs by name instead.
clean:
	rm -rf $(BUILD)
	find kmod \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '.*.d' -o -name 'modules.order' \
		-o -name '*.dwo' -o -name '*.symtypes' \) -type f -delete
	rm -f Module.symvers modules.order .Module.symvers.cmd .modules.order.cmd \
		.module-common.o

clean-cache:
	rm -rf $(KSRC)

FORCE:
