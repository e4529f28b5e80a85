#!/usr/bin/env bash
# Step 1: a minimal Debian root with kernel, systemd, dracut (verity-capable initrd) and the
# appliance installed as a venv from the offline wheelhouse, as a plain directory. systemd-boot:
# the boot loader (signed by uki.sh) and systemd-bless-boot, which commits a trial boot.
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
wheelhouse=${WHEELHOUSE:-$REPO/dist/wheelhouse}
test -f "$wheelhouse/SHA256SUMS" || { echo "no wheelhouse: run packaging/build-wheelhouse.sh" >&2; exit 1; }
root=$IMAGE_DIR/rootfs
rm -rf "$root"
# Root builds the tree directly (CI and this build host run as root); the tree keeps real owners,
# which mksquashfs needs. dracut's config is in place before the kernel's postinst builds the initrd.
"${NICE[@]}" mmdebstrap --mode=root --variant=minbase --skip=cleanup/reproducible \
  --include=linux-image-amd64,systemd,systemd-sysv,systemd-boot,udev,dracut,dracut-core,kmod,e2fsprogs,python3,python3-venv,ca-certificates,iproute2 \
  --setup-hook='mkdir -p "$1/etc/dracut.conf.d"' \
  --setup-hook="cp '$here/files/90-sealforge.dracut.conf' \"\$1/etc/dracut.conf.d/90-sealforge.conf\"" \
  --customize-hook="mkdir -p \"\$1/tmp/wheelhouse\" && cp -r '$wheelhouse/.' \"\$1/tmp/wheelhouse/\"" \
  --customize-hook="'$here/customize.sh' \"\$1\" '$REPO' '$IMAGE_DIR/release.pub'" \
  "$SUITE" "$root" "$MIRROR"
echo "rootfs: $root ($(du -sh "$root" | cut -f1))"
