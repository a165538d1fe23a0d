#!/bin/busybox sh
# In the L1 guest (installed as /bin/kvm-selftests): run KVM selftests
# from /kst, one after the other, each under its own timeout, as
# listed in /kst/tests ("NAME SECONDS [ARG...]" lines).
# One line per test: "kst: NAME STATUS SECONDS" (STATUS is the exit
# status; 0 pass, 4 skip, "timeout" when killed), then for anything but
# a pass the test's last lines as "kst: | ...".
while read -r name limit args; do
    if [ ! -x "/kst/$name" ]; then
        echo "kst: $name missing 0"
        continue
    fi
    start=$(cut -d. -f1 /proc/uptime)
    # shellcheck disable=SC2086  # the arguments, split
    timeout -s KILL "$limit" "/kst/$name" $args < /dev/null > "/tmp/$name.out" 2>&1
    rc=$?
    took=$(($(cut -d. -f1 /proc/uptime) - start))
    [ $rc = 137 ] && [ "$took" -ge "$limit" ] && rc=timeout
    echo "kst: $name $rc $took"
    [ "$rc" = 0 ] || grep -v 'addr2line: not found' "/tmp/$name.out" | tail -n 12 |
        sed 's/^/kst: | /'
done < /kst/tests
