# Top-level commands; see README.md.
#   make          build build/qemu-system-x86_64 (configuring first if needed)
#   make check    build, then run every test; the last line counts them
#   make demo     boot Linux on our QEMU and show what it says
#   make compare  the timing model's GA log vs GAPPI report and plots:
#                 build/compare/report.txt, *.svg
#   make check-sanitize  the qtests and the guest suite on an ASan+UBSan
#                 build in build-san/ (slow; not part of make check)
#   make fuzz     libFuzzer (clang, ASan, UBSan) build in build-fuzz/, then
#                 FUZZ_S seconds (default 180) of each fuzz target; fails
#                 on any crash and prints the reproducer (tests/fuzz/run.sh)
#   make fuzz-avic  the CPU side's fuzzer, a guest image (random AVIC
#                 programming and L2 APIC traffic), seed after seed for
#                 FUZZ_S seconds (tests/fuzz/avic-guest.sh)
#   make run      boot Linux on the mission's line: RUN="l2-edu 1000 halted"
#                 runs one program, no RUN gives a shell (scripts/run.sh)
# KERNEL= (a pin, a bzImage or Debian packages) and KERNEL_ARGS= choose
# the L1 kernel for demo, run and the Linux tests.
# QEMU itself is built by ninja in build/, configured by ./configure.

NINJA ?= ninja
QEMU := build/qemu-system-x86_64

FUZZ_S ?= 180

.PHONY: all check check-sanitize fuzz fuzz-avic demo run compare configure clean distclean FORCE

all: $(QEMU)

build/build.ninja:
	./configure

# ninja knows what is out of date; always ask it.  prepare-source
# refreshes the overlay first (links for files added since).
$(QEMU): build/build.ninja FORCE
	scripts/prepare-source.sh
	$(NINJA) -C build qemu-system-x86_64
	scripts/link-firmware.sh

configure:
	./configure

check: $(QEMU)
	tests/run-all.sh

demo: $(QEMU)
	scripts/demo.sh

compare: $(QEMU)
	scripts/compare.sh

check-sanitize:
	scripts/check-sanitize.sh

fuzz:
	FUZZ_S=$(FUZZ_S) tests/fuzz/run.sh

fuzz-avic: $(QEMU)
	FUZZ_S=$(FUZZ_S) tests/fuzz/avic-guest.sh

run: $(QEMU)
	scripts/run.sh

clean:
	$(NINJA) -C build clean

distclean:
	rm -rf build build-san build-fuzz qemu
