"""YOLO-style detectors (YOLOv8n, YOLO11n, YOLO26n shapes) for ONNX fixtures.

Written for this repository from the published block structure of these
detectors (the YOLOv8 / YOLO11 / YOLO26 papers, docs and model summaries):
layer widths, depths, block wiring and the export-time decoding. No
Ultralytics code is copied here. Weights are random (torch.manual_seed(0)
before building, normalization layers randomized by export_models.py), so
the graphs have the structure of a real export, not its accuracy.

What each graph holds, as an Ultralytics ONNX export (opset 17, 1x3x640x640,
input "images", output "output0") would:

  yolov8n  Conv(BN, SiLU) stem, C2f blocks (cv1 -> Split in two -> n
           bottlenecks chained on the last half -> Concat of every branch ->
           cv2), SPPF (three chained MaxPool 5 + Concat), an FPN/PAN neck with
           Resize(nearest x2) + Concat, the Detect head (per level a box branch
           of 4*16 channels and a class branch of 80), DFL (softmax over 16
           bins, a fixed 1x1 conv with weights 0..15) and the decoding with
           anchor points and strides: output [1, 84, 8400] (xywh in pixels,
           sigmoid class scores).
  yolo11n  C3k2 blocks (C2f wiring; the inner blocks are bottlenecks or C3k),
           C2PSA (position-sensitive attention: qkv 1x1 conv, heads,
           MatMul-Softmax-MatMul, a depthwise positional conv, a 1x1 FFN) and a
           class branch with depthwise-separable convs. Output [1, 84, 8400].
  yolo26n  The YOLO11n body with an end-to-end head: no DFL (reg_max 1: the box
           branch predicts the four distances directly), the one-to-one head
           only, and a TopK/Gather postprocess (no NMS): output [1, 300, 6]
           (x1, y1, x2, y2, score, class).

Widths are scaled by 0.25 and depths by 0.33 (YOLOv8n) or 0.5 (YOLO11n and
YOLO26n), with at least one repeat.
"""
import math

NC = 80
IMG = 640
STRIDES = (8, 16, 32)


def _torch():
    import torch
    from torch import nn
    return torch, nn


def _width(c, w=0.25, max_c=1024):
    """Channels scaled by the width multiple, rounded up to a multiple of 8."""
    return int(math.ceil(min(c, max_c) * w / 8) * 8)


def _depth(n, d):
    return max(round(n * d), 1) if n > 1 else n


def _dims(x):
    """Static sizes as Python ints: the exported Reshape targets are constants,
    as in an Ultralytics export (simplified), not Shape/Gather subgraphs."""
    return [int(d) for d in x.shape]


