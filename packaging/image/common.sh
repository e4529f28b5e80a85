# Shared settings for the image build steps (sourced, not run). Every step reads and writes under
# $IMAGE_DIR so a build is one folder that `make clean-image` removes.
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IMAGE_DIR=${IMAGE_DIR:-$REPO/build/image}
# Reproducible timestamps: the last commit's time unless the caller pins one.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
export SOURCE_DATE_EPOCH
# The version in the UKI's os-release: the commit, "-dirty" when the checkout has changes.
IMAGE_VERSION=${IMAGE_VERSION:-$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)}
export IMAGE_VERSION
# Debian mirror and suite of the root file system; the mirror is the one apt on this host uses.
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
# Heavy steps yield the CPU to anything interactive on the build host.
NICE=(nice -n 19)
mkdir -p "$IMAGE_DIR"
