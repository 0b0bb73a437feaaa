#!/usr/bin/python3
"""Generate the small, committed ONNX fixtures in fixtures/.

Usage:
  /usr/bin/python3 scripts/make_small_fixtures.py [OUTDIR]   # default: <repo>/fixtures
  python3 scripts/make_small_fixtures.py --verify [OUTDIR]   # numpy + onnxruntime only

Generation needs Debian's python3-torch and python3-onnx (onnx 1.12). Expected
outputs (NAME.output.bin) come from PyTorch, or from a numpy reference for the
hand-built graphs; onnxruntime is not a dependency. After generating, the
script runs --verify itself when onnxruntime imports, or else under
$ORT_PYTHON / the `python3` on PATH when that one has onnxruntime; otherwise
it prints a note. --verify runs every model that has .bin files in onnxruntime
and compares with NAME.output.bin.

Deterministic: seeded weights and inputs, so a re-run rewrites identical
bytes (with the same torch/onnx versions).
"""
import json
import os
import shutil
import subprocess
import sys

OPSET = 17
IR_VERSION = 8  # what onnx 1.12 / torch 1.13 write
HERE = os.path.dirname(os.path.abspath(__file__))


def f32(a):
    import numpy as np
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def write(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Out:
    """Collects the files and manifest entries for one OUTDIR."""

    def __init__(self, outdir):
        self.dir = outdir
        self.entries = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def model(self, name, model_or_path, x=None, y=None, check=True):
        """Save NAME.onnx (a ModelProto, or an already-written file) and, for
        float models, NAME.input.bin / NAME.output.bin plus a manifest entry."""
        import onnx
        path = self.path(f"{name}.onnx")
        if isinstance(model_or_path, onnx.ModelProto):
            write(path, model_or_path.SerializeToString())
        if check:
            onnx.checker.check_model(path, full_check=True)
        if x is not None:
            write(self.path(f"{name}.input.bin"), f32(x))
            write(self.path(f"{name}.output.bin"), f32(y))
            m = onnx.load(path)  # external data, if any, is loaded from beside it
            params = sum(int(_numel(t.dims)) for t in m.graph.initializer)
            self.entries.append({"name": name, "file": f"{name}.onnx", "inputShape": list(x.shape),
                                 "outputShape": list(y.shape), "params": params, "opset": OPSET})
        print(f"make_small_fixtures: {name}.onnx {os.path.getsize(path)} bytes", file=sys.stderr)

    def manifest(self):
        text = "[\n" + ",\n".join("  " + json.dumps(e) for e in self.entries) + "\n]\n"
        write(self.path("manifest.json"), text.encode())


def _numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def torch_export(model, x, path, **kw):
    import torch
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                          output_names=["output"], **kw)


# ---------------------------------------------------------------- torch-built

def tiny_cnn(torch):
    from torch import nn

    class TinyCNN(nn.Module):  # ~20k params
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
            self.c2, self.b2 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
            self.c3, self.b3 = nn.Conv2d(16, 32, 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(32)
            self.c4, self.b4 = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            h = torch.relu(self.b1(self.c1(x)))
            h = torch.relu(self.b2(self.c2(h)) + h)  # residual Add
            h = torch.relu(self.b3(self.c3(h)))
            h = torch.relu(self.b4(self.c4(h)) + h)  # residual Add
            h = torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1)
            return self.fc(h)

    torch.manual_seed(0)
    m = TinyCNN()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BN: stats and affine far from 0/1
        for b in (m.b1, m.b2, m.b3, m.b4):
            n = b.num_features
            b.running_mean.copy_(0.2 * torch.randn(n, generator=g))
            b.running_var.copy_(0.5 + torch.rand(n, generator=g))
            b.weight.copy_(0.5 + torch.rand(n, generator=g))
            b.bias.copy_(0.1 * torch.randn(n, generator=g))
    return m.eval()


