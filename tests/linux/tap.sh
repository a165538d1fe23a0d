# Shared by the Linux tests (sourced): TAP checks over what the guest
# said, which the test keeps in $out.

n=0
failed=0

# check DESCRIPTION COMMAND...: one TAP line, "ok" if COMMAND succeeds.
check() {
    local what=$1
    shift
    n=$((n + 1))
    if "$@"; then
        echo "ok $n - $what"
    else
        echo "not ok $n - $what"
        failed=1
    fi
}

# Did the guest say this (a fixed string)?
says() { grep -qF -- "$1" <<< "$out"; }

# The L2 exits of a VMM's report line ("... exits N irq_exits N ..."),
# less those for L1's own interrupts (its timer, its IPIs): what the L2
# itself caused.  $1 is a pattern that starts the report line.
exits_besides_irqs() {
    grep -o "$1.*" <<< "$out" |
        awk '{ for (i = 1; i < NF; i++) if ($i == "exits") e = $(i + 1);
               else if ($i == "irq_exits") q = $(i + 1); print e - q }'
}
