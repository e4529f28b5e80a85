#!/usr/bin/env bash
# mmdebstrap customize hook: turns the fresh Debian tree ($1) into the appliance's root. Runs on the
# build host with the tree as $1; everything that must run inside uses chroot.
set -euo pipefail
root=$1
repo=$2
release_pub=$3
files=$repo/packaging/image/files
# Commands inside the tree get a clean environment: nothing of the build host's (pip settings, locale)
# leaks into what they do.
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" PYTHONHASHSEED=0 "$@"; }
# The appliance: a venv in /opt/sealforge from the offline wheelhouse only (no index at build time
# either, so the image holds exactly the hashed wheels). torch is the CPU wheel pinned there.
in_root python3 -m venv /opt/sealforge/venv
in_root /opt/sealforge/venv/bin/pip install -q --no-index --no-compile --find-links /tmp/wheelhouse \
  torch==2.13.0
in_root /opt/sealforge/venv/bin/pip install -q --no-index --no-compile --find-links /tmp/wheelhouse \
  sealforge sealforge-verify
in_root /opt/sealforge/venv/bin/pip install -q --no-index --no-compile --no-deps \
  --find-links /tmp/wheelhouse drf-spectacular-sidecar
# Byte-code compiled once here with fixed mtimes (SOURCE_DATE_EPOCH), since the root is read-only.
in_root /opt/sealforge/venv/bin/python -m compileall -q \
  --invalidation-mode unchecked-hash /opt/sealforge/venv/lib >/dev/null || true
in_root /opt/sealforge/venv/bin/pip uninstall -q -y pip setuptools wheel 2>/dev/null || true
rm -rf "$root/tmp/wheelhouse"
# Units, account, config. The account is made now: /etc is read-only once booted.
install -m 0644 "$repo"/systemd/sealforge-api.service "$repo"/systemd/sealforge-webhooks.service \
  "$repo"/systemd/sealforge-worker@.service "$root/etc/systemd/system/"
install -D -m 0644 "$repo/systemd/sealforge.sysusers.conf" "$root/usr/lib/sysusers.d/sealforge.conf"
install -D -m 0644 "$repo/systemd/sealforge.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/sealforge.conf"
in_root systemd-sysusers
install -D -m 0644 "$files/sealforge.toml" "$root/etc/sealforge/sealforge.toml"
install -D -m 0644 "$files/fstab" "$root/etc/fstab"
install -D -m 0644 "$files/50-sealforge-data.conf" "$root/usr/lib/repart.d/50-sealforge-data.conf"
# The default network is in /usr/lib so that a site file of the same name (copied from the data
# partition to /run by sealforge-network.service) replaces it.
install -D -m 0644 "$files/80-dhcp.network" "$root/usr/lib/systemd/network/80-dhcp.network"
install -m 0644 "$files/sealforge-console.service" "$files/sealforge-network.service" "$root/etc/systemd/system/"
for unit in sealforge-api.service sealforge-webhooks.service sealforge-worker@.service; do
  install -D -m 0644 "$files/sealforge-data.conf" "$root/etc/systemd/system/$unit.d/50-sealforge-data.conf"
done
install -D -m 0644 "$files/sealforge-console.py" "$root/usr/lib/sealforge/sealforge-console.py"
install -m 0755 "$files/show-banner" "$files/site-network" "$root/usr/lib/sealforge/"
install -D -m 0644 "$files/journald.conf" "$root/etc/systemd/journald.conf.d/50-sealforge.conf"
mkdir -p "$root/var/lib/sealforge"
# A/B updates (docs/image.md, "Updates"). The release key's public half: the updater checks bundles
# against it, and it sits in the verity root, so only a signed release can change it.
install -D -m 0644 "$release_pub" "$root/usr/share/sealforge/release.pub"
# The ESP's mount point: systemd-gpt-auto-generator mounts the ESP the box booted from on /efi
# when it exists (else on the empty /boot).
mkdir -p "$root/efi"
# A trial boot is committed (systemd-bless-boot) only once sealforge-healthy says the appliance is up.
install -m 0755 "$files/sealforge-healthy" "$root/usr/lib/sealforge/"
install -m 0644 "$files/sealforge-healthy.service" "$root/etc/systemd/system/"
install -D -m 0644 "$files/bless-boot-efi.conf" "$root/etc/systemd/system/systemd-bless-boot.service.d/50-efi.conf"
in_root systemctl enable sealforge-healthy.service
# The updater's units (a path unit that applies an uploaded bundle as root) when they exist.
for unit in "$files"/sealforge-update.*; do
  [[ -f "$unit" ]] || continue
  install -m 0644 "$unit" "$root/etc/systemd/system/"
  case $unit in *.path) in_root systemctl enable "$(basename "$unit")" ;; esac
done
in_root systemctl enable systemd-networkd.service sealforge-api.service sealforge-webhooks.service \
  sealforge-console.service sealforge-network.service
for queue in interactive default gpu free sim; do
  in_root systemctl enable "sealforge-worker@$queue.service"
done
# systemd-firstboot would wait for answers on the console at every boot (the machine-id is transient).
in_root systemctl mask systemd-firstboot.service
# No login on the console, no root password: the appliance is administered through its API.
in_root passwd -l root >/dev/null
# machine-id empty: systemd makes a transient one on the read-only root at each boot.
: > "$root/etc/machine-id"
# Nothing host- or time-specific stays in the tree.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/* \
  "$root"/var/cache/ldconfig/aux-cache "$root/etc/hostname" "$root/etc/resolv.conf"
echo sealforge > "$root/etc/hostname"
