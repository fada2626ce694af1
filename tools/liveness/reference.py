#!/usr/bin/env python3
"""The reference for Limen's liveness check: Minivision's MiniFASNet models
run by PyTorch, with upstream's face detector, crop and resize (OpenCV).

usage: reference.py [--models DIR] [--time N] [--box X,Y,W,H] IMAGES_OR_LISTS...
  An argument ending in .txt is read as a list of image paths; a line may
  end with a tab and X,Y,W,H, the face box to use instead of detecting one.

One JSON line per image:
  {"path", "box": [x, y, w, h] or null (upstream's detector box, or the one
   given), "confidence": detector confidence or null,
   "crops": [{"model", "scale", "crop": [left, top, right, bottom],
              "sha256": SHA-256 of the 80x80 BGR crop bytes,
              "probabilities": [3 floats]}, ...],
   "live_score": summed probability of class 1 / 2, "label": arg-max class,
   "network_ms", "network_best_ms": median and fastest time of both networks
   on the crops (with --time)}

What is upstream's, re-stated here (upstream is not a package; its code is
read, not imported):
- detection (`src/anti_spoof_predict.py`, `Detection.get_bbox`): the Caffe
  RetinaFace in ./detection_model run by OpenCV's dnn on the image resized
  to about 192x192 pixels of area, mean (104, 117, 123); the most confident
  box, as [int(left), int(top), int(w + 1), int(h + 1)];
- crop (`src/generate_patches.py`): the box scaled around its centre by the
  model's scale (capped to fit), shifted inside the image, cut inclusive of
  its right and bottom edges and resized to 80x80 by cv2.resize (bilinear);
- the networks (`src/model_lib/MiniFASNet.py`): defined below by their
  layer structure, with channel counts read from the state dict, and loaded
  with strict=True, so every tensor name and shape must match; input the
  BGR bytes as floats, unnormalised; softmax over 3 classes, label 1 live.

Nothing is installed or downloaded at run time: run it with the Python of
the environment tools/liveness/setup.sh makes.
"""
import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time

import cv2
import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = [('2.7_80x80_MiniFASNetV2.pth', 2.7), ('4_0_0_80x80_MiniFASNetV1SE.pth', 4.0)]
SIZE = 80


