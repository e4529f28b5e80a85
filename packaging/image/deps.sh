#!/usr/bin/env bash
# The Debian tools `make image` and `make image-test` use; installs the missing ones (as root).
set -euo pipefail
pkgs=(mmdebstrap squashfs-tools cryptsetup-bin systemd-boot-efi sbsigntool dosfstools mtools fdisk
      qemu-system-x86 ovmf qemu-utils openssl osslsigncode)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
