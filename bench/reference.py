#!/usr/bin/env python3
"""Times the reference implementation (dlib through face_recognition) on the
same inputs `limen bench face` times Limen on, and prints one JSON object.

usage: reference.py --frame JPEG --face JPEG --box L,T,R,B --iterations N

- descriptor_ms: face_encodings(image, known_face_locations=[box]) on a
  decoded image (5-point landmarks + ResNet descriptor, no jitter).
- pipeline_ms: load_image_file + face_locations(upsample=1, "hog") +
  face_encodings on the frame, from the file's bytes to the vectors.
Each figure is the median over N runs after one warm-up run.
"""
import argparse
import json
import statistics
import time

import face_recognition as fr


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
    ap.add_argument("--frame", required=True)
    ap.add_argument("--face", required=True)
    ap.add_argument("--box", required=True)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()

    left, top, right, bottom = (int(v) for v in args.box.split(","))
    face = fr.load_image_file(args.face)
    css = [(top, right, bottom, left)]

    def descriptor():
        return fr.face_encodings(face, known_face_locations=css, model="small")

    def pipeline():
        image = fr.load_image_file(args.frame)
        boxes = fr.face_locations(image, number_of_times_to_upsample=1, model="hog")
        return fr.face_encodings(image, known_face_locations=boxes, model="small")

    faces_found = len(pipeline())
    print(json.dumps({
        "descriptor_ms": median_ms(descriptor, args.iterations),
        "pipeline_ms": median_ms(pipeline, args.iterations),
        "pipeline_faces": faces_found,
        "iterations": args.iterations,
    }))


if __name__ == "__main__":
    main()
