#!/usr/bin/python3
"""Export torchvision models (random, seeded weights) to ONNX fixtures.

Usage: /usr/bin/python3 scripts/export_models.py OUTDIR [names...]

Needs Debian's python3-torch, python3-torchvision and python3-onnx. No network:
weights are seeded random init, with BatchNorm statistics calibrated and then
perturbed so the models are numerically non-trivial (see `randomize_norms`).

For each model NAME this writes into OUTDIR:
  NAME.onnx         opset 17 (NAME-opsetN: opset N), input "input", output "output"
                    (the YOLO-style detectors: "images" and "output0", as Ultralytics has them)
  NAME.input.bin    float32 little-endian raw, seeded standard-normal input
  NAME.output.bin   float32 little-endian raw, PyTorch eval-mode output on it
and merges an entry into OUTDIR/manifest.json:
  {"name", "file", "inputShape", "outputShape", "params", "opset"}
Every file is written atomically (tmp file, then os.replace). A model whose
three files and manifest entry already exist is skipped, so re-runs are cheap;
torch is only imported when something has to be built.
"""
import json
import os
import sys
import time
import warnings

OPSET = 17
DEFAULT_SHAPE = (1, 3, 224, 224)


# name -> (builder, input shape, dynamic batch?[, opset]). Builders take the
# torchvision module and return an nn.Module; they run after torch.manual_seed(0).
def _tv(fn, **kw):
    return lambda tv: getattr(tv.models, fn)(weights=None, **kw)


def _vgg11_bn_slim(tv):
    """vgg11_bn with a 256-wide classifier: the stock 4096-wide one makes a
    531 MB file (and minutes of I/O in tests) without adding any structure.
    Conv stack, 7x7 adaptive pool and Flatten→Linear stay as torchvision has them."""
    import torch.nn as nn
    m = tv.models.vgg11_bn(weights=None)
    m.classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 256), nn.ReLU(True), nn.Dropout(),
        nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 1000))
    return m


def _lraspp(tv):
    import torch

    class Seg(torch.nn.Module):  # the torchvision model returns {"out": ...}
        def __init__(self):
            super().__init__()
            self.m = tv.models.segmentation.lraspp_mobilenet_v3_large(
                weights=None, weights_backbone=None)

        def forward(self, x):
            return self.m(x)["out"]

    return Seg()


def _tiny_unet(tv):
    import torch
    from torch import nn
    import torch.nn.functional as F

    def block(cin, cout, n=2):
        layers = []
        for i in range(n):
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        return nn.Sequential(*layers)

    class TinyUNet(nn.Module):  # ~110k params
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3 = block(3, 8), block(8, 16), block(16, 32)
            self.mid = block(32, 64)
            self.d3, self.d2, self.d1 = block(96, 32, 1), block(48, 16, 1), block(24, 8, 1)
            self.head = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            up = lambda t: F.interpolate(t, scale_factor=2.0, mode="bilinear", align_corners=False)
            e1 = self.e1(x)
            e2 = self.e2(F.max_pool2d(e1, 2))
            e3 = self.e3(F.max_pool2d(e2, 2))
            m = self.mid(F.max_pool2d(e3, 2))
            d3 = self.d3(torch.cat([up(m), e3], 1))
            d2 = self.d2(torch.cat([up(d3), e2], 1))
            d1 = self.d1(torch.cat([up(d2), e1], 1))
            return self.head(d1)

    return TinyUNet()


