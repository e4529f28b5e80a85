#!/usr/bin/env bash
# Step 3: the unified kernel image (systemd's EFI stub + kernel + initrd + command line with the root
# hash + os-release), signed for Secure Boot. SB_KEY/SB_CERT name the site's db key; without them
# the build signs with OVMF's snakeoil test key, which only the test firmware trusts.
source "$(dirname "$0")/common.sh"
root=$IMAGE_DIR/rootfs
out=$IMAGE_DIR
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
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
cp "$root/usr/lib/os-release" "$out/os-release"
printf 'IMAGE_ID=sealforge\nIMAGE_VERSION=%s\n' "$IMAGE_VERSION" >> "$out/os-release"
rm -f "$out/sealforge.efi" "$out/sealforge.unsigned.efi"
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
osslsigncode sign -certs "$SB_CERT" -key "$SB_KEY" -h sha256 -time "$SOURCE_DATE_EPOCH" \
  -in "$out/sealforge.unsigned.efi" -out "$out/sealforge.efi" >/dev/null
sbverify --cert "$SB_CERT" "$out/sealforge.efi" >/dev/null
echo "uki: $(du -h "$out/sealforge.efi" | cut -f1), signed by $(openssl x509 -in "$SB_CERT" -noout -subject)"
