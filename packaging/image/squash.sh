#!/usr/bin/env bash
# Step 2: the root tree as a read-only squashfs and its dm-verity hash tree. The root hash goes on
# the UKI's command line, so the signed UKI pins every byte of the root.
source "$(dirname "$0")/common.sh"
root=$IMAGE_DIR/rootfs
out=$IMAGE_DIR
rm -f "$out/root.squashfs" "$out/root.verity" "$out/roothash"
# The release in os-release (the UKI's .osrel is copied from it): IMAGE_SERIAL is what the updater
# compares, IMAGE_VERSION (serial first) what systemd-boot sorts by. Rewritten at each squash, so a
# next release made from the same tree (next-release.sh) carries its own.
osrel=$root/usr/lib/os-release
sed -i '/^IMAGE_\(ID\|VERSION\|SERIAL\)=/d' "$osrel"
printf 'IMAGE_ID=sealforge\nIMAGE_VERSION=%s\nIMAGE_SERIAL=%s\n' "$IMAGE_VERSION" "$IMAGE_SERIAL" >> "$osrel"
# Timestamps come from SOURCE_DATE_EPOCH (mksquashfs reads it); owners stay as in the tree.
# /boot is left empty: kernel and initrd travel inside the signed UKI.
"${NICE[@]}" mksquashfs "$root" "$out/root.squashfs" -noappend -quiet -no-progress -comp zstd -Xcompression-level 3 \
  -processors 2 \
  -wildcards -e 'boot/*' 'proc/*' 'sys/*' 'dev/*' 'run/*'
# A whole number of MiB, so the partition holds exactly what was hashed.
size=$(stat -c %s "$out/root.squashfs")
truncate -s $(( (size + 1048575) / 1048576 * 1048576 )) "$out/root.squashfs"
# Salt and UUID derived from the content, so the same root gives the same hash tree.
digest=$(sha256sum "$out/root.squashfs" | cut -c1-64)
uuid=$(echo "$digest" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
"${NICE[@]}" veritysetup format "$out/root.squashfs" "$out/root.verity" --salt="$digest" --uuid="$uuid" \
  --root-hash-file="$out/roothash" >/dev/null
size=$(stat -c %s "$out/root.verity")
truncate -s $(( (size + 1048575) / 1048576 * 1048576 )) "$out/root.verity"
echo "root: $(du -h --apparent-size "$out/root.squashfs" | cut -f1), roothash $(cat "$out/roothash")"
