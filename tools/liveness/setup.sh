#!/usr/bin/env bash
# Installs the liveness reference (PyTorch CPU and OpenCV from PyPI) into a
# throw-away virtual environment. Usage: setup.sh [VENV_DIR]
# (default: /tmp/limen-liveness-ref). PyPI's Linux torch wheel brings CUDA
# libraries (about 5 GB in all); only its CPU path is used.
set -euo pipefail
venv=${1:-/tmp/limen-liveness-ref}
python3 -m venv "$venv"
# OpenCV 5 no longer reads Caffe models (upstream's face detector).
"$venv/bin/pip" install -q torch==2.15.0 numpy==2.4.6 opencv-python-headless==4.14.0.94
"$venv/bin/python" -c "import torch, cv2; print('liveness reference ready: torch', torch.__version__, 'opencv', cv2.__version__)"
