#!/usr/bin/env bash
# `make image`: every step in order, each timed. Output in build/image/ (see docs/image.md).
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$REPO/.venv/bin/python}
step() { local t0=$SECONDS; "$@"; echo "  ($(( SECONDS - t0 )) s)"; }
# The wheelhouse is rebuilt each time so the image holds this checkout (WHEELHOUSE= to reuse one).
[[ -n "${WHEELHOUSE:-}" ]] || step env PYTHON="$python" "$REPO/packaging/build-wheelhouse.sh"
# The release key's public half goes into the root (/usr/share/sealforge/release.pub: the updater
# checks bundles with it), so the key is made or read before the root is built.
key=${IMAGE_SIGNING_KEY:-$IMAGE_DIR/keys/release-test.pem}
step "$python" "$here/manifest.py" pubkey "$key" "$IMAGE_DIR/release.pub"
step "$here/rootfs.sh"
step "$here/squash.sh"
step "$here/uki.sh"
step "$here/disk.sh"
step "$python" "$here/manifest.py" sign "$IMAGE_DIR" "$key"
echo "image built in $SECONDS s: $IMAGE_DIR"
