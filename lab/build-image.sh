#!/usr/bin/env bash
# Build the lab VM image from Debian packages only: bookworm's kernel and OpenZFS from
# bookworm-backports (contrib). Output goes to $1 (a cache dir keyed by the recipe hash).
#
# The slow part is the zfs-dkms compile (~7 min under no KVM). Its result is repackaged
# as a tiny local .deb ("zfs-modules-<kver>") cached in $HELIX_CACHE/debs, keyed by the
# kernel and the ZFS version, so the next build installs that instead of compiling.
set -euo pipefail

out=${1:?usage: build-image.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${HELIX_CACHE:-$HOME/.cache/helix-zfs}
# shellcheck source=recipe.env
. "$here/recipe.env"

[ "$(id -u)" = 0 ] || { echo "build-image.sh must run as root (debootstrap, chroot)" >&2; exit 1; }

work=$(mktemp -d "${cache}/build.XXXXXX")
root=$work/rootfs
log() { printf '[build-image %s] %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
  for m in dev/pts dev proc sys; do
    if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m"; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"; }
apt_root() {
  in_root apt-get -y -q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold --no-install-recommends "$@"
}

log "debootstrap $LAB_SUITE (minbase) into $root"
debootstrap --variant=minbase "$LAB_SUITE" "$root" "$LAB_MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

# Never start daemons inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

cat >"$root/etc/apt/sources.list" <<EOF
deb $LAB_MIRROR $LAB_SUITE main contrib
deb $LAB_MIRROR $LAB_SUITE-updates main contrib
deb $LAB_MIRROR $LAB_SUITE-backports main contrib
deb $LAB_SECURITY_MIRROR $LAB_SUITE-security main contrib
EOF
# autoremove must be able to drop the DKMS toolchain once the modules are repackaged.
printf 'APT::AutoRemove::RecommendsImportant "false";\nAPT::AutoRemove::SuggestsImportant "false";\n' \
  >"$root/etc/apt/apt.conf.d/90helix"

log "apt-get update"
apt_root update >/dev/null

# initramfs: MODULES=dep cannot work in a chroot on a host without modules.
mkdir -p "$root/etc/initramfs-tools"
cat >"$root/etc/initramfs-tools/initramfs.conf" <<'EOF'
MODULES=list
BUSYBOX=auto
COMPRESS=zstd
EOF
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 >"$root/etc/initramfs-tools/modules"

log "guest packages"
# shellcheck disable=SC2086
apt_root install $LAB_PACKAGES >"$work/apt-base.log" 2>&1 || { tail -n 40 "$work/apt-base.log" >&2; exit 1; }

# Kernel: the pinned ABI if the mirror still has it, else bookworm main's current one.
kabi=$LAB_KERNEL_ABI
if ! in_root apt-cache show "linux-image-$kabi-amd64" >/dev/null 2>&1; then
  kabi=$(in_root apt-cache depends -t "$LAB_SUITE" linux-image-amd64 \
    | sed -n 's/.*Depends: linux-image-\(.*\)-amd64$/\1/p' | head -n1)
  log "WARNING: pinned kernel $LAB_KERNEL_ABI is gone from the mirror; using $kabi"
fi
kver="$kabi-amd64"
log "kernel $kver"
apt_root -t "$LAB_SUITE" install "linux-image-$kver" >"$work/apt-kernel.log" 2>&1 \
  || { tail -n 40 "$work/apt-kernel.log" >&2; exit 1; }

zfsver=$(in_root apt-cache -t "$LAB_SUITE-backports" policy zfsutils-linux | awk '/Candidate:/ {print $2}')
case $zfsver in
  2.[3-9].*|[3-9].*) ;;
  *) echo "zfsutils-linux candidate in $LAB_SUITE-backports is '$zfsver'; the lab needs OpenZFS >= 2.3" >&2; exit 1 ;;
esac
log "OpenZFS $zfsver from $LAB_SUITE-backports"
mkdir -p "$cache/debs"
moddeb="$cache/debs/zfs-modules-${kver}_${zfsver}_amd64.deb"

if [ ! -s "$moddeb" ]; then
  log "no cached zfs-modules for $kver / $zfsver: compiling zfs-dkms (several minutes)"
  apt_root -t "$LAB_SUITE-backports" install "linux-headers-$kver" gcc make libc6-dev \
    "zfs-dkms=$zfsver" >"$work/apt-dkms.log" 2>&1 || { tail -n 60 "$work/apt-dkms.log" >&2; exit 1; }
  pkg=$work/zfs-modules
  mkdir -p "$pkg/DEBIAN" "$pkg/lib/modules/$kver/extra/zfs"
  n=0
  for ko in "$root/lib/modules/$kver/updates/dkms/"*.ko*; do
    [ -e "$ko" ] || continue
    cp "$ko" "$pkg/lib/modules/$kver/extra/zfs/"; n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "DKMS built no modules for $kver" >&2; tail -n 60 "$work/apt-dkms.log" >&2; exit 1; }
  cat >"$pkg/DEBIAN/control" <<EOF
