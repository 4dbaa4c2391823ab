#!/usr/bin/env bash
# Run a command against a throwaway real Linux kernel with IPVS, without touching the host's own table:
# Debian's stock 6.1 kernel boots under QEMU with this machine's / shared read-write over 9p as its root,
# loads ip_vs and the schedulers, runs the command in the current directory with this machine's node, and
# powers off. The command's output and exit status come back through files (the serial console is noisy).
#
#   bash scripts/kernel-vm.sh [--timeout SECONDS] -- CMD ARGS...
#
# Everything it fetches or builds lives in .vm/ (gitignored). Needs: qemu-system-x86, busybox-static,
# kmod, ipvsadm, iproute2, iptables (installed with apt-get when missing and running as root).
# Why not User-Mode Linux: Debian's UML 6.1 cannot start processes on hosts whose CPUs have AMX (its
# fixed-size xstate buffer makes PTRACE_SETREGSET fail with EFAULT). Why TCG and not KVM: nested KVM on
# the CI machines stalls during boot; TCG boots in about 10 s. Set KERNEL_VM_ACCEL=kvm to try KVM.
set -euo pipefail

timeout_s=1200
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--timeout SECONDS] -- CMD ARGS..." >&2; exit 2; }

project=$(pwd)
vm="$project/.vm"
mkdir -p "$vm/cache"

need=()
for pkg in qemu-system-x86 busybox-static kmod ipvsadm iproute2 iptables; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "kernel-vm: missing Debian packages: ${need[*]} (apt-get install them as root)" >&2; exit 2; fi
  echo "kernel-vm: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# The kernel: the package linux-image-amd64 points at, unpacked (never installed on the host).
kdir="$vm/kernel"
if [ ! -f "$kdir/ready" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
  if [ -z "$pkg" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
  fi
  [ -n "$pkg" ] || { echo "kernel-vm: cannot find the Debian kernel package (apt-cache depends linux-image-amd64)" >&2; exit 2; }
  echo "kernel-vm: fetching $pkg" >&2
  rm -rf "$kdir" && mkdir -p "$kdir"
  (cd "$vm/cache" && rm -f ./*.deb && apt-get download "$pkg" >&2)
  dpkg-deb -x "$vm/cache"/"$pkg"_*.deb "$kdir"
  kver=$(ls "$kdir/lib/modules")
  depmod -b "$kdir" "$kver"
  echo "$kver" > "$kdir/ready"
fi
kver=$(cat "$kdir/ready")
mods="$kdir/lib/modules/$kver/kernel"

# The initramfs: busybox and the modules needed to mount the host's / over virtio-9p.
initrd="$vm/initrd-$kver.gz"
if [ ! -f "$initrd" ]; then
  ir="$vm/initrd-root"
  rm -rf "$ir" && mkdir -p "$ir/bin" "$ir/mods" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/mnt"
  cp /bin/busybox "$ir/bin/"
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
           drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache \
           net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
    cp "$mods/$m.ko" "$ir/mods/"
  done
  cat > "$ir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
  /bin/busybox insmod /mods/$m.ko
done
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hostroot /mnt || /bin/busybox poweroff -f
/bin/busybox umount /proc /sys /dev
exec /bin/busybox switch_root /mnt /bin/bash -c 'mount -t proc proc /proc; exec $(tr " " "\n" < /proc/cmdline | sed -n "s/^hostinit=//p")'
EOF
  chmod +x "$ir/init"
  (cd "$ir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$initrd")
fi

run="$vm/run-$$"
rm -rf "$run" && mkdir -p "$run"
printf '%q ' "$@" > "$run/cmd"
env_lines=""
for name in CI IPVS_KERNEL IPVS_BENCH IPVS_KERNEL_ALL; do
  if [ -n "${!name:-}" ]; then env_lines+="export $name=$(printf '%q' "${!name}")"$'\n'; fi
done
cat > "$run/init.sh" <<EOF
#!/bin/bash
# PID 1 of the guest, on the host's / over 9p.
export PATH=$(dirname "$(command -v node)"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb IPVS_KERNEL=1 IPVS_SANDBOX=1
$env_lines
mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmpfs /run; mkdir -p /run/netns
ok=1
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip dummy veth; do
  modprobe -d $kdir \$m || ok=0
done
if [ \$ok = 1 ]; then
  echo booted > $run/booted
  ip link set lo up
  cd $(printf '%q' "$project")
  bash -c "\$(cat $run/cmd)" > $run/output 2>&1
  echo \$? > $run/status
fi
sync
poweroff -f
EOF
chmod +x "$run/init.sh"

accel=${KERNEL_VM_ACCEL:-tcg}
cpu=max
[ "$accel" = kvm ] && cpu=host
set +e
timeout "$timeout_s" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 2G -smp 1 -nographic -no-reboot \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
  -append "console=ttyS0 quiet panic=-1 hostinit=$run/init.sh" \
  -fsdev local,id=root,path=/,security_model=passthrough,multidevs=remap \
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot -net none </dev/null >"$run/console.log" 2>&1
vm_status=$?
set -e

[ -f "$run/output" ] && cat "$run/output"
if [ ! -f "$run/booted" ]; then
  echo "kernel-vm: the kernel did not come up or could not load ip_vs (qemu exit $vm_status); console:" >&2
  tail -n 40 "$run/console.log" >&2
  exit 2
fi
if [ ! -f "$run/status" ]; then
  [ "$vm_status" = 124 ] && echo "kernel-vm: timed out after ${timeout_s}s" >&2
  echo "kernel-vm: the command did not finish (qemu exit $vm_status)" >&2
  exit 2
fi
status=$(cat "$run/status")
rm -rf "$run"
exit "$status"
