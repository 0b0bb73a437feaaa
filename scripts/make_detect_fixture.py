"""Seeded reference for Shears' COCO-style detection mAP (fixtures/detect-map.json)
and two tiny constant-output ONNX "detectors" plus a YOLO folder for the CLI test.

Run with a Python that has pycocotools, numpy and onnx (see the runtime README):
  /tmp/cocovenv/bin/python scripts/make_detect_fixture.py
The JSON holds the ground truth, the detections (boxes x1,y1,x2,y2 in pixels) and
pycocotools' COCOeval numbers, so CI needs no Python.
"""
import json
import os
import struct
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'fixtures')


def r2(v):
    return float(round(float(v), 2))


def synth(seed=17, images=20, classes=4):
    """GT for classes 0..2 only; class 3 appears only in detections (no GT).
    Class 2 has GT but no detections."""
    rng = np.random.default_rng(seed)
    gts, dts = [], []
    for i in range(images):
        w, h = 320, 240
        g_boxes, g_cls = [], []
        for _ in range(int(rng.integers(0, 7))):
            bw, bh = rng.uniform(8, 120), rng.uniform(8, 100)
            x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            g_boxes.append([r2(x1), r2(y1), r2(x1 + bw), r2(y1 + bh)])
            g_cls.append(int(rng.integers(0, 3)))
        d_boxes, d_cls, d_scores = [], [], []
        for b, c in zip(g_boxes, g_cls):
            if c == 2 or rng.random() < 0.15:  # class 2: never detected; some misses
                continue
            bw, bh = b[2] - b[0], b[3] - b[1]
            for _ in range(1 + int(rng.random() < 0.3)):  # duplicates on one GT
                n = rng.normal(0, 0.07, 4) * [bw, bh, bw, bh]
                d_boxes.append([r2(b[0] + n[0]), r2(b[1] + n[1]), r2(b[2] + n[2]), r2(b[3] + n[3])])
                d_cls.append(c if rng.random() > 0.1 else int(rng.integers(0, 2)))
                d_scores.append(float(round(rng.uniform(0.05, 1.0), 6)))
        n_fp = 130 if i == 3 else int(rng.integers(0, 5))  # image 3: > 100 detections of one class
        for k in range(n_fp):
            bw, bh = rng.uniform(5, 90), rng.uniform(5, 90)
            x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            d_boxes.append([r2(x1), r2(y1), r2(x1 + bw), r2(y1 + bh)])
            d_cls.append(0 if i == 3 else (3 if k % 3 == 0 else int(rng.integers(0, 2))))
            d_scores.append(float(round(rng.uniform(0.001, 0.9), 6)))
        gts.append({'boxes': g_boxes, 'classes': g_cls})
        dts.append({'boxes': d_boxes, 'classes': d_cls, 'scores': d_scores})
    return gts, dts, classes