def make_torch_models(out):
    import torch

    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(42))
    m = tiny_cnn(torch)
    with torch.no_grad():
        y = m(x)
    # TrainingMode.PRESERVE keeps BatchNormalization nodes (the EVAL default
    # fuses Conv+BN, as in the large fixtures) so the BN code paths have a model.
    torch_export(m, x, out.path("tiny-cnn.onnx"), do_constant_folding=True,
                 training=torch.onnx.TrainingMode.PRESERVE)
    out.model("tiny-cnn", out.path("tiny-cnn.onnx"), x.numpy(), y.numpy())

    # externaldata.onnx: tiny-cnn with every tensor in one side file.
    import onnx
    tc = onnx.load(out.path("tiny-cnn.onnx"))
    for stale in ("externaldata.onnx", "externaldata.onnx.data"):
        if os.path.exists(out.path(stale)):
            os.remove(out.path(stale))  # onnx appends to an existing data file
    onnx.save_model(tc, out.path("externaldata.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="externaldata.onnx.data",
                    size_threshold=0)
    out.model("externaldata", out.path("externaldata.onnx"), x.numpy(), y.numpy())

    # truncated.onnx: a cut-off protobuf.
    data = open(out.path("tiny-cnn.onnx"), "rb").read()
    write(out.path("truncated.onnx"), data[: int(len(data) * 0.6)])

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(64, 32) * 0.2)  # x @ w + b -> MatMul, Add
            self.b = torch.nn.Parameter(torch.randn(32) * 0.1)
            self.fc = torch.nn.Linear(32, 10)  # 2-D input -> Gemm

        def forward(self, x):
            return self.fc(torch.relu(x @ self.w + self.b))

    torch.manual_seed(0)
    m = MLP().eval()
    x = torch.randn(1, 64, generator=torch.Generator().manual_seed(42))
    with torch.no_grad():
        y = m(x)
    torch_export(m, x, out.path("tiny-mlp.onnx"), do_constant_folding=True)
    out.model("tiny-mlp", out.path("tiny-mlp.onnx"), x.numpy(), y.numpy())

    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.fc = torch.nn.Linear(4 * 8 * 8, 5)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))  # Shape->Gather->Unsqueeze->Concat->Reshape

    torch.manual_seed(0)
    m = Flat().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(42))  # batch 2 on purpose
    with torch.no_grad():
        y = m(x)
    torch_export(m, x, out.path("shape-subgraph.onnx"), do_constant_folding=False,
                 dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    out.model("shape-subgraph", out.path("shape-subgraph.onnx"), x.numpy(), y.numpy())


# ----------------------------------------------------------- onnx.helper-built

def hand_model(graph, doc="", functions=(), extra_opsets=()):
    from onnx import helper
    opsets = [helper.make_opsetid("", OPSET)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    kw = {"functions": list(functions)} if functions else {}
    m = helper.make_model(graph, opset_imports=opsets, producer_name="shears-fixtures",
                          doc_string=doc, **kw)
    m.ir_version = IR_VERSION
    return m


def make_hand_models(out):
    import numpy as np
    from onnx import TensorProto as TP, helper as h

    rng = np.random.default_rng(0)
    vi = h.make_tensor_value_info
    relu = lambda a: np.maximum(a, 0)

    # typed-fields.onnx: tensors in float_data / int64_data (raw=False), one in a Constant.
    w = rng.standard_normal((12, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    shape = np.array([1, 2, 3], dtype=np.int64)
    g = h.make_graph(
        [h.make_node("MatMul", ["input", "W"], ["mm"]),
         h.make_node("Constant", [], ["B"], value=h.make_tensor("B", TP.FLOAT, [6], b.tolist())),
         h.make_node("Add", ["mm", "B"], ["biased"]),
         h.make_node("Reshape", ["biased", "shape"], ["r"]),
         h.make_node("Relu", ["r"], ["output"])],
        "typed_fields", [vi("input", TP.FLOAT, [1, 12])], [vi("output", TP.FLOAT, [1, 2, 3])],
        initializer=[h.make_tensor("W", TP.FLOAT, [12, 6], w.flatten().tolist()),
                     h.make_tensor("shape", TP.INT64, [3], shape.tolist())])
    m = hand_model(g)
    assert not any(t.raw_data for t in m.graph.initializer)
    x = rng.standard_normal((1, 12)).astype(np.float32)
    out.model("typed-fields", m, x, relu((x @ w + b).reshape(1, 2, 3)))

    # int8-weights.onnx: the dynamic-quantized Linear pattern onnxruntime's
    # quantize_dynamic emits: DynamicQuantizeLinear -> MatMulInteger(uint8 x int8)
    # -> Cast -> Mul(scales) -> Add(bias). Float in, float out.
    wq = rng.integers(-127, 128, (16, 8)).astype(np.int8)
    w_scale = np.float32(0.02)
    bias = rng.standard_normal(8).astype(np.float32)
    g = h.make_graph(
        [h.make_node("DynamicQuantizeLinear", ["input"], ["xq", "x_scale", "x_zp"]),
         h.make_node("MatMulInteger", ["xq", "Wq", "x_zp", "W_zp"], ["acc"]),
         h.make_node("Cast", ["acc"], ["accf"], to=TP.FLOAT),
         h.make_node("Mul", ["x_scale", "W_scale"], ["scale"]),
         h.make_node("Mul", ["accf", "scale"], ["deq"]),
         h.make_node("Add", ["deq", "bias"], ["output"])],
        "int8_weights", [vi("input", TP.FLOAT, [1, 16])], [vi("output", TP.FLOAT, [1, 8])],
        initializer=[h.make_tensor("Wq", TP.INT8, [16, 8], wq.tobytes(), raw=True),
                     h.make_tensor("W_zp", TP.INT8, [], [0]),
                     h.make_tensor("W_scale", TP.FLOAT, [], [float(w_scale)]),
                     h.make_tensor("bias", TP.FLOAT, [8], bias.tobytes(), raw=True)])
    x = rng.standard_normal((1, 16)).astype(np.float32)
    # DynamicQuantizeLinear reference (ONNX spec; np.round is round-half-even).
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    xs = np.float32((hi - lo) / 255)
    zp = np.clip(np.round(-lo / xs), 0, 255)
    xq = np.clip(np.round(x / xs) + zp, 0, 255)
    acc = (xq - zp).astype(np.int64) @ wq.astype(np.int64)
    y = acc.astype(np.float32) * (xs * w_scale) + bias
    out.model("int8-weights", hand_model(g), x, y)

    # if-subgraph.onnx: both branches read "W", an outer-scope initializer.
    wv = rng.standard_normal((1, 4)).astype(np.float32)
    then_g = h.make_graph([h.make_node("Add", ["input", "W"], ["t_out"])], "then_branch", [],
                          [vi("t_out", TP.FLOAT, [1, 4])])
    else_g = h.make_graph([h.make_node("Mul", ["input", "W"], ["e_out"])], "else_branch", [],
                          [vi("e_out", TP.FLOAT, [1, 4])])
    g = h.make_graph(
        [h.make_node("ReduceSum", ["input"], ["s"], keepdims=0),
         h.make_node("Greater", ["s", "zero"], ["cond"]),
         h.make_node("If", ["cond"], ["output"], then_branch=then_g, else_branch=else_g)],
        "if_subgraph", [vi("input", TP.FLOAT, [1, 4])], [vi("output", TP.FLOAT, [1, 4])],
        initializer=[h.make_tensor("W", TP.FLOAT, [1, 4], wv.flatten().tolist()),
                     h.make_tensor("zero", TP.FLOAT, [], [0.0])])
    x = rng.standard_normal((1, 4)).astype(np.float32)
    out.model("if-subgraph", hand_model(g), x, x + wv if x.sum() > 0 else x * wv)

    # function.onnx: a model-local FunctionProto used twice, plus metadata and doc strings.
    fn = h.make_function(
        "local.shears", "LinearRelu", ["x", "w", "b"], ["y"],
        [h.make_node("MatMul", ["x", "w"], ["xw"]),
         h.make_node("Add", ["xw", "b"], ["z"]),
         h.make_node("Relu", ["z"], ["y"])],
        opset_imports=[h.make_opsetid("", OPSET)], doc_string="y = relu(x @ w + b)")
    w1, b1 = rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    w2, b2 = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    g = h.make_graph(
        [h.make_node("LinearRelu", ["input", "W1", "B1"], ["h"], domain="local.shears",
                     doc_string="first layer"),
         h.make_node("LinearRelu", ["h", "W2", "B2"], ["output"], domain="local.shears",
                     doc_string="second layer")],
        "function_graph", [vi("input", TP.FLOAT, [1, 8])], [vi("output", TP.FLOAT, [1, 4])],
        initializer=[h.make_tensor(n, TP.FLOAT, a.shape, a.tobytes(), raw=True)
                     for n, a in (("W1", w1), ("B1", b1), ("W2", w2), ("B2", b2))],
        doc_string="two LinearRelu calls")
    m = hand_model(g, doc="model with a local function", functions=[fn],
                   extra_opsets=[("local.shears", 1)])
    h.set_model_props(m, {"author": "shears-fixtures", "purpose": "function + metadata test"})
    x = rng.standard_normal((1, 8)).astype(np.float32)
    out.model("function", m, x, relu(relu(x @ w1 + b1) @ w2 + b2))

    # unknown-op.onnx: a custom-domain op no runtime knows; no .bin files.
    g = h.make_graph(
        [h.make_node("Relu", ["input"], ["r"]),
         h.make_node("FancyOp", ["r"], ["f"], domain="com.example", alpha=0.5),
         h.make_node("Relu", ["f"], ["output"])],
        "unknown_op", [vi("input", TP.FLOAT, [1, 4])], [vi("output", TP.FLOAT, [1, 4])],
        value_info=[vi("f", TP.FLOAT, [1, 4])])
    out.model("unknown-op", hand_model(g, extra_opsets=[("com.example", 1)]))

    write(out.path("not-onnx.onnx"), b"This is not an ONNX model, just a text file.\n")


def make_explicit_empty(out):
    """explicit-empty.onnx: every optional string or scalar field the graph has
    is spelled out with its default value ("" or 0), as old PyTorch exports
    (UltraFace) do with node names. proto2 keeps such fields on the wire, so a
    lossless reader must write them back. Own seed: the other models' streams
    are untouched."""
    import numpy as np
    from onnx import TensorProto as TP, helper as h

    rng = np.random.default_rng(15)
    vi = h.make_tensor_value_info

    def empty_node(n, default_domain=True):
        n.name = ""
        n.doc_string = ""
        if default_domain:
            n.domain = ""
        for a in n.attribute:
            a.doc_string = ""
        return n

    def tensor(name, arr, dtype=TP.FLOAT):
        t = h.make_tensor(name, dtype, arr.shape, arr.tobytes(), raw=True)
        t.doc_string = ""
        t.data_location = TP.DEFAULT  # what onnx.load_external_data leaves behind
        return t

    def empty_info(v):
        v.doc_string = ""
        return v

    w = (rng.standard_normal((3, 2, 3, 3)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(3) * 0.1).astype(np.float32)
    k = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    w2 = rng.standard_normal((4, 3)).astype(np.float32)
    b2 = (rng.standard_normal(4) * 0.1).astype(np.float32)
    cond = np.array(True)

    # A local function whose attribute refers to the caller's: y = LeakyRelu(x, alpha=@alpha).
    leaky = h.make_node("LeakyRelu", ["x"], ["y"])
    leaky.attribute.append(h.AttributeProto(name="alpha", ref_attr_name="alpha", type=h.AttributeProto.FLOAT))
    fn = h.make_function("local.empty", "Leaky", ["x"], ["y"], [empty_node(leaky)],
                         opset_imports=[h.make_opsetid("", OPSET)], attributes=["alpha"])
    fn.doc_string = ""

    konst = h.make_node("Constant", [], ["k"], value=tensor("k", k))
    konst.attribute[0].t.name = ""  # explicitly empty tensor name
    then_g = h.make_graph([empty_node(h.make_node("Identity", ["act"], ["t_out"]))], "then_branch", [],
                          [empty_info(vi("t_out", TP.FLOAT, [1, 4]))])
    else_g = h.make_graph([empty_node(h.make_node("Neg", ["act"], ["e_out"]))], "else_branch", [],
                          [empty_info(vi("e_out", TP.FLOAT, [1, 4]))])
    for sg in (then_g, else_g):
        sg.doc_string = ""
    nodes = [
        h.make_node("Conv", ["input", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                    strides=[1, 1], dilations=[1, 1], group=1),
        h.make_node("Relu", ["c"], ["r"]),
        konst,
        h.make_node("Mul", ["r", "k"], ["m"]),
        h.make_node("ReduceMean", ["m"], ["p"], axes=[2, 3], keepdims=0),  # an explicit int 0
        h.make_node("Gemm", ["p", "W2", "B2"], ["g"], transA=0, transB=1, alpha=1.0, beta=1.0),
        h.make_node("If", ["cond"], ["output"], then_branch=then_g, else_branch=else_g),
    ]
    nodes = [empty_node(n) for n in nodes]
    call = empty_node(h.make_node("Leaky", ["g"], ["act"], domain="local.empty", alpha=0.1), default_domain=False)
    nodes.insert(6, call)
    g = h.make_graph(
        nodes, "explicit_empty", [empty_info(vi("input", TP.FLOAT, [1, 2, 5, 5]))],
        [empty_info(vi("output", TP.FLOAT, [1, 4]))],
        initializer=[tensor("W", w), tensor("B", b), tensor("W2", w2), tensor("B2", b2), tensor("cond", cond, TP.BOOL)],
        value_info=[empty_info(vi("r", TP.FLOAT, [1, 3, 5, 5]))])
    g.doc_string = ""
    m = hand_model(g, functions=[fn], extra_opsets=[("local.empty", 1)])
    m.producer_name = ""
    m.producer_version = ""
    m.domain = ""
    m.model_version = 0
    m.doc_string = ""
    h.set_model_props(m, {"empty": ""})

    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    c = np.zeros((1, 3, 5, 5), np.float32)
    for i in range(5):
        for j in range(5):
            c[0, :, i, j] = np.tensordot(w, xp[0, :, i:i + 3, j:j + 3], axes=([1, 2, 3], [0, 1, 2]))
    c += b.reshape(1, 3, 1, 1)
    p = (np.maximum(c, 0) * k).mean(axis=(2, 3))
    y = p @ w2.T + b2
    y = np.where(y >= 0, y, np.float32(0.1) * y)
    out.model("explicit-empty", m, x, y.astype(np.float32))


# -------------------------------------------------------------------- verify

def verify(outdir):
    import numpy as np
    import onnxruntime as ort

    bad = 0
    for e in json.load(open(os.path.join(outdir, "manifest.json"))):
        d = lambda s: os.path.join(outdir, e["name"] + s)
        x = np.fromfile(d(".input.bin"), "<f4").reshape(e["inputShape"])
        y = np.fromfile(d(".output.bin"), "<f4").reshape(e["outputShape"])
        s = ort.InferenceSession(d(".onnx"), providers=["CPUExecutionProvider"])
        o = s.run(None, {"input": x})[0]
        ok = o.shape == y.shape and np.allclose(o, y, rtol=1e-4, atol=1e-5)
        bad += not ok
        print(f"verify: {e['name']}: {'ok' if ok else 'MISMATCH'} (max |diff| {abs(o - y).max():.2g})",
              file=sys.stderr)
    return 1 if bad else 0


def main(argv):
    if argv[:1] == ["--verify"]:
        return verify(argv[1] if len(argv) > 1 else os.path.join(HERE, "..", "fixtures"))
    import torch
    outdir = os.path.abspath(argv[0] if argv else os.path.join(HERE, "..", "fixtures"))
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)  # bit-stable outputs across machines with different core counts
    out = Out(outdir)
    make_torch_models(out)
    make_hand_models(out)
    make_explicit_empty(out)
    out.entries.sort(key=lambda e: e["name"])
    out.manifest()

    try:
        import onnxruntime  # noqa: F401
        return verify(outdir)
    except ImportError:
        pass
    other = os.environ.get("ORT_PYTHON") or shutil.which("python3")
    if other and os.path.realpath(other) != os.path.realpath(sys.executable):
        r = subprocess.run([other, "-c", "import numpy, onnxruntime"], capture_output=True)
        if r.returncode == 0:
            return subprocess.run([other, __file__, "--verify", outdir]).returncode
    print("make_small_fixtures: onnxruntime not found; outputs not cross-checked "
          "(run: python3 scripts/make_small_fixtures.py --verify)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
