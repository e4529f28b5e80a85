#!/usr/bin/env bash
# Step 4: the GPT disk (ESP with the signed UKI at the firmware's default path, verity root, its hash
# tree) with Discoverable Partitions types, raw and qcow2. The space after the last partition is
# where systemd-repart makes the data partition on first boot.
source "$(dirname "$0")/common.sh"
out=$IMAGE_DIR
MiB=1048576
free_mib=${IMAGE_FREE_MIB:-2048}
roothash=$(cat "$out/roothash")
as_uuid() { echo "$1" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'; }
# ESP: the UKI plus room for one more (A/B updates), a whole number of MiB.
uki_mib=$(( ($(stat -c %s "$out/sealforge.efi") + MiB - 1) / MiB ))
esp_mib=$(( uki_mib * 2 + 8 ))
rm -f "$out/esp.img" "$out/sealforge.raw" "$out/sealforge.qcow2"
mkfs.vfat -C --invariant -i 5eaf0e5f -n SEALFORGE "$out/esp.img" $(( esp_mib * 1024 )) >/dev/null
touch -d "@$SOURCE_DATE_EPOCH" "$out/sealforge.efi"
mmd -i "$out/esp.img" ::/EFI ::/EFI/BOOT
mcopy -m -i "$out/esp.img" "$out/sealforge.efi" ::/EFI/BOOT/BOOTX64.EFI
root_mib=$(( $(stat -c %s "$out/root.squashfs") / MiB ))
verity_mib=$(( $(stat -c %s "$out/root.verity") / MiB ))
total_mib=$(( 1 + esp_mib + root_mib + verity_mib + free_mib + 1 ))
truncate -s $(( total_mib * MiB )) "$out/sealforge.raw"
# Root and verity partition UUIDs are the two halves of the root hash: that is how the initrd's
# systemd-veritysetup-generator finds them.
label_id=$(as_uuid "$(echo "sealforge-disk $roothash" | sha256sum)")
esp_uuid=$(as_uuid "$(echo "sealforge-esp $roothash" | sha256sum)")
sfdisk -q "$out/sealforge.raw" <<EOT
label: gpt
label-id: $label_id
unit: sectors
start=2048, size=$(( esp_mib * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_uuid, name=esp
size=$(( root_mib * 2048 )), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$(as_uuid "${roothash:0:32}"), name=root-x86-64
size=$(( verity_mib * 2048 )), type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5, uuid=$(as_uuid "${roothash:32:32}"), name=root-x86-64-verity
EOT
dd if="$out/esp.img" of="$out/sealforge.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$out/root.squashfs" of="$out/sealforge.raw" bs=1M seek=$(( 1 + esp_mib )) conv=notrunc,sparse status=none
dd if="$out/root.verity" of="$out/sealforge.raw" bs=1M seek=$(( 1 + esp_mib + root_mib )) conv=notrunc,sparse status=none
"${NICE[@]}" qemu-img convert -f raw -O qcow2 "$out/sealforge.raw" "$out/sealforge.qcow2"
echo "disk: sealforge.raw ${total_mib} MiB (sparse), sealforge.qcow2 $(du -h "$out/sealforge.qcow2" | cut -f1)"