Package: zfs-modules-$kver
Version: $zfsver
Architecture: amd64
Maintainer: helix.zfs lab <lab@helix.invalid>
Depends: linux-image-$kver
Provides: zfs-modules (= $zfsver)
Section: kernel
Priority: optional
Description: OpenZFS $zfsver kernel modules for $kver (built by zfs-dkms for the helix.zfs lab)
EOF
  printf '#!/bin/sh\nset -e\ndepmod -a %s || true\n' "$kver" >"$pkg/DEBIAN/postinst"
  chmod 755 "$pkg/DEBIAN/postinst"
  dpkg-deb --root-owner-group --build "$pkg" "$moddeb.tmp" >/dev/null
  mv "$moddeb.tmp" "$moddeb"
  log "cached $(basename "$moddeb")"
  # Drop the compiler and the DKMS tree: the repackaged modules replace them.
  apt_root purge zfs-dkms dkms "linux-headers-$kver" gcc make libc6-dev >/dev/null 2>&1
  apt_root autoremove --purge >/dev/null 2>&1
fi

cp "$moddeb" "$root/tmp/zfs-modules.deb"
in_root dpkg -i /tmp/zfs-modules.deb >/dev/null
rm -f "$root/tmp/zfs-modules.deb"
apt_root -t "$LAB_SUITE-backports" install "zfsutils-linux=$zfsver" "zfs-zed=$zfsver" \
  >"$work/apt-zfs.log" 2>&1 \
  || { tail -n 40 "$work/apt-zfs.log" >&2; exit 1; }
# zinject, OpenZFS's fault injector (tests/faults.sh), ships in zfs-test along with the whole
# test suite's dependencies; the lab takes the one binary (it needs only the installed libzfs).
in_root sh -c "cd /tmp && apt-get download zfs-test=$zfsver" >"$work/apt-zinject.log" 2>&1 \
  || { tail -n 20 "$work/apt-zinject.log" >&2; exit 1; }
in_root sh -c 'dpkg-deb --fsys-tarfile /tmp/zfs-test_*.deb | tar -x -C / --wildcards "*/zinject" && rm -f /tmp/zfs-test_*.deb'
in_root sh -c 'zinject >/dev/null 2>&1; command -v zinject' >/dev/null || { echo "zinject is missing from the image" >&2; exit 1; }
in_root depmod -a "$kver"
in_root modinfo -k "$kver" zfs >/dev/null || { echo "zfs.ko not found for $kver" >&2; exit 1; }

log "guest configuration"
cp -a "$here/guest/." "$root/"
chmod 755 "$root/usr/local/sbin/"* 2>/dev/null || true

# One SSH key pair per image: the controller logs in with it, and lab hosts use it to
# reach each other (replication tests). A lab-only key, never reused elsewhere.
ssh-keygen -q -t ed25519 -N '' -C helix-lab -f "$work/id_ed25519"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
install -m 600 "$work/id_ed25519" "$root/root/.ssh/id_ed25519"
rm -f "$root"/etc/ssh/ssh_host_*
in_root ssh-keygen -A >/dev/null

echo lab >"$root/etc/hostname"
# Boot speed (see shared/notes/lab.md): ZFS loads in parallel with boot from our own unit;
# the stock import/mount units pull in udev-settle; ifupdown-pre runs `udevadm settle`.
in_root systemctl enable helix-identity.service helix-zfs-load.service >/dev/null 2>&1
for u in zfs-import-cache.service zfs-import-scan.service zfs-mount.service zfs-share.service \
         zfs-volume-wait.service zfs-load-module.service zfs-zed.service zfs-import.target \
         ifupdown-pre.service systemd-udev-settle.service apt-daily.timer apt-daily-upgrade.timer \
         e2scrub_all.timer e2scrub_reap.service fstrim.timer sanoid.timer sanoid-prune.service \
         prometheus-node-exporter.service man-db.timer; do
  in_root systemctl mask "$u" >/dev/null 2>&1 || true
done
in_root passwd -l root >/dev/null

log "initramfs"
in_root update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 \
  || in_root update-initramfs -u -k "$kver" >>"$work/initramfs.log" 2>&1 \
  || { tail -n 30 "$work/initramfs.log" >&2; exit 1; }

mkdir -p "$out.tmp"
cp "$root/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out.tmp/initrd.img"

log "slimming"
apt_root clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
  "$root"/usr/share/info/* "$root"/var/cache/debconf/*-old "$root"/var/log/*.log
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
rm -f "$root/usr/sbin/policy-rc.d"

for m in dev/pts dev proc sys; do umount -l "$root/$m"; done

log "filesystem image"
truncate -s "$LAB_ROOT_SIZE" "$work/root.raw"
mke2fs -q -t ext4 -L helixroot -E root_owner=0:0 -d "$root" "$work/root.raw"
qemu-img convert -O qcow2 "$work/root.raw" "$out.tmp/root.qcow2"
mv "$work/id_ed25519" "$work/id_ed25519.pub" "$out.tmp/"
cat >"$out.tmp/manifest.env" <<EOF
KERNEL=$kver
ZFS=$zfsver
BUILT=$(date -u +%FT%TZ)
EOF
rm -rf "$out"
mv "$out.tmp" "$out"
log "image ready in $out ($(du -sh "$out" | cut -f1))"
