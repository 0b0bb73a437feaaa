"""A tiny YOLOv8-style detector (seeded random weights) for the label-free
distillation tests: Conv-BN-SiLU, C2f (Split + Concat of all branches), SPPF
(MaxPool x3), an FPN with nearest Resize + Concat, and the anchor head with
DFL (Softmax over 8 bins, fixed 1x1 Conv), dist2bbox with anchor constants and
sigmoid class scores: output0 [N, 4 + nc, anchors], as Ultralytics exports it.
Built here from the published block structure (no Ultralytics code).

Run with Debian's Python: /usr/bin/python3 tools/make_tiny_detector.py test-fixtures/tiny-detector.onnx
"""
import sys

import torch
import torch.nn as nn

torch.manual_seed(17)
NC, REG, SIZE = 3, 8, 64


class Conv(nn.Module):
    def __init__(self, c1, c2, k=3, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c), Conv(c, c)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.cv1 = Conv(c1, c1 // 2, 1)
        self.cv2 = Conv(c1 * 2, c2, 1)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Detect(nn.Module):
    def __init__(self, chs, strides):
        super().__init__()
        c2, c3 = 16, 8
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, c2), Conv(c2, c2), nn.Conv2d(c2, 4 * REG, 1)) for c in chs)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, c3), Conv(c3, c3), nn.Conv2d(c3, NC, 1)) for c in chs)
        self.dfl = nn.Conv2d(REG, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(REG, dtype=torch.float).view(1, REG, 1, 1)
        pts, strs = [], []
        for s in strides:
            h = w = SIZE // s
            sy, sx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
            pts.append(torch.stack((sx, sy), -1).view(-1, 2))
            strs.append(torch.full((h * w, 1), float(s)))
        self.register_buffer('anchors', torch.cat(pts).transpose(0, 1).unsqueeze(0))
        self.register_buffer('strides', torch.cat(strs).transpose(0, 1).unsqueeze(0))

    def forward(self, xs):
        n = xs[0].shape[0]
        x = torch.cat([torch.cat((self.cv2[i](xi), self.cv3[i](xi)), 1).view(n, 4 * REG + NC, -1) for i, xi in enumerate(xs)], 2)
        box, cls = x.split((4 * REG, NC), 1)
        a = n
        d = self.dfl(box.view(a, 4, REG, -1).transpose(2, 1).softmax(1)).view(a, 4, -1)
        lt, rb = d.chunk(2, 1)
        x1y1 = self.anchors - lt
        x2y2 = self.anchors + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class TinyDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = Conv(3, 8, 3, 2)  # 32
        self.b1 = Conv(8, 16, 3, 2)  # 16
        self.b2 = C2f(16, 16)
        self.b3 = Conv(16, 16, 3, 2)  # 8 (P3)
        self.b4 = C2f(16, 16)
        self.b5 = Conv(16, 24, 3, 2)  # 4 (P4)
        self.b6 = C2f(24, 24)
        self.b7 = Conv(24, 32, 3, 2)  # 2 (P5)
        self.sppf = SPPF(32, 32)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.h1 = C2f(32 + 24, 24)
        self.h2 = C2f(24 + 16, 16)
        self.d1 = Conv(16, 16, 3, 2)
        self.h3 = C2f(16 + 24, 24)
        self.d2 = Conv(24, 24, 3, 2)
        self.h4 = C2f(24 + 32, 32)
        self.detect = Detect((16, 24, 32), (8, 16, 32))

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.sppf(self.b7(p4))
        t4 = self.h1(torch.cat((self.up(p5), p4), 1))
        o3 = self.h2(torch.cat((self.up(t4), p3), 1))
        o4 = self.h3(torch.cat((self.d1(o3), t4), 1))
        o5 = self.h4(torch.cat((self.d2(o4), p5), 1))
        return self.detect([o3, o4, o5])


def main(out):
    m = TinyDetector()
    # Non-trivial BatchNorm statistics and a class bias so the scores are not all 0.5.
    g = torch.Generator().manual_seed(3)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1, generator=g)
            mod.running_var.uniform_(0.5, 1.5, generator=g)
            mod.weight.data.uniform_(0.7, 1.3, generator=g)
            mod.bias.data.uniform_(-0.1, 0.1, generator=g)
    for seq in m.detect.cv3:
        seq[-1].bias.data.fill_(-2.0)
    m.eval()
    x = torch.rand(1, 3, SIZE, SIZE, generator=g)
    torch.onnx.export(m, x, out, input_names=['images'], output_names=['output0'], opset_version=17,
                      dynamic_axes={'images': {0: 'batch'}, 'output0': {0: 'batch'}})
    y = m(x)
    print(out, tuple(y.shape), float(y[:, :4].abs().mean()), float(y[:, 4:].mean()))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'tiny-detector.onnx')
