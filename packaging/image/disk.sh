#!/usr/bin/env bash
# Step 4: the A/B GPT disk (docs/image.md, "What is in the image"), raw and qcow2, partitions found
# by GPT name: 1 `esp` (signed systemd-boot at the firmware's default path, loader.conf, the signed
# UKI as a Boot Loader Spec type #2 entry), 2 `root-a` + 3 `verity-a` (this release),
# 4 `root-b` + 5 `verity-b` (empty: where an update is written), all with Discoverable Partitions
# types. The space after the last partition is where systemd-repart makes the data partition on
# first boot.
source "$(dirname "$0")/common.sh"
out=$IMAGE_DIR
MiB=1048576
free_mib=${IMAGE_FREE_MIB:-2048}
roothash=$(cat "$out/roothash")
as_uuid() { echo "$1" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'; }
mib_of() { echo $(( ($(stat -c %s "$1") + MiB - 1) / MiB )); }
# ESP: systemd-boot, the UKI of each slot and room for an update's UKI written beside them.
uki_mib=$(mib_of "$out/sealforge.efi")
esp_mib=${IMAGE_ESP_MIB:-$(( uki_mib * 3 + 16 ))}
# Slots are fixed at build time for the life of the disk: 1.5x this release's root and hash tree
# (whole MiB), so later, larger releases still fit (IMAGE_SLOT_MIB / IMAGE_VERITY_SLOT_MIB to set).
root_mib=$(mib_of "$out/root.squashfs")
verity_mib=$(mib_of "$out/root.verity")
slot_mib=${IMAGE_SLOT_MIB:-$(( (root_mib * 3 + 1) / 2 ))}
verity_slot_mib=${IMAGE_VERITY_SLOT_MIB:-$(( (verity_mib * 3 + 1) / 2 ))}
(( root_mib <= slot_mib && verity_mib <= verity_slot_mib )) ||
  { echo "root ($root_mib MiB) or hash tree ($verity_mib MiB) larger than its slot" >&2; exit 1; }
rm -f "$out/esp.img" "$out/sealforge.raw" "$out/sealforge.qcow2"
mkfs.vfat -C --invariant -i 5eaf0e5f -n SEALFORGE "$out/esp.img" $(( esp_mib * 1024 )) >/dev/null
# Files go in with SOURCE_DATE_EPOCH as their time (mcopy -m keeps the source's mtime).
stage=$out/esp-stage
rm -rf "$stage" && mkdir -p "$stage"
cp "$out/systemd-bootx64.efi" "$stage/BOOTX64.EFI"
cp "$REPO/packaging/image/files/loader.conf" "$stage/loader.conf"
cp "$out/sealforge.efi" "$stage/sealforge-$IMAGE_SERIAL.efi"
touch -d "@$SOURCE_DATE_EPOCH" "$stage"/* "$out/sealforge.efi"
mmd -i "$out/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
mcopy -m -i "$out/esp.img" "$stage/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -m -i "$out/esp.img" "$stage/loader.conf" ::/loader/loader.conf
# No boot counter: the image's first release is known good.
mcopy -m -i "$out/esp.img" "$stage/sealforge-$IMAGE_SERIAL.efi" "::/EFI/Linux/sealforge-$IMAGE_SERIAL.efi"
rm -rf "$stage"
total_mib=$(( 1 + esp_mib + 2 * (slot_mib + verity_slot_mib) + free_mib + 1 ))
truncate -s $(( total_mib * MiB )) "$out/sealforge.raw"
# A slot's root and verity partition UUIDs are the two halves of its root hash: that is how the
# initrd's systemd-veritysetup-generator finds the root the UKI names. An empty slot's come from
# sha256("sealforge-empty-<slot>-" + the other slot's root hash): they match no root hash, and the
# same build gives the same disk.
empty_b=$(printf 'sealforge-empty-b-%s' "$roothash" | sha256sum | cut -c1-64)
label_id=$(as_uuid "$(echo "sealforge-disk $roothash" | sha256sum)")
esp_uuid=$(as_uuid "$(echo "sealforge-esp $roothash" | sha256sum)")
root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
verity_type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5
sfdisk -q "$out/sealforge.raw" <<EOT
label: gpt
label-id: $label_id
unit: sectors
start=2048, size=$(( esp_mib * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_uuid, name=esp
size=$(( slot_mib * 2048 )), type=$root_type, uuid=$(as_uuid "${roothash:0:32}"), name=root-a
size=$(( verity_slot_mib * 2048 )), type=$verity_type, uuid=$(as_uuid "${roothash:32:32}"), name=verity-a
size=$(( slot_mib * 2048 )), type=$root_type, uuid=$(as_uuid "${empty_b:0:32}"), name=root-b
size=$(( verity_slot_mib * 2048 )), type=$verity_type, uuid=$(as_uuid "${empty_b:32:32}"), name=verity-b
EOT
dd if="$out/esp.img" of="$out/sealforge.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$out/root.squashfs" of="$out/sealforge.raw" bs=1M seek=$(( 1 + esp_mib )) conv=notrunc,sparse status=none
dd if="$out/root.verity" of="$out/sealforge.raw" bs=1M seek=$(( 1 + esp_mib + slot_mib )) conv=notrunc,sparse status=none
"${NICE[@]}" qemu-img convert -f raw -O qcow2 "$out/sealforge.raw" "$out/sealforge.qcow2"
echo "disk: sealforge.raw ${total_mib} MiB (sparse; slots ${slot_mib}+${verity_slot_mib} MiB), sealforge.qcow2 $(du -h "$out/sealforge.qcow2" | cut -f1)"
