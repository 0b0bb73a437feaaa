#!/usr/bin/python3
"""PyTorch side of the "training through a final Softmax" measurement (issue 15).

  make-model OUT.onnx   a seeded small CNN (Conv-BN-ReLU x3, GAP, Gemm, Softmax) trained briefly
                        on Fashion-MNIST with raw 0-255 inputs (no normalization), exported with
                        its BatchNormalization nodes and the final Softmax.
  reference ...         one epoch of knowledge distillation on an ONNX graph, run by a small ONNX
                        interpreter in PyTorch (same graph, weights from its initializers), on the
                        samples in the order given, with the teacher's logits. Prints a JSON line.

Needs Debian's torch (/usr/bin/python3) and onnx; Fashion-MNIST from dataset-fashion-mnist.
"""
import argparse
import gzip
import json
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

FMNIST = '/usr/share/datasets/fashion-mnist'


def idx(name):
    with gzip.open(f'{FMNIST}/{name}', 'rb') as f:
        b = f.read()
    ndim = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(dims)


# ---------------------------------------------------------------- make-model

class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        chans = [1, 16, 32, 64]
        layers = []
        for i in range(3):
            layers += [torch.nn.Conv2d(chans[i], chans[i + 1], 3, stride=1 if i == 0 else 2, padding=1),
                       torch.nn.BatchNorm2d(chans[i + 1]), torch.nn.ReLU()]
        self.features = torch.nn.Sequential(*layers)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x, probs=True):
        z = self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))
        return torch.softmax(z, dim=1) if probs else z


