#!/usr/bin/env python3
"""Times the reference for Limen's Open Model Zoo model version (ONNX Runtime
on one thread, OpenCV crops) on the input `limen bench face` times Limen on,
and prints one JSON object.

usage: timing.py --models DIR --face JPEG --box L,T,R,B --iterations N
- face_ms: region, 48x48 crop, aligner, similarity, 128x128 crop and the
  re-identification network for the face in the box of a decoded image.
- network_ms: the re-identification network alone on its 128x128 input.
Each figure is the median over N runs after one warm-up run.
"""
import argparse
import json
import statistics
import time

import cv2
import numpy as np
from PIL import Image

from reference import REFERENCE, WARP, Net, nchw, region, similarity


def median_ms(fn, iterations):
    fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--face", required=True)
    ap.add_argument("--box", required=True)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    aligner = Net(args.models, "landmarks-regression-retail-0009", check=False)
    reid = Net(args.models, "face-reidentification-retail-0095", check=False)
    bgr = np.ascontiguousarray(np.asarray(Image.open(args.face).convert("RGB"))[:, :, ::-1])
    box = [int(v) for v in args.box.split(",")]

    def face():
        l, t, r, b = region(box, bgr.shape[1], bgr.shape[0])
        w, h = r - l, b - t
        resize = np.array([[w / 48, 0, l + 0.5 * w / 48 - 0.5], [0, h / 48, t + 0.5 * h / 48 - 0.5]])
        marks = aligner(nchw(cv2.warpAffine(bgr, resize, (48, 48), **WARP)))
        points = marks.reshape(5, 2).astype(float) * [w, h] + [l, t]
        chip = cv2.warpAffine(bgr, similarity(REFERENCE * 128, points), (128, 128), **WARP)
        return reid(nchw(chip))

    chip_input = nchw(np.zeros((128, 128, 3), np.uint8) + 128)
    print(json.dumps({
        "face_ms": median_ms(face, args.iterations),
        "network_ms": median_ms(lambda: reid(chip_input), args.iterations),
        "iterations": args.iterations,
    }))


if __name__ == "__main__":
    main()
