# Shared settings for the image build steps (sourced, not run). Every step reads and writes under
# $IMAGE_DIR so a build is one folder that `make clean-image` removes.
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IMAGE_DIR=${IMAGE_DIR:-$REPO/build/image}
# Reproducible timestamps: the last commit's time unless the caller pins one.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
export SOURCE_DATE_EPOCH
# The release serial: an integer that grows with every release (A/B updates refuse a bundle whose
# serial is not above the running one). The build's SOURCE_DATE_EPOCH unless pinned.
IMAGE_SERIAL=${IMAGE_SERIAL:-$SOURCE_DATE_EPOCH}
[[ "$IMAGE_SERIAL" =~ ^[0-9]+$ ]] || { echo "IMAGE_SERIAL must be a whole number: $IMAGE_SERIAL" >&2; exit 1; }
# The commit, "-dirty" when the checkout has changes (IMAGE_DESCRIBE pins it).
IMAGE_DESCRIBE=${IMAGE_DESCRIBE:-$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)}
# IMAGE_VERSION in os-release starts with the serial: systemd-boot orders the UKIs of one IMAGE_ID
# by IMAGE_VERSION, newest first, and boots the first; a bare commit hash would not sort.
IMAGE_VERSION="$IMAGE_SERIAL-$IMAGE_DESCRIBE"
export IMAGE_SERIAL IMAGE_DESCRIBE IMAGE_VERSION
# Debian mirror and suite of the root file system; the mirror is the one apt on this host uses.
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
# Heavy steps yield the CPU to anything interactive on the build host.
NICE=(nice -n 19)
mkdir -p "$IMAGE_DIR"
