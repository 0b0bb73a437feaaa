#!/usr/bin/python3
"""Train the demo detector: a small YOLO-style, anchor-free detector written
from the published block structure (Conv-BN-SiLU, C2f with Split + Concat of
every branch, SPPF, an FPN/PAN with Resize + Concat, a decoupled head at
strides 8/16/32 with DFL, reg_max 16). Seeded, CPU, Debian's torch 1.13.

    /usr/bin/python3 examples/detect/train.py [--data examples/detect/data]
        [--epochs 8] [--out examples/detect/detector.onnx] [--limit N]

Reads the YOLO folders written by make-data.mjs and exports ONNX (opset 17,
input `images` 1x3x256x256 = RGB / 255, output `output0` [1, 4 + nc, 1344]:
decoded xywh in input pixels, then sigmoid class scores; the layout of
Ultralytics' ONNX export, so `shears eval --task detect` reads it).

The loss is this file's own: a task-aligned assignment (each box takes the
top-10 anchor points inside it by score^0.5 * IoU^6), BCE on class scores
against IoU-scaled targets, CIoU and distribution focal loss on the boxes.
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

NC = 10
REG_MAX = 16
STRIDES = (8, 16, 32)
SIZE = 256


# ---------------------------------------------------------------- the model
class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """1x1 conv, Split in two halves, n bottlenecks chained on the second half,
    Concat of every branch, 1x1 conv."""

    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))
        self.cv2 = Conv((2 + n) * self.c, c2, 1)

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1 = Conv(c1, c, 1)
        self.cv2 = Conv(4 * c, c2, 1)
        self.pool = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.pool(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Detect(nn.Module):
    """Decoupled head: per level a box branch (4 x reg_max bins) and a class
    branch. In export mode it decodes like Ultralytics' export: DFL expectation
    (a fixed 1x1 conv over softmaxed bins), distances to xywh, times stride."""

    def __init__(self, chs, c_box=48, c_cls=48):
        super().__init__()
        self.box = nn.ModuleList(nn.Sequential(Conv(c, c_box, 3), Conv(c_box, c_box, 3), nn.Conv2d(c_box, 4 * REG_MAX, 1)) for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, c_cls, 3), Conv(c_cls, c_cls, 3), nn.Conv2d(c_cls, NC, 1)) for c in chs)
        self.dfl = nn.Conv2d(REG_MAX, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(REG_MAX, dtype=torch.float32).view(1, REG_MAX, 1, 1)
        anchors, strides = make_anchors()
        self.register_buffer('anchors', anchors.t().contiguous().unsqueeze(0), persistent=False)  # 1 x 2 x A
        self.register_buffer('strides', strides.view(1, 1, -1), persistent=False)  # 1 x 1 x A
        self.export = False

    def init_bias(self):
        for b, c, s in zip(self.box, self.cls, STRIDES):
            b[-1].bias.data[:] = 1.0
            c[-1].bias.data[:] = math.log(5 / NC / (SIZE / s) ** 2)

    def forward(self, feats):
        b = feats[0].shape[0]
        raw = torch.cat([torch.cat((bx(x), cl(x)), 1).view(b, 4 * REG_MAX + NC, -1) for x, bx, cl in zip(feats, self.box, self.cls)], 2)
        if not self.export:
            return raw  # B x (64 + nc) x A
        dist, cls = raw.split((4 * REG_MAX, NC), 1)
        a = dist.shape[2]
        d = self.dfl(dist.view(b, 4, REG_MAX, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        lt, rb = d.chunk(2, 1)
        x1y1 = self.anchors - lt
        x2y2 = self.anchors + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.strides
        return torch.cat((xywh, cls.sigmoid()), 1)


class Detector(nn.Module):
    def __init__(self, w=(16, 16, 32, 64, 96), c_head=32):
        super().__init__()
        self.stem = nn.Sequential(Conv(3, w[0], 3, 2), Conv(w[0], w[1], 3, 2))  # 64 x 64
        self.s3 = nn.Sequential(Conv(w[1], w[2], 3, 2), C2f(w[2], w[2], 1, True))  # P3, stride 8
        self.s4 = nn.Sequential(Conv(w[2], w[3], 3, 2), C2f(w[3], w[3], 1, True))  # P4, stride 16
        self.s5 = nn.Sequential(Conv(w[3], w[4], 3, 2), C2f(w[4], w[4], 1, True), SPPF(w[4], w[4]))  # P5, stride 32
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.td4 = C2f(w[4] + w[3], w[3])
        self.td3 = C2f(w[3] + w[2], w[2])
        self.dn3 = Conv(w[2], w[2], 3, 2)
        self.bu4 = C2f(w[2] + w[3], w[3])
        self.dn4 = Conv(w[3], w[3], 3, 2)
        self.bu5 = C2f(w[3] + w[4], w[4])
        self.head = Detect((w[2], w[3], w[4]), c_head, c_head)

    def forward(self, x):
        p3 = self.s3(self.stem(x))
        p4 = self.s4(p3)
        p5 = self.s5(p4)
        n4 = self.td4(torch.cat((self.up(p5), p4), 1))
        o3 = self.td3(torch.cat((self.up(n4), p3), 1))
        o4 = self.bu4(torch.cat((self.dn3(o3), n4), 1))
        o5 = self.bu5(torch.cat((self.dn4(o4), p5), 1))
        return self.head([o3, o4, o5])


def make_anchors():
    pts, strides = [], []
    for s in STRIDES:
        n = SIZE // s
        sy, sx = torch.meshgrid(torch.arange(n) + 0.5, torch.arange(n) + 0.5, indexing='ij')
        pts.append(torch.stack((sx, sy), -1).view(-1, 2))
        strides.append(torch.full((n * n,), float(s)))
    return torch.cat(pts).float(), torch.cat(strides)


# ---------------------------------------------------------------- the loss
def box_iou_ciou(b1, b2, eps=1e-7):
    """IoU and CIoU of matching rows of xyxy boxes."""
    w1, h1 = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1] + eps
    w2, h2 = b2[..., 2] - b2[..., 0], b2[..., 3] - b2[..., 1] + eps
    iw = (torch.min(b1[..., 2], b2[..., 2]) - torch.max(b1[..., 0], b2[..., 0])).clamp(0)
    ih = (torch.min(b1[..., 3], b2[..., 3]) - torch.max(b1[..., 1], b2[..., 1])).clamp(0)
    inter = iw * ih
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(b1[..., 2], b2[..., 2]) - torch.min(b1[..., 0], b2[..., 0])
    ch = torch.max(b1[..., 3], b2[..., 3]) - torch.min(b1[..., 1], b2[..., 1])
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((b2[..., 0] + b2[..., 2] - b1[..., 0] - b1[..., 2]) ** 2 + (b2[..., 1] + b2[..., 3] - b1[..., 1] - b1[..., 3]) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou, iou - (rho2 / c2 + v * alpha)


class Loss:
    def __init__(self, topk=10, alpha=0.5, beta=6.0, gains=(7.5, 0.5, 1.5)):
        self.topk, self.alpha, self.beta, self.gains = topk, alpha, beta, gains
        anchors, strides = make_anchors()
        self.anchors = anchors  # A x 2, in stride units
        self.strides = strides  # A
        self.proj = torch.arange(REG_MAX, dtype=torch.float32)

    def decode(self, dist):
        """B x A x 64 logits -> B x A x 4 xyxy in stride units."""
        b, a, _ = dist.shape
        d = dist.view(b, a, 4, REG_MAX).softmax(3).matmul(self.proj)
        lt, rb = d.chunk(2, -1)
        return torch.cat((self.anchors - lt, self.anchors + rb), -1)

    @torch.no_grad()
    def assign(self, scores, boxes_px, gt_cls, gt_box, gt_mask):
        """Task-aligned assignment. scores B x A x nc (sigmoid), boxes_px B x A x 4,
        gt_box B x M x 4 (xyxy px), gt_cls B x M, gt_mask B x M."""
        B, A, _ = scores.shape
        M = gt_box.shape[1]
        centers = (self.anchors * self.strides[:, None])  # A x 2 px
        lt = centers[None, None] - gt_box[:, :, None, :2]
        rb = gt_box[:, :, None, 2:] - centers[None, None]
        inside = torch.cat((lt, rb), -1).amin(-1) > 1e-9  # B x M x A
        mask = inside & gt_mask[:, :, None]
        iou, _ = box_iou_ciou(gt_box[:, :, None, :].expand(B, M, A, 4), boxes_px[:, None].expand(B, M, A, 4))
        iou = iou.clamp(0) * mask
        s = scores.gather(2, gt_cls[:, None, :].expand(B, A, M).long()).permute(0, 2, 1)  # B x M x A
        metric = s.pow(self.alpha) * iou.pow(self.beta) * mask
        k = min(self.topk, A)
        top = metric.topk(k, dim=-1).indices
        pos = torch.zeros_like(mask).scatter_(-1, top, True) & mask
        # An anchor claimed by several boxes goes to the one it overlaps most.
        multi = pos.sum(1, keepdim=True) > 1
        best = F.one_hot(iou.argmax(1), M).permute(0, 2, 1).bool()
        pos = torch.where(multi, best & mask, pos)
        fg = pos.any(1)  # B x A
        idx = pos.float().argmax(1)  # B x A: the box each anchor learns
        t_box = gt_box.gather(1, idx[..., None].expand(B, A, 4))
        t_cls = gt_cls.gather(1, idx).long()
        metric = metric * pos
        norm = (metric * iou.amax(-1, keepdim=True) / (metric.amax(-1, keepdim=True) + 1e-9)).amax(1)  # B x A
        t_scores = F.one_hot(t_cls, NC).float() * (norm * fg)[..., None]
        return fg, t_box, t_scores

    def __call__(self, raw, gt_cls, gt_box, gt_mask):
        raw = raw.permute(0, 2, 1)  # B x A x (64 + nc)
        dist, logits = raw.split((4 * REG_MAX, NC), -1)
        pred = self.decode(dist)  # stride units
        pred_px = pred * self.strides[None, :, None]
        fg, t_box, t_scores = self.assign(logits.detach().sigmoid(), pred_px.detach(), gt_cls, gt_box, gt_mask)
        tss = t_scores.sum().clamp(min=1)
        l_cls = F.binary_cross_entropy_with_logits(logits, t_scores, reduction='sum') / tss
        if fg.any():
            w = t_scores.sum(-1)[fg]
            _, ciou = box_iou_ciou(pred_px[fg], t_box[fg])
            l_box = ((1 - ciou) * w).sum() / tss
            tb = t_box[fg] / self.strides[None].expand_as(fg)[fg][:, None]
            anc = self.anchors[None].expand(*fg.shape, 2)[fg]
            tgt = torch.cat((anc - tb[:, :2], tb[:, 2:] - anc), -1).clamp(0, REG_MAX - 1 - 0.01)  # N x 4
            d = dist[fg].view(-1, 4, REG_MAX)
            tl = tgt.long()
            wl = tl + 1 - tgt
            l_dfl = (F.cross_entropy(d.reshape(-1, REG_MAX), tl.view(-1), reduction='none').view(-1, 4) * wl
                     + F.cross_entropy(d.reshape(-1, REG_MAX), (tl + 1).view(-1), reduction='none').view(-1, 4) * (1 - wl)).mean(-1)
            l_dfl = (l_dfl * w).sum() / tss
        else:
            l_box = l_dfl = raw.sum() * 0
        g = self.gains
        return g[0] * l_box + g[1] * l_cls + g[2] * l_dfl, torch.stack((l_box, l_cls, l_dfl)).detach()


# ---------------------------------------------------------------- data
def load_split(folder, limit=None):
    names = sorted(os.listdir(os.path.join(folder, 'images')))
    if limit:
        names = names[:limit]
    imgs = np.empty((len(names), 3, SIZE, SIZE), np.uint8)
    labels = []
    for i, n in enumerate(names):
        imgs[i] = np.asarray(Image.open(os.path.join(folder, 'images', n)).convert('RGB')).transpose(2, 0, 1)
        rows = np.loadtxt(os.path.join(folder, 'labels', os.path.splitext(n)[0] + '.txt'), ndmin=2).reshape(-1, 5)
        labels.append(rows.astype(np.float32))
    return torch.from_numpy(imgs), labels


def batch_targets(labels, flips):
    m = max(1, max(len(l) for l in labels))
    b = len(labels)
    cls = torch.zeros(b, m)
    box = torch.zeros(b, m, 4)
    mask = torch.zeros(b, m, dtype=torch.bool)
    for i, (l, f) in enumerate(zip(labels, flips)):
        if len(l) == 0:
            continue
        t = torch.from_numpy(l)
        cx = 1 - t[:, 1] if f else t[:, 1]
        cls[i, :len(l)] = t[:, 0]
        box[i, :len(l)] = torch.stack((cx - t[:, 3] / 2, t[:, 2] - t[:, 4] / 2, cx + t[:, 3] / 2, t[:, 2] + t[:, 4] / 2), -1) * SIZE
        mask[i, :len(l)] = True
    return cls, box, mask


def export(model, path):
    model.eval()
    model.head.export = True
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=17, input_names=['images'], output_names=['output0'], do_constant_folding=True)
    model.head.export = False


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--data', default=os.path.join(here, 'data'))
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=0.002)
    ap.add_argument('--limit', type=int, default=None)
    ap.add_argument('--threads', type=int, default=1, help='1 is fastest on a shared machine (2 OpenMP threads spin under load)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', default=os.path.join(here, 'detector.onnx'))
    ap.add_argument('--stop-epoch', type=int, default=None, help='stop (and export) after this epoch; the schedule still spans --epochs')
    ap.add_argument('--bench', action='store_true', help='time a few steps and exit')
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)

    model = Detector()
    model.head.init_bias()
    ema = Detector()
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    print(f'params {sum(p.numel() for p in model.parameters())}')

    imgs, labels = load_split(os.path.join(a.data, 'train'), 64 if a.bench else a.limit)
    n = len(labels)
    steps_per_epoch = n // a.batch
    total = steps_per_epoch * a.epochs
    warm = min(200, total // 10)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 5e-4}, {'params': no_decay, 'weight_decay': 0}], lr=a.lr, betas=(0.9, 0.999))
    loss_fn = Loss()
    step = 0
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        order = rng.permutation(n)
        run = torch.zeros(3)
        for it in range(steps_per_epoch):
            idx = order[it * a.batch:(it + 1) * a.batch]
            flips = rng.random(len(idx)) < 0.5
            x = imgs[torch.from_numpy(idx)].float() / 255
            if flips.any():
                fi = torch.from_numpy(np.nonzero(flips)[0])
                x[fi] = x[fi].flip(3)
            cls, box, mask = batch_targets([labels[i] for i in idx], flips)
            lr = a.lr * (step / warm if step < warm else 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))
            for g in opt.param_groups:
                g['lr'] = lr
            loss, parts = loss_fn(model(x), cls, box, mask)
            opt.zero_grad()
            (loss * len(idx)).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            step += 1
            d = 0.999 * (1 - math.exp(-step / 500))
            with torch.no_grad():
                for e, m in zip(ema.state_dict().values(), model.state_dict().values()):
                    if e.dtype.is_floating_point:
                        e.mul_(d).add_(m.detach(), alpha=1 - d)
                    else:
                        e.copy_(m)
            run += parts
            if a.bench and it == 1:
                t1 = time.time()
            if a.bench and it == 1 + 5:
                print(f'{(time.time() - t1) / 5:.3f} s/step of {a.batch}')
                return
        print(f'epoch {epoch + 1}/{a.epochs} box {run[0] / steps_per_epoch:.3f} cls {run[1] / steps_per_epoch:.3f} dfl {run[2] / steps_per_epoch:.3f} lr {lr:.5f} {time.time() - t0:.0f} s', flush=True)
        if (epoch + 1) % 2 == 0 or epoch + 1 in (a.epochs, a.stop_epoch):
            export(ema, a.out)
        if epoch + 1 == a.stop_epoch:
            break
    print(f'trained {epoch + 1} of {a.epochs} epochs of {n} images in {time.time() - t0:.0f} s; wrote {a.out}')


if __name__ == '__main__':
    main()
