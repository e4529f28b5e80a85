#!/usr/bin/env bash
# Builds the image twice from one commit and says whether the two signed manifests list the same
# artifact hashes (docs/image.md, "Reproducible builds"). Both builds use a clean export of the
# commit (not the working tree, which may hold uncommitted changes), one wheelhouse, the commit's
# time as SOURCE_DATE_EPOCH and the same mirror. Where they differ, it names the differing files of
# the two root trees, the usual cause. Takes two image builds (about 20 min on 2 cores).
#
#     packaging/image/check-reproducible.sh [COMMIT]     -> build/repro/{a,b}, exit 0 when identical
source "$(dirname "$0")/common.sh"
commit=$(git -C "$REPO" rev-parse "${1:-HEAD}")
python=${PYTHON:-$REPO/.venv/bin/python}
work=$REPO/build/repro
rm -rf "$work"
mkdir -p "$work/src"
git -C "$REPO" archive "$commit" | tar -x -C "$work/src"
export SOURCE_DATE_EPOCH IMAGE_DESCRIBE
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct "$commit")
IMAGE_DESCRIBE=$(git -C "$REPO" describe --always "$commit")
PYTHON=$python bash "$work/src/packaging/build-wheelhouse.sh"
for n in a b; do
  t0=$SECONDS
  REPO=$work/src IMAGE_DIR=$work/$n WHEELHOUSE=$work/src/dist/wheelhouse PYTHON=$python \
    IMAGE_SIGNING_KEY=$work/release-test.pem bash "$work/src/packaging/image/build.sh"
  echo "build $n: $(( SECONDS - t0 )) s"
done
if cmp -s "$work/a/manifest.json" "$work/b/manifest.json"; then
  echo "reproducible: commit $commit, manifest sha256 $(sha256sum < "$work/a/manifest.json" | cut -c1-64)"
  exit 0
fi
echo "NOT reproducible: commit $commit; artifacts whose hashes differ:"
"$python" - "$work/a/manifest.json" "$work/b/manifest.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for name in sorted(a["artifacts"]):
    if a["artifacts"][name] != b["artifacts"].get(name):
        print(f"  {name}")
if a["roothash"] != b["roothash"]:
    print("  roothash")
EOF
echo "files of the root trees that differ (content, mode, owner or link target; mtimes are set by mksquashfs):"
diff <(cd "$work/a/rootfs" && find . -path ./boot -prune -o -printf '%p %m %U:%G %l\n' | sort) \
     <(cd "$work/b/rootfs" && find . -path ./boot -prune -o -printf '%p %m %U:%G %l\n' | sort) | head -50 || true
diff -rq --no-dereference "$work/a/rootfs" "$work/b/rootfs" 2>/dev/null | head -50 || true
exit 1
