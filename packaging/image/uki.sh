#!/usr/bin/env bash
# Step 3: the unified kernel image (systemd's EFI stub + kernel + initrd + command line with the root
# hash + os-release) and the boot loader (systemd-boot, which picks among the UKIs on the ESP: the
# A/B updates' trial and fallback), both signed for Secure Boot. SB_KEY/SB_CERT name the site's db
# key; without them the build signs with OVMF's snakeoil test key, which only the test firmware trusts.
source "$(dirname "$0")/common.sh"
root=$IMAGE_DIR/rootfs
out=$IMAGE_DIR
# The EFI binaries of the root's own systemd (the mirror's), the host's when the root has none.
efi_dir=$root/usr/lib/systemd/boot/efi
[[ -f "$efi_dir/linuxx64.efi.stub" ]] || efi_dir=/usr/lib/systemd/boot/efi
stub=$efi_dir/linuxx64.efi.stub
if [[ -z "${SB_KEY:-}" ]]; then
  mkdir -p "$out/keys" && chmod 0700 "$out/keys"
  openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$out/keys/db-test.key"
  cp /usr/share/ovmf/PkKek-1-snakeoil.pem "$out/keys/db-test.crt"
  SB_KEY=$out/keys/db-test.key SB_CERT=$out/keys/db-test.crt
fi
kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
roothash=$(cat "$out/roothash")
# panic-on-corruption: a block that fails its hash stops the box instead of serving other bytes.
printf 'roothash=%s root=/dev/mapper/root rootfstype=squashfs ro systemd.verity_root_options=panic-on-corruption console=tty0 console=ttyS0,115200 panic=30' \
  "$roothash" > "$out/cmdline"
# os-release with IMAGE_ID, IMAGE_VERSION and IMAGE_SERIAL (squash.sh wrote them into the root).
cp "$root/usr/lib/os-release" "$out/os-release"
grep -qx "IMAGE_SERIAL=$IMAGE_SERIAL" "$out/os-release" || { echo "root's os-release lacks IMAGE_SERIAL=$IMAGE_SERIAL: run squash.sh" >&2; exit 1; }
rm -f "$out/sealforge.efi" "$out/sealforge.unsigned.efi" "$out/systemd-bootx64.efi" "$out/systemd-bootx64.unsigned.efi"
objcopy \
  --add-section .osrel="$out/os-release" --change-section-vma .osrel=0x20000 \
  --add-section .cmdline="$out/cmdline" --change-section-vma .cmdline=0x30000 \
  --add-section .linux="$kernel" --change-section-vma .linux=0x2000000 \
  --add-section .initrd="$initrd" --change-section-vma .initrd=0x3000000 \
  "$stub" "$out/sealforge.unsigned.efi"
# objcopy writes the current time into the PE header's TimeDateStamp: pin it to SOURCE_DATE_EPOCH
# (little-endian, 8 bytes into the PE header whose offset is at 0x3c). Firmware does not read it.
pe=$(od -An -tu4 -j60 -N4 "$out/sealforge.unsigned.efi" | tr -d ' ')
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(( SOURCE_DATE_EPOCH & 255 )) $(( (SOURCE_DATE_EPOCH >> 8) & 255 )) \
  $(( (SOURCE_DATE_EPOCH >> 16) & 255 )) $(( (SOURCE_DATE_EPOCH >> 24) & 255 )))" |
  dd of="$out/sealforge.unsigned.efi" bs=1 seek=$(( pe + 8 )) conv=notrunc status=none
# osslsigncode rather than sbsign: sbsign stamps the signature with the current time (the PKCS#7
# signingTime attribute), so two builds would differ; -time pins it to SOURCE_DATE_EPOCH. Firmware
# does not read that time. sbverify checks the result as sbsign's would be checked.
sign() {
  osslsigncode sign -certs "$SB_CERT" -key "$SB_KEY" -h sha256 -time "$SOURCE_DATE_EPOCH" -in "$1" -out "$2" >/dev/null
  sbverify --cert "$SB_CERT" "$2" >/dev/null 2>&1 || { echo "$2: signature does not verify" >&2; exit 1; }
}
sign "$out/sealforge.unsigned.efi" "$out/sealforge.efi"
# systemd-boot as the firmware's default loader; it starts only UKIs the firmware's db accepts.
cp "$efi_dir/systemd-bootx64.efi" "$out/systemd-bootx64.unsigned.efi"
sign "$out/systemd-bootx64.unsigned.efi" "$out/systemd-bootx64.efi"
echo "uki: $(du -h "$out/sealforge.efi" | cut -f1) (serial $IMAGE_SERIAL) and systemd-boot, signed by $(openssl x509 -in "$SB_CERT" -noout -subject)"
