#!/usr/bin/env bash
# The next release of a built image, cheaply: the same root tree (no new mmdebstrap) with a higher
# IMAGE_SERIAL and a marker file, squashed, hashed and put in a signed UKI again, in another folder.
# For trying updates (tests/image, a site's rehearsal): a real release is a full `make image`.
#
#     next-release.sh BASE_DIR OUT_DIR [CUSTOMIZE_CMD]
#
# BASE_DIR: a finished build (build/image). OUT_DIR: made afresh; gets rootfs/, root.squashfs,
# root.verity, roothash, cmdline, os-release and the signed sealforge.efi, with IMAGE_SERIAL
# (default: the base's + 1) in both os-releases and /usr/share/sealforge/next-release holding it.
# CUSTOMIZE_CMD, when given, runs with the copied root tree as its one argument before squashing.
# SB_KEY/SB_CERT as for uki.sh; bundle it with packaging/image/bundle.py.
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
base=${1:?usage: next-release.sh BASE_DIR OUT_DIR [CUSTOMIZE_CMD]}
out=${2:?usage: next-release.sh BASE_DIR OUT_DIR [CUSTOMIZE_CMD]}
customize=${3:-}
base_serial=$(sed -n 's/^IMAGE_SERIAL=//p' "$base/os-release")
export IMAGE_SERIAL=${NEXT_SERIAL:-$(( base_serial + 1 ))}
export IMAGE_VERSION="$IMAGE_SERIAL-$IMAGE_DESCRIBE"
(( IMAGE_SERIAL > base_serial )) || { echo "serial $IMAGE_SERIAL is not above the base's $base_serial" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
t0=$SECONDS
cp -a --reflink=auto "$base/rootfs" "$out/rootfs"
echo "$IMAGE_SERIAL" > "$out/rootfs/usr/share/sealforge/next-release"
[[ -z "$customize" ]] || $customize "$out/rootfs"
IMAGE_DIR=$out "$here/squash.sh"
IMAGE_DIR=$out "$here/uki.sh"
echo "next release: serial $IMAGE_SERIAL in $out ($(( SECONDS - t0 )) s)"