class ConvBlock(nn.Module):
    """Convolution without bias, batch norm, PReLU unless `linear`."""

    def __init__(self, cin, cout, k, stride, pad, groups=1, linear=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        if not linear:
            self.prelu = nn.PReLU(cout)

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.prelu(x) if hasattr(self, 'prelu') else x


class Squeeze(nn.Module):
    def __init__(self, c, reduced):
        super().__init__()
        self.fc1 = nn.Conv2d(c, reduced, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(reduced)
        self.fc2 = nn.Conv2d(reduced, c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        g = x.mean(dim=(2, 3), keepdim=True)
        g = torch.relu(self.bn1(self.fc1(g)))
        return x * torch.sigmoid(self.bn2(self.fc2(g)))


class Block(nn.Module):
    """1x1 expand, depthwise 3x3, 1x1 project; residual blocks add their
    input (after the squeeze gate, where there is one)."""

    def __init__(self, sd, prefix, stride, residual):
        super().__init__()
        w = lambda n: sd[f'{prefix}.{n}.conv.weight'].shape
        cin, mid, cout = w('conv')[1], w('conv')[0], w('project')[0]
        self.conv = ConvBlock(cin, mid, 1, 1, 0)
        self.conv_dw = ConvBlock(mid, mid, 3, stride, 1, groups=mid)
        self.project = ConvBlock(mid, cout, 1, 1, 0, linear=True)
        self.residual = residual
        if f'{prefix}.se_module.fc1.weight' in sd:
            self.se_module = Squeeze(cout, sd[f'{prefix}.se_module.fc1.weight'].shape[0])

    def forward(self, x):
        y = self.project(self.conv_dw(self.conv(x)))
        if hasattr(self, 'se_module'):
            y = self.se_module(y)
        return x + y if self.residual else y


class Stage(nn.Module):
    def __init__(self, sd, prefix):
        super().__init__()
        n = 0
        while f'{prefix}.model.{n}.conv.conv.weight' in sd:
            n += 1
        self.model = nn.Sequential(*[Block(sd, f'{prefix}.model.{i}', 1, True) for i in range(n)])

    def forward(self, x):
        return self.model(x)


class MiniFASNet(nn.Module):
    def __init__(self, sd):
        super().__init__()
        c = lambda n: sd[f'{n}.conv.weight'].shape
        self.conv1 = ConvBlock(3, c('conv1')[0], 3, 2, 1)
        self.conv2_dw = ConvBlock(c('conv1')[0], c('conv2_dw')[0], 3, 1, 1, groups=c('conv2_dw')[0])
        self.conv_23 = Block(sd, 'conv_23', 2, False)
        self.conv_3 = Stage(sd, 'conv_3')
        self.conv_34 = Block(sd, 'conv_34', 2, False)
        self.conv_4 = Stage(sd, 'conv_4')
        self.conv_45 = Block(sd, 'conv_45', 2, False)
        self.conv_5 = Stage(sd, 'conv_5')
        self.conv_6_sep = ConvBlock(c('conv_6_sep')[1], c('conv_6_sep')[0], 1, 1, 0)
        k = c('conv_6_dw')[2]
        self.conv_6_dw = ConvBlock(c('conv_6_dw')[0], c('conv_6_dw')[0], k, 1, 0,
                                   groups=c('conv_6_dw')[0], linear=True)
        emb, feat = sd['linear.weight'].shape
        self.linear = nn.Linear(feat, emb, bias=False)
        self.bn = nn.BatchNorm1d(emb)
        self.prob = nn.Linear(emb, sd['prob.weight'].shape[0], bias=False)

    def forward(self, x):
        for stage in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34,
                      self.conv_4, self.conv_45, self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = stage(x)
        return self.prob(self.bn(self.linear(x.flatten(1))))


def load_model(path):
    sd = torch.load(path, map_location='cpu', weights_only=True)
    sd = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in sd.items()}
    model = MiniFASNet(sd)
    model.load_state_dict(sd, strict=True)
    return model.eval()


class Detector:
    def __init__(self):
        d = os.path.join(HERE, 'detection_model')
        self.net = cv2.dnn.readNetFromCaffe(os.path.join(d, 'deploy.prototxt'),
                                            os.path.join(d, 'Widerface-RetinaFace.caffemodel'))

    def box(self, img):
        h, w = img.shape[:2]
        small = img
        if w * h >= 192 * 192:
            r = w / h
            small = cv2.resize(img, (int(192 * math.sqrt(r)), int(192 / math.sqrt(r))),
                               interpolation=cv2.INTER_LINEAR)
        self.net.setInput(cv2.dnn.blobFromImage(small, 1, mean=(104, 117, 123)), 'data')
        out = self.net.forward('detection_out').squeeze()
        out = out.reshape(-1, 7)
        best = out[np.argmax(out[:, 2])]
        left, top, right, bottom = best[3] * w, best[4] * h, best[5] * w, best[6] * h
        return [int(left), int(top), int(right - left + 1), int(bottom - top + 1)], float(best[2])


def crop_box(src_w, src_h, box, scale):
    x, y, bw, bh = box
    scale = min((src_h - 1) / bh, min((src_w - 1) / bw, scale))
    nw, nh = bw * scale, bh * scale
    cx, cy = bw / 2 + x, bh / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0:
        r -= l
        l = 0
    if t < 0:
        b -= t
        t = 0
    if r > src_w - 1:
        l -= r - src_w + 1
        r = src_w - 1
    if b > src_h - 1:
        t -= b - src_h + 1
        b = src_h - 1
    return int(l), int(t), int(r), int(b)


def crop(img, box, scale):
    l, t, r, b = crop_box(img.shape[1], img.shape[0], box, scale)
    return (l, t, r, b), cv2.resize(img[t:b + 1, l:r + 1], (SIZE, SIZE))


def probabilities(model, patch):
    x = torch.from_numpy(patch.transpose(2, 0, 1).copy()).float().unsqueeze(0)
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)[0].numpy()


def times_ms(fn, n):
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', default=os.path.join(HERE, '../../models/liveness'))
    ap.add_argument('--time', type=int, default=0, help='time the networks over N runs')
    ap.add_argument('--box', help='X,Y,W,H for every image instead of detecting')
    ap.add_argument('inputs', nargs='+')
    args = ap.parse_args()
    torch.set_num_threads(1)
    models = [(name, scale, load_model(os.path.join(args.models, name))) for name, scale in MODELS]
    detector = Detector()
    items = []
    for a in args.inputs:
        if a.endswith('.txt'):
            for line in open(a):
                if line.strip():
                    path, _, box = line.rstrip('\n').partition('\t')
                    items.append((path, box or args.box))
        else:
            items.append((a, args.box))
    for path, given in items:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            print(json.dumps({'path': path, 'error': 'unreadable'}), flush=True)
            continue
        if given:
            box, confidence = [int(v) for v in given.split(',')], None
        else:
            box, confidence = detector.box(img)
        crops, total = [], np.zeros(3)
        patches = []
        for name, scale, model in models:
            region, patch = crop(img, box, scale)
            p = probabilities(model, patch)
            total += p
            patches.append((model, patch))
            crops.append({'model': name, 'scale': scale, 'crop': list(region),
                          'sha256': hashlib.sha256(patch.tobytes()).hexdigest(),
                          'probabilities': [float(v) for v in p]})
        label = int(np.argmax(total))
        line = {'path': path, 'box': box, 'confidence': confidence, 'crops': crops,
                'live_score': float(total[1] / 2), 'label': label}
        if args.time:
            times = times_ms(lambda: [probabilities(m, p) for m, p in patches], args.time)
            line['network_ms'] = statistics.median(times)
            line['network_best_ms'] = min(times)
        print(json.dumps(line), flush=True)


if __name__ == '__main__':
    sys.exit(main())