def build(name):
    """The nn.Module for 'yolov8n', 'yolo11n' or 'yolo26n' (eval mode not set)."""
    torch, nn = _torch()

    class Conv(nn.Module):
        """Conv2d (no bias) + BatchNorm + SiLU (act=False: no activation)."""

        def __init__(self, c1, c2, k=1, s=1, g=1, act=True):
            super().__init__()
            self.conv = nn.Conv2d(c1, c2, k, s, k // 2, groups=g, bias=False)
            self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
            self.act = nn.SiLU() if act else nn.Identity()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    def dwconv(c1, c2, k=3, s=1, act=True):
        return Conv(c1, c2, k, s, g=math.gcd(c1, c2), act=act)

    class Bottleneck(nn.Module):
        """Two convs (hidden width c2*e), with a residual Add when shapes allow."""

        def __init__(self, c1, c2, shortcut=True, k=(3, 3), e=0.5):
            super().__init__()
            h = int(c2 * e)
            self.cv1 = Conv(c1, h, k[0])
            self.cv2 = Conv(h, c2, k[1])
            self.add = shortcut and c1 == c2

        def forward(self, x):
            y = self.cv2(self.cv1(x))
            return x + y if self.add else y

    class C3k(nn.Module):
        """CSP block: two 1x1 branches, n bottlenecks on one, Concat, 1x1 conv."""

        def __init__(self, c1, c2, n=2, shortcut=True, e=0.5, k=3):
            super().__init__()
            h = int(c2 * e)
            self.cv1, self.cv2, self.cv3 = Conv(c1, h), Conv(c1, h), Conv(2 * h, c2)
            self.m = nn.Sequential(*(Bottleneck(h, h, shortcut, (k, k), 1.0) for _ in range(n)))

        def forward(self, x):
            return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))

    class C2f(nn.Module):
        """cv1 -> two halves; each inner block reads the last branch; Concat of all -> cv2."""

        def __init__(self, c1, c2, n=1, shortcut=False, e=0.5, inner=None):
            super().__init__()
            self.c = int(c2 * e)
            self.cv1 = Conv(c1, 2 * self.c)
            self.cv2 = Conv((2 + n) * self.c, c2)
            make = inner or (lambda c: Bottleneck(c, c, shortcut, (3, 3), 1.0))
            self.m = nn.ModuleList(make(self.c) for _ in range(n))

        def forward(self, x):
            ys = list(self.cv1(x).split((self.c, self.c), 1))
            for m in self.m:
                ys.append(m(ys[-1]))
            return self.cv2(torch.cat(ys, 1))

    def c3k2(c1, c2, n=1, c3k=False, e=0.5, shortcut=True):
        inner = (lambda c: C3k(c, c, 2, shortcut)) if c3k else (lambda c: Bottleneck(c, c, shortcut))
        return C2f(c1, c2, n, shortcut, e, inner)

    class SPPF(nn.Module):
        """1x1 conv, three chained MaxPool k (stride 1), Concat of the four, 1x1 conv."""

        def __init__(self, c1, c2, k=5):
            super().__init__()
            h = c1 // 2
            self.cv1, self.cv2 = Conv(c1, h), Conv(4 * h, c2)
            self.m = nn.MaxPool2d(k, 1, k // 2)

        def forward(self, x):
            ys = [self.cv1(x)]
            for _ in range(3):
                ys.append(self.m(ys[-1]))
            return self.cv2(torch.cat(ys, 1))

    class Attention(nn.Module):
        """Multi-head self-attention over the H*W positions of a feature map,
        with a depthwise 3x3 positional encoding of the values."""

        def __init__(self, dim, heads, attn_ratio=0.5):
            super().__init__()
            self.heads, self.head_dim = heads, dim // heads
            self.key_dim = int(self.head_dim * attn_ratio)
            self.scale = self.key_dim ** -0.5
            self.qkv = Conv(dim, dim + 2 * self.key_dim * heads, 1, act=False)
            self.proj = Conv(dim, dim, 1, act=False)
            self.pe = Conv(dim, dim, 3, g=dim, act=False)

        def forward(self, x):
            b, c, h, w = _dims(x)
            qkv = self.qkv(x).view(b, self.heads, 2 * self.key_dim + self.head_dim, h * w)
            q, k, v = qkv.split((self.key_dim, self.key_dim, self.head_dim), 2)
            attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(-1)
            y = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
            return self.proj(y)

    class PSABlock(nn.Module):
        def __init__(self, c, heads):
            super().__init__()
            self.attn = Attention(c, heads)
            self.ffn = nn.Sequential(Conv(c, 2 * c), Conv(2 * c, c, act=False))

        def forward(self, x):
            x = x + self.attn(x)
            return x + self.ffn(x)

    class C2PSA(nn.Module):
        """cv1 -> Split in two; PSA blocks on the second half; Concat -> cv2."""

        def __init__(self, c1, c2, n=1, e=0.5):
            super().__init__()
            self.c = int(c1 * e)
            self.cv1, self.cv2 = Conv(c1, 2 * self.c), Conv(2 * self.c, c2)
            self.m = nn.Sequential(*(PSABlock(self.c, self.c // 64) for _ in range(n)))

        def forward(self, x):
            a, b = self.cv1(x).split((self.c, self.c), 1)
            return self.cv2(torch.cat((a, self.m(b)), 1))

    def anchor_grid():
        """Anchor centres (grid + 0.5, in stride units) and the stride of each, [2, A] and [1, A]."""
        pts, st = [], []
        for s in STRIDES:
            n = IMG // s
            ys, xs = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing="ij")
            pts.append(torch.stack((xs, ys), 0).reshape(2, -1))
            st.append(torch.full((1, n * n), float(s)))
        return torch.cat(pts, 1).unsqueeze(0), torch.cat(st, 1).unsqueeze(0)

    class Detect(nn.Module):
        """Per level a box branch (4*reg_max channels) and a class branch (nc);
        DFL when reg_max > 1; decoding to pixels with anchors and strides.
        end2end: a TopK/Gather postprocess to [1, max_det, 6] (xyxy, score, class)."""

        def __init__(self, ch, reg_max=16, dw_cls=False, end2end=False, max_det=300):
            super().__init__()
            self.reg_max, self.end2end, self.max_det = reg_max, end2end, max_det
            c2 = max(16, ch[0] // 4, 4 * reg_max)
            c3 = max(ch[0], min(NC, 100))
            self.box = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch)
            if dw_cls:
                self.cls = nn.ModuleList(nn.Sequential(
                    nn.Sequential(dwconv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(dwconv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, NC, 1)) for x in ch)
            else:
                self.cls = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, NC, 1)) for x in ch)
            if reg_max > 1:
                self.dfl = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
                self.dfl.weight.data[:] = torch.arange(reg_max, dtype=torch.float).view(1, reg_max, 1, 1)
            anchors, strides = anchor_grid()
            self.register_buffer("anchors", anchors)
            self.register_buffer("strides", strides)
            # The usual prior: box logits 1, class logits for ~5 objects per image.
            for b, c, s in zip(self.box, self.cls, STRIDES):
                b[-1].bias.data[:] = 1.0
                c[-1].bias.data[:] = math.log(5 / NC / (IMG / s) ** 2)

        def forward(self, xs):
            n = _dims(xs[0])[0]
            no = 4 * self.reg_max + NC
            feats = torch.cat([torch.cat((b(x), c(x)), 1).view(n, no, -1) for x, b, c in zip(xs, self.box, self.cls)], 2)
            box, cls = feats.split((4 * self.reg_max, NC), 1)
            if self.reg_max > 1:  # DFL: expected bin under a softmax over reg_max bins
                a = _dims(box)[2]
                box = self.dfl(box.view(n, 4, self.reg_max, a).transpose(2, 1).softmax(1)).view(n, 4, a)
            lt, rb = box.split((2, 2), 1)
            p1, p2 = self.anchors - lt, self.anchors + rb
            scores = cls.sigmoid()
            if not self.end2end:
                xywh = torch.cat(((p1 + p2) / 2, p2 - p1), 1) * self.strides
                return torch.cat((xywh, scores), 1)
            boxes = (torch.cat((p1, p2), 1) * self.strides).transpose(1, 2)  # [n, A, 4] xyxy
            scores = scores.transpose(1, 2)  # [n, A, nc]
            k = self.max_det
            # Best anchors by their top class score, then the best (anchor, class) pairs among them.
            idx = scores.amax(-1).topk(k, 1)[1].unsqueeze(-1)
            boxes = boxes.gather(1, idx.repeat(1, 1, 4))
            scores = scores.gather(1, idx.repeat(1, 1, NC))
            top, flat = scores.flatten(1).topk(k, 1)
            pick = torch.div(flat, NC, rounding_mode="floor").unsqueeze(-1)
            cls_id = (flat % NC).unsqueeze(-1).float()
            return torch.cat((boxes.gather(1, pick.repeat(1, 1, 4)), top.unsqueeze(-1), cls_id), -1)

    class Yolo(nn.Module):
        """Backbone (P3, P4, P5 at strides 8, 16, 32), FPN top-down then PAN bottom-up, Detect."""

        def __init__(self, v11, head):
            super().__init__()
            w = _width
            d = (lambda n: _depth(n, 0.5)) if v11 else (lambda n: _depth(n, 0.33))
            if v11:
                blk = lambda c1, c2, n, c3k=False, e=0.5: c3k2(c1, c2, d(n), c3k, e)
            else:
                blk = lambda c1, c2, n, c3k=False, e=0.5: C2f(c1, c2, d(n), True)
            neck = (lambda c1, c2, n, c3k=False: c3k2(c1, c2, d(n), c3k)) if v11 else (lambda c1, c2, n, c3k=False: C2f(c1, c2, d(n), False))
            c64, c128, c256, c512, c1024 = (w(c) for c in (64, 128, 256, 512, 1024))
            if v11:
                self.b1 = nn.Sequential(Conv(3, c64, 3, 2), Conv(c64, c128, 3, 2), blk(c128, c256, 2, False, 0.25),
                                        Conv(c256, c256, 3, 2), blk(c256, c512, 2, False, 0.25))
                self.b2 = nn.Sequential(Conv(c512, c512, 3, 2), blk(c512, c512, 2, True))
                self.b3 = nn.Sequential(Conv(c512, c1024, 3, 2), blk(c1024, c1024, 2, True), SPPF(c1024, c1024, 5), C2PSA(c1024, c1024, d(2)))
                p3, p4, p5 = c512, c512, c1024  # backbone widths at P3, P4, P5
                o3, o4, o5 = c256, c512, c1024  # neck outputs
            else:
                self.b1 = nn.Sequential(Conv(3, c64, 3, 2), Conv(c64, c128, 3, 2), blk(c128, c128, 3),
                                        Conv(c128, c256, 3, 2), blk(c256, c256, 6))
                self.b2 = nn.Sequential(Conv(c256, c512, 3, 2), blk(c512, c512, 6))
                self.b3 = nn.Sequential(Conv(c512, c1024, 3, 2), blk(c1024, c1024, 3), SPPF(c1024, c1024, 5))
                p3, p4, p5 = c256, c512, c1024
                o3, o4, o5 = c256, c512, c1024
            r = 2 if v11 else 3  # neck repeats before depth scaling: one block either way
            self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
            self.n1 = neck(p5 + p4, c512, r)  # P4 top-down
            self.n2 = neck(c512 + p3, o3, r)  # P3 out
            self.d1 = Conv(o3, o3, 3, 2)
            self.n3 = neck(o3 + c512, o4, r)  # P4 out
            self.d2 = Conv(o4, o4, 3, 2)
            self.n4 = neck(o4 + p5, o5, r, v11)  # P5 out (C3k inside for YOLO11)
            self.detect = head((o3, o4, o5))

        def forward(self, x):
            x3 = self.b1(x)
            x4 = self.b2(x3)
            x5 = self.b3(x4)
            t4 = self.n1(torch.cat((self.up(x5), x4), 1))
            y3 = self.n2(torch.cat((self.up(t4), x3), 1))
            y4 = self.n3(torch.cat((self.d1(y3), t4), 1))
            y5 = self.n4(torch.cat((self.d2(y4), x5), 1))
            return self.detect([y3, y4, y5])

    if name == "yolov8n":
        m = Yolo(False, lambda ch: Detect(ch))
    elif name == "yolo11n":
        m = Yolo(True, lambda ch: Detect(ch, dw_cls=True))
    elif name == "yolo26n":
        m = Yolo(True, lambda ch: Detect(ch, reg_max=1, dw_cls=True, end2end=True))
    else:
        raise ValueError(f"unknown YOLO-style model {name}")
    # Ultralytics' names: what a user's export has.
    m.io_names = (["images"], ["output0"])
    m.sample_input = "uniform"  # images scaled to [0, 1]
    return m


NAMES = ("yolov8n", "yolo11n", "yolo26n")
