#!/usr/bin/env bash
# Extract the sample clip vtest.avi (768x576, 10 fps, 795 frames) from Debian's opencv-doc
# package (Apache-2.0 / BSD-3-Clause; see data/README.md). Idempotent.
set -euo pipefail
DEST=${1:-data/vtest.avi}
[ -s "$DEST" ] && exit 0
mkdir -p "$(dirname "$DEST")"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download opencv-doc >/dev/null 2>&1) || {
  apt-get update -qq && (cd "$TMP" && apt-get download opencv-doc >/dev/null)
}
dpkg-deb --fsys-tarfile "$TMP"/opencv-doc_*.deb | tar -x -C "$TMP" ./usr/share/doc/opencv-doc/examples/data/vtest.avi
mv "$TMP/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$DEST"
echo "sample video: $DEST" >&2