def make_model(out, seed, n, epochs):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(2)
    x = torch.from_numpy(idx('train-images-idx3-ubyte.gz')[-n:].astype(np.float32)).unsqueeze(1)  # raw 0..255
    y = torch.from_numpy(idx('train-labels-idx1-ubyte.gz')[-n:].astype(np.int64))
    m = Cnn()
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, 64):
            i = perm[s:s + 64]
            loss = F.cross_entropy(m(x[i], probs=False), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    torch.onnx.export(m, torch.zeros(1, 1, 28, 28), out, input_names=['input'], output_names=['prob'],
                      dynamic_axes={'input': {0: 'N'}, 'prob': {0: 'N'}}, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    xt = torch.from_numpy(idx('t10k-images-idx3-ubyte.gz')[:2000].astype(np.float32)).unsqueeze(1)
    yt = torch.from_numpy(idx('t10k-labels-idx1-ubyte.gz')[:2000].astype(np.int64))
    with torch.no_grad():
        acc = (m(xt).argmax(1) == yt).float().mean().item()
    print(json.dumps({'model': out, 'accuracy': acc}))


# ---------------------------------------------------------------- the interpreter

def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxTorch:
    """An ONNX graph as a differentiable torch function (the ops small CNNs use)."""

    def __init__(self, path):
        self.model = onnx.load(path)
        g = self.model.graph
        self.opset = next(o.version for o in self.model.opset_import if o.domain in ('', 'ai.onnx'))
        self.init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        self.params = {}
        self.stats = set()
        for n in g.node:
            if n.op_type == 'BatchNormalization':
                self.stats.update(n.input[3:5])
                trained = n.input[1:3]
            elif n.op_type in ('Conv', 'Gemm', 'MatMul', 'Add', 'Mul'):
                trained = n.input[1:]
            else:
                trained = []
            for name in trained:
                t = self.init.get(name)
                if t is not None and t.dtype == torch.float32 and name not in self.params and (t.numel() > 1 or n.op_type in ('Conv', 'Gemm', 'BatchNormalization')):
                    self.params[name] = torch.nn.Parameter(t.clone())
        inp = next(i for i in g.input if i.name not in self.init)
        self.input = inp.name
        self.sample = [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]]
        self.output = g.output[0].name

    def logits_name(self):
        """The input of a Softmax/LogSoftmax that makes the output (through Identity/Flatten/Reshape), else the output."""
        prod = {o: n for n in self.model.graph.node for o in n.output}
        name = self.output
        while name in prod and prod[name].op_type in ('Identity', 'Flatten', 'Reshape'):
            name = prod[name].input[0]
        n = prod.get(name)
        return n.input[0] if n is not None and n.op_type in ('Softmax', 'LogSoftmax') else self.output

    def run(self, x, outputs, training):
        env = {self.input: x}
        get = lambda k: self.params[k] if k in self.params else env[k] if k in env else self.init[k]
        for n in self.model.graph.node:
            a = attrs(n)
            i = [get(k) if k else None for k in n.input]
            op = n.op_type
            if op == 'Conv':
                p = a.get('pads', [0, 0, 0, 0])
                xin, pad = i[0], (p[0], p[1])
                if p[0] != p[2] or p[1] != p[3]:  # TF's 'same' for stride 2: [0, 0, 1, 1]
                    xin, pad = F.pad(xin, (p[1], p[3], p[0], p[2])), (0, 0)
                r = F.conv2d(xin, i[1], i[2] if len(i) > 2 else None, a.get('strides', 1), pad, a.get('dilations', 1), a.get('group', 1))
            elif op == 'BatchNormalization':
                rm, rv = self.init[n.input[3]], self.init[n.input[4]]
                r = F.batch_norm(i[0], rm, rv, i[1], i[2], training=training, momentum=1 - a.get('momentum', 0.9), eps=a.get('epsilon', 1e-5))
            elif op == 'Relu':
                r = F.relu(i[0])
            elif op == 'MaxPool':
                p = a.get('pads', [0, 0, 0, 0])
                r = F.max_pool2d(i[0], a['kernel_shape'], a.get('strides', 1), (p[0], p[1]), ceil_mode=bool(a.get('ceil_mode', 0)))
            elif op == 'GlobalAveragePool':
                r = i[0].mean((2, 3), keepdim=True)
            elif op == 'Flatten':
                r = torch.flatten(i[0], a.get('axis', 1))
            elif op == 'Reshape':
                shape = [x.shape[0] if (k == 0 and v == 0) else int(v) for k, v in enumerate(i[1].tolist())]
                r = i[0].reshape(shape)
            elif op in ('Squeeze', 'Unsqueeze'):
                axes = a.get('axes', i[1].tolist() if len(i) > 1 and i[1] is not None else None)
                if op == 'Squeeze':
                    r = i[0]
                    for ax in sorted((x % r.dim() for x in axes), reverse=True) if axes is not None else []:
                        r = r.squeeze(ax)
                    r = i[0].squeeze() if axes is None else r
                else:
                    r = i[0]
                    for ax in sorted(axes):
                        r = r.unsqueeze(ax)
            elif op == 'Transpose':
                r = i[0].permute(*a['perm'])
            elif op == 'Gemm':
                A = i[0].t() if a.get('transA', 0) else i[0]
                B = i[1].t() if a.get('transB', 0) else i[1]
                r = a.get('alpha', 1.0) * (A @ B)
                if len(i) > 2 and i[2] is not None:
                    r = r + a.get('beta', 1.0) * i[2]
            elif op == 'MatMul':
                r = i[0] @ i[1]
            elif op == 'Add':
                r = i[0] + i[1]
            elif op == 'Mul':
                r = i[0] * i[1]
            elif op in ('Softmax', 'LogSoftmax'):
                ax = a.get('axis', -1 if self.opset >= 13 else 1)
                assert self.opset >= 13 or ax in (1, -1) and i[0].dim() == 2, 'Softmax axis'
                r = (F.log_softmax if op == 'LogSoftmax' else F.softmax)(i[0], ax)
            elif op in ('Identity', 'Dropout'):
                r = i[0]
            else:
                raise SystemExit(f'torch-reference: op {op} (node {n.name}) is not interpreted')
            env[n.output[0]] = r
        return [env[o] for o in outputs]


def reference(a):
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    student = OnnxTorch(a.student)
    teacher = OnnxTorch(a.teacher)
    s_out = student.logits_name() if a.logits == 'auto' else student.output
    t_out = teacher.logits_name() if a.logits == 'auto' else teacher.output
    x = torch.from_numpy(np.fromfile(a.x, np.uint8).astype(np.float32)).reshape(-1, *student.sample) * a.scale
    y = torch.from_numpy(np.fromfile(a.y, np.uint8).astype(np.int64))
    params = list(student.params.values())
    opt = torch.optim.Adam(params, a.lr) if a.optimizer == 'adam' else torch.optim.SGD(params, a.lr, momentum=a.momentum)
    T, alpha = a.temperature, a.alpha
    first = None
    for s in range(0, len(y), a.batch):
        xb, yb = x[s:s + a.batch], y[s:s + a.batch]
        with torch.no_grad():
            (tl,) = teacher.run(xb, [t_out], training=False)
        (sl,) = student.run(xb, [s_out], training=True)
        sl, tl = sl.reshape(len(yb), -1), tl.reshape(len(yb), -1)
        kd = F.kl_div(F.log_softmax(sl / T, 1), F.log_softmax(tl / T, 1), reduction='batchmean', log_target=True) * T * T
        loss = alpha * kd + (1 - alpha) * F.cross_entropy(sl, yb)
        opt.zero_grad()
        if first is None:
            gk = torch.autograd.grad(kd, params, retain_graph=True, allow_unused=True)
            kd_norm = torch.sqrt(sum((g ** 2).sum() for g in gk if g is not None)).item()
        loss.backward()
        if first is None:
            first = {'kd': kd.item(), 'loss': loss.item(), 'kdGradNorm': kd_norm, 'gradNorm': torch.sqrt(sum((p.grad ** 2).sum() for p in params)).item()}
        opt.step()
    xt = torch.from_numpy(idx('t10k-images-idx3-ubyte.gz')[:a.test].astype(np.float32)).reshape(-1, *student.sample) * a.scale
    yt = torch.from_numpy(idx('t10k-labels-idx1-ubyte.gz')[:a.test].astype(np.int64))
    with torch.no_grad():
        (p,) = student.run(xt, [student.output], training=False)
        acc = (p.reshape(len(yt), -1).argmax(1) == yt).float().mean().item()
    print(json.dumps({'accuracy': acc, 'logits': s_out, 'teacherLogits': t_out, 'first': first}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('make-model')
    m.add_argument('out')
    m.add_argument('--seed', type=int, default=0)
    m.add_argument('--n', type=int, default=20000, help='training images (the last n of the train split)')
    m.add_argument('--epochs', type=int, default=2)
    r = sub.add_parser('reference')
    r.add_argument('--student', required=True)
    r.add_argument('--teacher', required=True)
    r.add_argument('--x', required=True, help='uint8 N*784 pixels in training order')
    r.add_argument('--y', required=True, help='uint8 N labels')
    r.add_argument('--scale', type=float, default=1.0, help='input = pixels * scale')
    r.add_argument('--test', type=int, default=2000, help='first n t10k images')
    r.add_argument('--batch', type=int, default=32)
    r.add_argument('--optimizer', default='sgd', choices=['sgd', 'adam'])
    r.add_argument('--lr', type=float, default=0.01)
    r.add_argument('--momentum', type=float, default=0.9)
    r.add_argument('--alpha', type=float, default=0.7)
    r.add_argument('--temperature', type=float, default=4)
    r.add_argument('--logits', default='auto', choices=['auto', 'output'])
    r.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    if a.cmd == 'make-model':
        make_model(a.out, a.seed, a.n, a.epochs)
    else:
        reference(a)


if __name__ == '__main__':
    sys.exit(main())
