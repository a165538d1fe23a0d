# Sourced by the Linux tests and the demo: which notification path for
# a halted vCPU the L1 kernel chose, from its own messages.
#
# ga_mode < KERNEL-MESSAGES prints one word:
#   gappi      "AMD-Vi: Virtual APIC enabled with GAPPI" (the GAPPI
#              series, booted with amd_iommu=gappi)
#   galog      "... enabled with GALOG" (a GAPPI kernel without
#              amd_iommu=gappi), or a plain "Virtual APIC enabled" (a
#              kernel without GAPPI support, e.g. Debian's 6.12 and 7.2)
#   refused    a GAPPI kernel asked for it but found no GAPPISup
#              ("GAPPI is not supported"): GA log, and a bug in our EFR
#   none       no "Virtual APIC enabled" at all: no posting
# Lines may carry a dmesg timestamp or our "qa: " prefix.
ga_mode() {
    awk '/AMD-Vi: .*GAPPI is not supported/    { refused = 1 }
         /AMD-Vi: Virtual APIC enabled with GAPPI/ { gappi = 1 }
         /AMD-Vi: Virtual APIC enabled/         { vapic = 1 }
         END { if (refused) print "refused"; else if (gappi) print "gappi"
               else if (vapic) print "galog"; else print "none" }'
}

# ga_mode_says MODE: the one line the demo prints about it.
ga_mode_says() {
    case $1 in
    gappi) echo "L1 uses GAPPI: a halted vCPU is woken by the IOMMU's GAPPI interrupt (PIW)" ;;
    galog) echo "L1 has no GAPPI (or was not booted with amd_iommu=gappi): halted vCPUs are woken through the GA log" ;;
    refused) echo "L1 asked for GAPPI and found no GAPPISup: it uses the GA log" ;;
    *) echo "L1 did not enable the IOMMU's virtual APIC mode" ;;
    esac
}
