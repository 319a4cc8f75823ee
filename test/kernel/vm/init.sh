#!/bin/busybox sh
# /init of the kernel rig's initramfs: load virtio + 9p, mount the host's root read-only and the
# results share read-write, load the scenario modules (shaping, veth, ccp-cong), then run the plan
# the host wrote into the results share, chrooted into the host's root. Powers off at the end.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "PORTUS-VM $*" > /dev/console; }
fail() { say "FATAL $*"; poweroff -f; }
for m in $(cat /modules/boot.list); do insmod "/modules/$m" || fail "insmod $m"; done
OPTS=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /host
mount -t 9p -o "$OPTS,ro,cache=loose" hostroot /host || fail "mount host root over 9p"
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
mkdir -p /host/tmp/out /host/tmp/vmbin /host/tmp/home
mount -t 9p -o "$OPTS" out /host/tmp/out || fail "mount results share over 9p"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm
cp /bin/busybox /host/tmp/vmbin/busybox
for m in $(cat /modules/scenario.list); do insmod "/modules/$m" || fail "insmod $m"; done
ip link set lo up
say "booted $(uname -r)"
chroot /host /usr/bin/env -i HOME=/tmp/home PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash /tmp/out/plan.sh > /dev/console 2>&1
say "plan exited $?"
sync
poweroff -f