def _old_ops(tv):
    """Ops whose old-opset forms keep parameters in attributes (opset 7-9):
    BatchNormalization not after a conv (torch folds those), Pad, Split,
    Upsample (scales attribute before opset 9), Slice, ReduceMean, Reshape,
    Gemm. Input 1x3x32x32, ~15k params."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class OldOps(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.bn = nn.BatchNorm2d(16)  # after a ReLU: stays a BatchNormalization
            self.c2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2), nn.ReLU())
            self.c3 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
            self.c4 = nn.Conv2d(32, 24, 1)
            self.fc = nn.Linear(24, 10)

        def forward(self, x):
            x = self.bn(self.c1(x))
            x = self.c2(F.pad(x, (1, 1, 1, 1)))
            a, b = x.chunk(2, dim=1)
            x = self.c3(torch.cat([b, a], 1))
            # A constant size: torch 1.13 exports scale_factor only from opset 9 on.
            x = F.interpolate(x, size=(32, 32), mode="nearest")
            x = self.c4(x[:, :, 1:-1, 1:-1])
            x = x.mean(dim=(2, 3))
            return self.fc(x.view(x.size(0), -1))

    return OldOps()


FMNIST_DIR = os.environ.get("SHEARS_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")


class SkipModel(Exception):
    """A model whose inputs are not on this machine (not a failure)."""


def _read_idx_gz(path):
    import gzip
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fmnist_cnn(tv):
    """A small CNN trained on the real Fashion-MNIST train set (Debian's
    dataset-fashion-mnist), for accuracy tests of pruning. Input is pixels / 255
    (what @shears/data's IDX loader yields), N x 1 x 28 x 28 with a dynamic batch.
    3 epochs with 2 threads and a fixed seed take 30–70 s (66 s of CPU); the t10k accuracy goes
    into the manifest as testAccuracy."""
    import torch
    from torch import nn
    files = {k: os.path.join(FMNIST_DIR, f"{k}-idx{3 if 'images' in k else 1}-ubyte.gz")
             for k in ("train-images", "train-labels", "t10k-images", "t10k-labels")}
    missing = [f for f in files.values() if not os.path.exists(f)]
    if missing:
        raise SkipModel(f"Fashion-MNIST not found ({missing[0]}); apt-get install dataset-fashion-mnist")
    torch.set_num_threads(2)
    load_x = lambda k: torch.from_numpy(_read_idx_gz(files[k]).astype("float32") / 255.0).unsqueeze(1)
    load_y = lambda k: torch.from_numpy(_read_idx_gz(files[k]).astype("int64"))
    xtr, ytr, xte, yte = load_x("train-images"), load_y("train-labels"), load_x("t10k-images"), load_y("t10k-labels")

    # Strided convs rather than max-pools: torch 1.13's CPU backward for padded
    # full-resolution convs and pools is what made training slow.
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),   # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # 32 x 7 x 7
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),  # 64 x 4 x 4
        nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(0)
    epochs, batch = 3, 128
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(xtr) + batch - 1) // batch))
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000)) / len(xte)
    model.manifest_extra = {"dataset": "fashion-mnist", "inputScale": "pixels/255",
                            "trainEpochs": epochs, "testAccuracy": round(acc, 4)}
    return model


def _yolo(name):
    """YOLO-style detectors from yolo_models.py (beside this script): input
    "images", output "output0", as Ultralytics names them."""
    def build(tv):
        import yolo_models
        return yolo_models.build(name)
    return build


YOLO_SHAPE = (1, 3, 640, 640)

MODELS = {
    "resnet18": (_tv("resnet18"), DEFAULT_SHAPE, False),
    "resnet18-dynbatch": (_tv("resnet18"), DEFAULT_SHAPE, True),
    "resnet50": (_tv("resnet50"), DEFAULT_SHAPE, False),
    "resnext50_32x4d": (_tv("resnext50_32x4d"), DEFAULT_SHAPE, False),
    "mobilenet_v2": (_tv("mobilenet_v2"), DEFAULT_SHAPE, False),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), DEFAULT_SHAPE, False),
    "efficientnet_b0": (_tv("efficientnet_b0"), DEFAULT_SHAPE, False),
    "densenet121": (_tv("densenet121"), DEFAULT_SHAPE, False),
    "shufflenet_v2_x1_0": (_tv("shufflenet_v2_x1_0"), DEFAULT_SHAPE, False),
    "squeezenet1_1": (_tv("squeezenet1_1"), DEFAULT_SHAPE, False),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=True), DEFAULT_SHAPE, False),
    "regnet_y_400mf": (_tv("regnet_y_400mf"), DEFAULT_SHAPE, False),
    "vgg11_bn": (_vgg11_bn_slim, DEFAULT_SHAPE, False),
    "mnasnet0_5": (_tv("mnasnet0_5"), DEFAULT_SHAPE, False),
    "convnext_tiny": (_tv("convnext_tiny"), DEFAULT_SHAPE, False),
    "lraspp_mobilenet_v3_large": (_lraspp, (1, 3, 128, 128), False),
    "tiny_unet": (_tiny_unet, (1, 3, 64, 64), False),
    "fmnist_cnn": (_fmnist_cnn, (1, 1, 28, 28), True),
    # Old-opset exports (torch 1.13 writes 7-9): attribute forms of Clip, Split,
    # Unsqueeze, Upsample, Slice, Pad, BatchNormalization; Gemm-7.
    "resnet18-opset9": (_tv("resnet18"), DEFAULT_SHAPE, False, 9),
    "mobilenet_v2-opset7": (_tv("mobilenet_v2"), DEFAULT_SHAPE, False, 7),
    "shufflenet_v2_x1_0-opset8": (_tv("shufflenet_v2_x1_0"), DEFAULT_SHAPE, False, 8),
    "old_ops-opset7": (_old_ops, (1, 3, 32, 32), False, 7),
    "old_ops-opset9": (_old_ops, (1, 3, 32, 32), False, 9),
    # YOLOv8n / YOLO11n / YOLO26n-shaped exports (scripts/yolo_models.py).
    "yolov8n": (_yolo("yolov8n"), YOLO_SHAPE, False),
    "yolo11n": (_yolo("yolo11n"), YOLO_SHAPE, False),
    "yolo26n": (_yolo("yolo26n"), YOLO_SHAPE, False),
}


def randomize_norms(torch, model, shape):
    """Make normalization layers non-trivial, deterministically.

    Fresh BatchNorm has mean 0 / var 1 and weight 1 / bias 0, so eval-mode BN
    is ~identity. Stats drawn from thin air make deep nets explode (efficientnet
    reached |y| ~ 1e3), so instead: (1) randomize the affine params of every
    norm layer (and ConvNeXt's layer_scale, init 1e-6, which would make each
    residual branch negligible); (2) calibrate BN running stats on two seeded
    random batches, so they track the real activations (per-channel means and
    variances far from 0/1); (3) perturb those stats mildly per channel.
    """
    g = torch.Generator().manual_seed(1234)
    uni = lambda shape, lo, hi: lo + (hi - lo) * torch.rand(shape, generator=g)
    bn_type = torch.nn.modules.batchnorm._BatchNorm
    bns = [m for m in model.modules() if isinstance(m, bn_type)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (bn_type, torch.nn.LayerNorm, torch.nn.GroupNorm)) \
                    and getattr(m, "weight", None) is not None:
                m.weight.copy_(uni(m.weight.shape, 0.5, 1.5))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if isinstance(getattr(m, "layer_scale", None), torch.nn.Parameter):
                m.layer_scale.copy_(uni(m.layer_scale.shape, 0.1, 0.5))
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
            model.eval()  # only the BN layers train: no dropout / stochastic depth
            for m in bns:
                m.train()
            for _ in range(2):
                model(torch.randn((4,) + tuple(shape[1:]), generator=g))
            for m in bns:
                n = m.num_features
                m.running_var.mul_(uni(n, 0.8, 1.25))
                m.running_mean.add_(0.1 * torch.randn(n, generator=g) * m.running_var.sqrt())
        model.eval()


def write_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_manifest(outdir):
    try:
        with open(os.path.join(outdir, "manifest.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def update_manifest(outdir, entry):
    entries = [e for e in load_manifest(outdir) if e["name"] != entry["name"]] + [entry]
    entries.sort(key=lambda e: e["name"])
    text = "[\n" + ",\n".join("  " + json.dumps(e) for e in entries) + "\n]\n"  # one entry a line
    write_atomic(os.path.join(outdir, "manifest.json"), text.encode())


def is_done(outdir, name, manifest):
    files = [f"{name}.onnx", f"{name}.input.bin", f"{name}.output.bin"]
    return (any(e["name"] == name for e in manifest)
            and all(os.path.exists(os.path.join(outdir, f)) for f in files))


def export_one(outdir, name):
    import torch
    import torchvision
    import onnx

    build, shape, dyn, *rest = MODELS[name]
    opset = rest[0] if rest else OPSET
    torch.manual_seed(0)
    model = build(torchvision)
    randomize_norms(torch, model, shape)
    model.eval()
    gen = torch.Generator().manual_seed(42)
    # Image models in [0, 1] (the YOLO-style ones) say so; the rest take a standard-normal input.
    x = torch.rand(shape, generator=gen) if getattr(model, "sample_input", None) == "uniform" else torch.randn(shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    params = sum(p.numel() for p in model.parameters())

    path = os.path.join(outdir, f"{name}.onnx")
    tmp = f"{path}.tmp-{os.getpid()}"
    in_names, out_names = getattr(model, "io_names", (["input"], ["output"]))
    dynamic_axes = {in_names[0]: {0: "batch"}, out_names[0]: {0: "batch"}} if dyn else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings, constant-folding notes
        torch.onnx.export(model, x, tmp, opset_version=opset, do_constant_folding=True,
                          input_names=in_names, output_names=out_names,
                          dynamic_axes=dynamic_axes)
    onnx.checker.check_model(tmp, full_check=True)
    # .bin files first and the .onnx last, so an existing .onnx means a complete set.
    f32 = lambda t: t.detach().contiguous().numpy().astype("<f4").tobytes()
    write_atomic(os.path.join(outdir, f"{name}.input.bin"), f32(x))
    write_atomic(os.path.join(outdir, f"{name}.output.bin"), f32(y))
    os.replace(tmp, path)
    update_manifest(outdir, {"name": name, "file": f"{name}.onnx", "inputShape": list(shape),
                             "outputShape": list(y.shape), "params": params, "opset": opset,
                             **getattr(model, "manifest_extra", {})})
    return os.path.getsize(path)


def main(argv):
    if len(argv) < 1 or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nModels: " + " ".join(MODELS), file=sys.stderr)
        return 2
    outdir, names = argv[0], argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"export_models: unknown model(s): {' '.join(unknown)}", file=sys.stderr)
        return 2
    os.makedirs(outdir, exist_ok=True)
    manifest = load_manifest(outdir)
    todo = [n for n in names if not is_done(outdir, n, manifest)]
    failed = []
    for name in todo:
        t0 = time.time()
        try:
            size = export_one(outdir, name)
            print(f"export_models: {name}: {size / 1e6:.1f} MB in {time.time() - t0:.1f}s",
                  file=sys.stderr, flush=True)
        except SkipModel as e:
            print(f"export_models: {name}: skipped: {e}", file=sys.stderr, flush=True)
        except Exception as e:  # keep going; report at the end
            failed.append(name)
            print(f"export_models: {name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    if failed:
        print(f"export_models: failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
