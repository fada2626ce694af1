#!/usr/bin/env python3
"""Reference outputs of Intel's Open Model Zoo face models on face boxes, as
Open Model Zoo's face recognition demo prepares them, for Limen's agreement
tests. One JSON line per face on stdout; a summary on stderr.

usage: reference.py --models DIR --faces JSONL [--root DIR]
  --faces: JSON lines with "path" and "faces": [{"box": [l, t, r, b]}] (the
           format of shared/tools/peer/peer_embed.py; boxes are dlib's,
           inclusive); images with exactly one face are used.
Each line: {"path", "box", "region": [l, t, r, b) of the aligner's input,
            "aligner_crop_sha256", "aligner_output": 10 numbers,
            "points": 5 [x, y] in the image, "chip_sha256",
            "output": the 256 network outputs as they are}
Crops are hashed as RGB bytes. Images are decoded by Pillow, as Limen's
decoder reproduces it. ONNX Runtime runs the networks (converted from the
IR by ir_graph.py); a NumPy interpreter of the same IR checks it.
"""
import argparse
import hashlib
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

from ir_graph import IrGraph

ROI_SCALE = 1.15
# FaceIdentifier.REFERENCE_LANDMARKS of the demo.
REFERENCE = np.array([(30.2946 / 96, 51.6963 / 112), (65.5318 / 96, 51.5014 / 112),
                      (48.0252 / 96, 71.7366 / 112), (33.5493 / 96, 92.3655 / 112),
                      (62.7299 / 96, 92.2041 / 112)])
WARP = dict(flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def region(box, width, height):
    """The demo's ROI (FaceDetector.Result.rescale_roi, clip; utils.crop) in
    its float32 arithmetic, for a dlib box with inclusive bounds."""
    left, top, right, bottom = box
    position = np.array([left, top], np.float32)
    size = np.array([right - left + 1, bottom - top + 1], np.float32)
    position -= size * 0.5 * (ROI_SCALE - 1.0)
    size *= ROI_SCALE
    position[:] = np.clip(position, [0, 0], [width, height])
    size[:] = np.clip(size, [0, 0], [width, height])
    p1 = np.clip(position.astype(int), [0, 0], [width, height])
    p2 = np.clip((position + size).astype(int), [0, 0], [width, height])
    return [int(p1[0]), int(p1[1]), int(p2[0]), int(p2[1])]


def similarity(src, dst):
    """The demo's FaceIdentifier.get_transform: a map taking src onto dst."""
    src, dst = src.astype(float).copy(), dst.astype(float).copy()
    stats = []
    for a in (src, dst):
        mean = a.mean(axis=0)
        a -= mean
        std = a.std()
        a /= std
        stats.append((mean, std))
    (src_mean, src_std), (dst_mean, dst_std) = stats
    u, _, vt = np.linalg.svd(src.T @ dst)
    r = (u @ vt).T
    m = np.empty((2, 3))
    m[:, :2] = r * (dst_std / src_std)
    m[:, 2] = dst_mean - m[:, :2] @ src_mean
    return m


def nchw(bgr):
    return np.ascontiguousarray(bgr.astype(np.float32).transpose(2, 0, 1)[None])


def rgb_sha256(bgr):
    return hashlib.sha256(np.ascontiguousarray(bgr[:, :, ::-1]).tobytes()).hexdigest()


class Net:
    """One network in ONNX Runtime; with `check`, every run is also computed
    by the NumPy interpreter and the largest gap kept."""

    def __init__(self, models, name, check=True):
        self.graph = IrGraph(f"{models}/{name}.xml", f"{models}/{name}.bin")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(self.graph.to_onnx().SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.check = check
        self.numpy_gap = 0.0

    def __call__(self, x):
        out = self.session.run(None, {self.input: x})[0].ravel()
        if self.check:
            gap = float(np.abs(self.graph.run_numpy(x).ravel() - out).max())
            self.numpy_gap = max(self.numpy_gap, gap)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--faces", required=True)
    ap.add_argument("--root", default=".")
    args = ap.parse_args()
    aligner = Net(args.models, "landmarks-regression-retail-0009")
    reid = Net(args.models, "face-reidentification-retail-0095")
    count = 0
    for line in open(args.faces):
        record = json.loads(line)
        if len(record["faces"]) != 1:
            continue
        box = record["faces"][0]["box"]
        rgb = np.asarray(Image.open(os.path.join(args.root, record["path"])).convert("RGB"))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        height, width = bgr.shape[:2]
        l, t, r, b = region(box, width, height)
        w, h = r - l, b - t
        # cv2.resize's sample positions over the region, as one warp.
        resize = np.array([[w / 48, 0, l + 0.5 * w / 48 - 0.5], [0, h / 48, t + 0.5 * h / 48 - 0.5]])
        crop = cv2.warpAffine(bgr, resize, (48, 48), **WARP)
        marks = aligner(nchw(crop))
        points = marks.reshape(5, 2).astype(float) * [w, h] + [l, t]
        chip = cv2.warpAffine(bgr, similarity(REFERENCE * 128, points), (128, 128), **WARP)
        output = reid(nchw(chip))
        print(json.dumps({
            "path": record["path"], "box": box, "region": [l, t, r, b],
            "aligner_crop_sha256": rgb_sha256(crop), "aligner_output": [float(v) for v in marks],
            "points": points.tolist(), "chip_sha256": rgb_sha256(chip),
            "output": [float(v) for v in output],
        }))
        count += 1
    print(f"{count} faces; OpenCV {cv2.__version__}, ONNX Runtime {ort.__version__}; "
          f"largest gap to the NumPy interpreter: aligner {aligner.numpy_gap:.2e}, "
          f"re-identification {reid.numpy_gap:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
