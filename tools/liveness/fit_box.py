#!/usr/bin/env python3
"""Fits the mapping from a dlib HOG face box to the box upstream's liveness
detector (RetinaFace) draws for the same face.

usage: fit_box.py HOG.jsonl REFERENCE.jsonl
  HOG.jsonl: `limen face embed --json` (or the dlib peer's) output, boxes as
  [left, top, right, bottom], inclusive. REFERENCE.jsonl: reference.py's
  output, boxes as [x, y, width, height].
Uses images with exactly one HOG face whose reference box is confident
(>= 0.9) and centred inside it. With w the HOG box's width (its boxes are
square), the fit is
  width = a * w, height = b * w,
  centre = HOG centre + (c * w, d * w),
each coefficient the median over the faces; prints them with their spread
(median absolute deviation) and the box IoU the mapping reaches.
"""
import json
import statistics
import sys


def iou(a, b):
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = w * h
    return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter)


def main():
    hog = {}
    for line in open(sys.argv[1]):
        d = json.loads(line)
        hog[d['path']] = [f['box'] for f in d['faces']]
    rows = []
    for line in open(sys.argv[2]):
        d = json.loads(line)
        boxes = hog.get(d['path'])
        if not boxes or len(boxes) != 1 or d.get('confidence') is None or d['confidence'] < 0.9:
            continue
        l, t, r, b = boxes[0]
        w = r - l + 1
        cx, cy = l + w / 2, t + (b - t + 1) / 2
        x, y, rw, rh = d['box']
        rcx, rcy = x + rw / 2, y + rh / 2
        if not (l <= rcx <= r and t <= rcy <= b):
            continue
        rows.append((rw / w, rh / w, (rcx - cx) / w, (rcy - cy) / w, (l, t, r + 1, b + 1, w),
                     (x, y, x + rw, y + rh)))
    coef = [statistics.median(r[i] for r in rows) for i in range(4)]
    spread = [statistics.median(abs(r[i] - coef[i]) for r in rows) for i in range(4)]
    ious = []
    for _, _, _, _, (l, t, r, b, w), ref in rows:
        cx, cy = l + w / 2 + coef[2] * w, t + (b - t) / 2 + coef[3] * w
        mapped = (cx - coef[0] * w / 2, cy - coef[1] * w / 2, cx + coef[0] * w / 2, cy + coef[1] * w / 2)
        ious.append(iou(mapped, ref))
    ious.sort()
    print(json.dumps({
        'faces': len(rows),
        'width_per_hog_width': coef[0], 'height_per_hog_width': coef[1],
        'centre_x_offset_per_hog_width': coef[2], 'centre_y_offset_per_hog_width': coef[3],
        'median_absolute_deviation': spread,
        'iou_mapped_vs_reference': {'median': statistics.median(ious), 'p10': ious[len(ious) // 10],
                                    'min': ious[0]},
    }, indent=1))


if __name__ == '__main__':
    main()