def coco_eval(gts, dts, classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, res = [], [], []
    aid = 1
    for i, g in enumerate(gts):
        images.append({'id': i + 1, 'width': 320, 'height': 240})
        for b, c in zip(g['boxes'], g['classes']):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({'id': aid, 'image_id': i + 1, 'category_id': c + 1, 'bbox': [b[0], b[1], w, h], 'area': w * h, 'iscrowd': 0})
            aid += 1
    for i, d in enumerate(dts):
        for b, c, s in zip(d['boxes'], d['classes'], d['scores']):
            res.append({'image_id': i + 1, 'category_id': c + 1, 'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]], 'score': s})
    gt = COCO()
    gt.dataset = {'images': images, 'annotations': anns, 'categories': [{'id': c + 1, 'name': str(c)} for c in range(classes)]}
    gt.createIndex()
    dt = gt.loadRes(res)
    ev = COCOeval(gt, dt, 'bbox')
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    p = ev.eval['precision']  # [T, R, K, A, M]
    per_class = []
    for k in range(classes):
        pk = p[:, :, k, 0, 2]
        v = pk[pk > -1]
        v50 = pk[0][pk[0] > -1]
        per_class.append({'class': k, 'ap': float(v.mean()) if v.size else None, 'ap50': float(v50.mean()) if v50.size else None})
    return {'map': float(ev.stats[0]), 'map50': float(ev.stats[1]), 'perClass': per_class}


def png(path, w, h, rgb):
    raw = b''.join(b'\x00' + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)


def constant_detector(path, out_shape, values):
    """input [1,3,64,64] -> ReduceSum(input) * 0 + constant of out_shape."""
    import onnx
    from onnx import TensorProto, helper
    const = np.asarray(values, dtype=np.float32).reshape(out_shape)
    nodes = [
        helper.make_node('ReduceSum', ['images'], ['s'], keepdims=0),
        helper.make_node('Mul', ['s', 'zero'], ['z']),
        helper.make_node('Add', ['z', 'boxes'], ['output0']),
    ]
    g = helper.make_graph(
        nodes, 'const_detector',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT, list(out_shape))],
        [helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0]), helper.make_tensor('boxes', TensorProto.FLOAT, list(out_shape), const.flatten().tolist())],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='shears-fixture')
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def detector_fixtures():
    # Images are 128x96; the model input is 64x64, so the letterbox scale is 0.5
    # and 8 px of gray pad sit above and below (48 rows of image).
    # Ground truth in the original image: class 0 at (20,10)-(60,50), class 1 at (70,40)-(118,88).
    # Letterboxed: (10,13)-(30,33) and (35,28)-(59,52).
    def cxcywh(b):
        return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]]
    nc, A = 2, 8
    exact = [[10, 13, 30, 33, 0, 0.9], [35, 28, 59, 52, 1, 0.8]]
    # Shifted: the class-1 box moves 5 input px right: IoU = 19*24 / (2*24*24 - 19*24) = 0.655,
    # so it matches at IoU 0.50..0.65 (4 of 10 thresholds): class AP 1 and 0.4, mAP 0.7, mAP50 1.
    shifted = [[10, 13, 30, 33, 0, 0.9], [40, 28, 64, 52, 1, 0.8]]
    def anchors(dets):
        out = np.zeros((4 + nc, A), dtype=np.float32)
        for a, d in enumerate(dets):
            out[0:4, a] = cxcywh(d[:4])
            out[4 + int(d[4]), a] = d[5]
        out[0:4, A - 1] = [5, 5, 4, 4]  # a low-score anchor below any sane threshold
        out[4, A - 1] = 0.0005
        return out
    constant_detector(os.path.join(OUT, 'detect-anchors.onnx'), (1, 4 + nc, A), anchors(exact))
    constant_detector(os.path.join(OUT, 'detect-anchors-shifted.onnx'), (1, 4 + nc, A), anchors(shifted))
    e2e = np.zeros((1, 4, 6), dtype=np.float32)
    for i, d in enumerate(shifted):
        e2e[0, i] = [d[0], d[1], d[2], d[3], d[5], d[4]]
    constant_detector(os.path.join(OUT, 'detect-e2e.onnx'), (1, 4, 6), e2e)
    folder = os.path.join(OUT, 'detect-yolo')
    os.makedirs(os.path.join(folder, 'images'), exist_ok=True)
    os.makedirs(os.path.join(folder, 'labels'), exist_ok=True)
    png(os.path.join(folder, 'images', 'a.png'), 128, 96, (200, 30, 30))
    png(os.path.join(folder, 'images', 'b.png'), 128, 96, (30, 200, 30))
    lab = '0 {:.6f} {:.6f} {:.6f} {:.6f}\n1 {:.6f} {:.6f} {:.6f} {:.6f}\n'.format(40 / 128, 30 / 96, 40 / 128, 40 / 96, 94 / 128, 64 / 96, 48 / 128, 48 / 96)
    for s in ('a', 'b'):
        with open(os.path.join(folder, 'labels', s + '.txt'), 'w') as f:
            f.write(lab)


def reference():
    gts, dts, classes = synth()
    ref = coco_eval(gts, dts, classes)
    doc = {
        'about': 'scripts/make_detect_fixture.py (seed 17): pycocotools COCOeval bbox, maxDets 100, area all; class ids 0-based here, category_id = class + 1 there',
        'classes': classes,
        'pycocotools': ref,
        'gt': gts,
        'dt': dts,
    }
    with open(os.path.join(OUT, 'detect-map.json'), 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print(json.dumps(ref))


if __name__ == '__main__':
    # pycocotools and onnx may live in different Pythons: each part runs where its module is.
    for part in (reference, detector_fixtures):
        try:
            part()
        except ImportError as e:
            print(f'skipped {part.__name__}: {e}')
