#!/usr/bin/env bash
# The live page's JavaScript, bundled into camcount_api/static/vendor/ at set-up so the page and
# /docs work offline and never load from a CDN: uPlot (MIT, sparklines) and swagger-ui-dist
# (Apache-2.0, the OpenAPI page). Each tarball comes from npm (`npm pack`) into a temporary
# directory, is checked against its pinned sha512, and only its dist files and licence are kept.
# Idempotent: a no-op once the pinned versions are in place.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=camcount_api/static/vendor
# name@version  sha512 (npm's `dist.integrity`)  files to keep from package/
PACKAGES=(
  "uplot@1.6.32 sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw== dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE"
  "swagger-ui-dist@5.35.0 sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ== swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE"
)
STAMP="$DEST/VERSIONS"
WANT=$(printf '%s\n' "${PACKAGES[@]}" | cut -d' ' -f1)
[ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] && exit 0

command -v npm >/dev/null || { echo "[vendor_js] npm is missing: run scripts/install_system.sh" >&2; exit 1; }
echo "[vendor_js] bundling $(echo $WANT) into $DEST" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${PACKAGES[@]}"; do
  read -r spec integrity files <<<"$entry"
  name=${spec%@*}
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  tarball=$(ls "$tmp"/"${name}"-*.tgz)
  got=$(python3 -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")
  [ "$got" = "$integrity" ] || { echo "[vendor_js] $spec: checksum mismatch ($got)" >&2; exit 1; }
  mkdir -p "$tmp/$name"
  tar -xzf "$tarball" -C "$tmp/$name"
  for file in $files; do
    case "$file" in
      LICENSE|NOTICE) cp "$tmp/$name/package/$file" "$DEST/$name.$file" ;;
      *) cp "$tmp/$name/package/$file" "$DEST/" ;;
    esac
  done
done
echo "$WANT" > "$STAMP"
