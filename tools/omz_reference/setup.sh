#!/usr/bin/env bash
# Installs the reference for Limen's Open Model Zoo face models into a
# throw-away virtual environment: ONNX Runtime runs the IR graphs converted
# to ONNX, OpenCV cuts the crops, NumPy cross-checks the runtime, Pillow
# decodes as Limen does. Usage: setup.sh [VENV_DIR] (default /tmp/limen-omz-ref)
set -euo pipefail
venv=${1:-/tmp/limen-omz-ref}
python3 -m venv "$venv"
"$venv/bin/pip" install -q numpy==2.4.6 opencv-python-headless==5.0.0.93 \
    onnx==1.23.2 onnxruntime==1.32.0 pillow==13.0.0
"$venv/bin/python" -c "import cv2, onnxruntime; print('omz reference ready: OpenCV', cv2.__version__, 'ONNX Runtime', onnxruntime.__version__)"
