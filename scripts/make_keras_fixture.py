#!/usr/bin/env python3
"""Generate fixtures/keras-resnet8.onnx: a small Keras-made ResNet-8, trained on
Fashion-MNIST with raw 0-255 pixels, converted to ONNX the way tf2onnx does.

Needs tensorflow-cpu, onnx, onnxruntime and numpy (a venv outside the repo):

    /usr/bin/python3 -m venv /tmp/kvenv
    /tmp/kvenv/bin/pip install tensorflow-cpu onnx onnxruntime numpy
    /tmp/kvenv/bin/python scripts/make_keras_fixture.py [OUTDIR]

and Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, or
$SHEARS_FMNIST_DIR).

The model has no input normalization: it sees pixels as 0..255 floats, NHWC
(N x 28 x 28 x 1), like many Keras models in the wild, and it ends in a Softmax
(Dense(10, activation='softmax')).

There is no tf2onnx in the local index, so the converter is here
(`to_onnx`): it walks the functional model's layers and writes what tf2onnx
writes for them at opset 13: an NHWC graph input and a Transpose to NCHW,
Conv with the HWIO kernel transposed to OIHW and the bias inside the Conv,
explicit TF 'same' pads (asymmetric for stride 2), BatchNormalization
(epsilon 0.001, Keras' moving statistics), Relu, Add for the residuals,
GlobalAveragePool + Squeeze, MatMul + Add for Dense, and Softmax. The batch
axis is dynamic ("N"). The ONNX is checked against Keras' own predictions in
onnxruntime (max |diff| <= 1e-4 on 1000 test images, else the script fails).

Outputs (OUTDIR defaults to fixtures/):
  keras-resnet8.onnx, keras-resnet8.input.bin (the first 2 t10k images, raw
  pixels, 2x28x28x1 float32 LE), keras-resnet8.output.bin (Keras' softmax for
  them, 2x10), and this model's entry in manifest.json (other entries are kept).

Seeded (tf.keras.utils.set_random_seed(0), op determinism, 2 threads): the
same TF build on the same machine gives the same bytes (three runs with
tensorflow-cpu 2.21.0 did). Training takes about 2.5 CPU-minutes (4-6 min
wall on a busy 2-core machine).
"""
import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "keras-resnet8"
OPSET = 13
SEED = 0
EPOCHS = 3
BATCH = 128
FMNIST_DIR = os.environ.get("SHEARS_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")


def log(msg):
    print(f"make_keras_fixture: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ data

def read_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    """(x, y): x raw pixels as float32 N x 28 x 28 x 1 (0..255, no scaling), y int labels."""
    import numpy as np
    x = read_idx(os.path.join(FMNIST_DIR, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FMNIST_DIR, f"{split}-labels-idx1-ubyte.gz"))
    return x.astype(np.float32)[..., None], y.astype(np.int64)


# ------------------------------------------------------------------ model

def build_model():
    """ResNet-8 (Keras' ResNet v1 layout, depth 8): a 3x3 stem, three stages of
    one basic block each (16/32/64 filters; stage 1 has an identity shortcut,
    stages 2 and 3 a strided 1x1 projection), GAP and Dense(10, softmax)."""
    from tensorflow import keras
    from tensorflow.keras import layers as L

    def conv(x, filters, k, stride, name):
        return L.Conv2D(filters, k, strides=stride, padding="same", kernel_initializer="he_normal", name=name)(x)

    x = inp = keras.Input((28, 28, 1), name="input")
    x = conv(x, 16, 3, 1, "stem_conv")
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.Activation("relu", name="stem_relu")(x)
    for stage, filters in enumerate((16, 32, 64), start=1):
        stride = 1 if stage == 1 else 2
        p = f"stage{stage}"
        y = conv(x, filters, 3, stride, f"{p}_conv1")
        y = L.BatchNormalization(name=f"{p}_bn1")(y)
        y = L.Activation("relu", name=f"{p}_relu1")(y)
        y = conv(y, filters, 3, 1, f"{p}_conv2")
        y = L.BatchNormalization(name=f"{p}_bn2")(y)
        if stage > 1:
            x = conv(x, filters, 1, stride, f"{p}_proj")
        x = L.Add(name=f"{p}_add")([x, y])
        x = L.Activation("relu", name=f"{p}_relu2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="resnet8")


# ------------------------------------------------------------------ converter

class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], {}

    def init(self, name, array):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, scope, out=None, **attrs):
        from onnx import helper
        self.count[(scope, op)] = k = self.count.get((scope, op), 0) + 1
        name = f"{scope}/{op}" if k == 1 else f"{scope}/{op}_{k - 1}"
        out = out or f"{name}:0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out


def same_pads(size, k, stride):
    """TF 'same' padding for one axis: (begin, end), the extra pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def inbound(layer):
    """Names of the layers whose outputs feed `layer` (Keras 3 functional graph)."""
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def to_onnx(model, producer):
    """The functional `model` as an opset-13 ONNX ModelProto, tf2onnx-style."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    g = Graph()
    out = {}  # layer name -> ONNX value name (NCHW from the Transpose on)
    hw = {}  # layer name -> spatial size (H, W)
    p = model.name
    for layer in model.layers:
        kind = type(layer).__name__
        scope = f"{p}/{layer.name}"
        src = inbound(layer) if kind != "InputLayer" else []
        x = out[src[0]] if src else None
        if kind == "InputLayer":
            h, w, c = layer.output.shape[1:]
            nhwc = layer.name
            out[layer.name] = g.node("Transpose", [nhwc], f"{p}/{layer.name}_nchw", perm=[0, 3, 1, 2])
            hw[layer.name] = (h, w)
            graph_input = helper.make_tensor_value_info(nhwc, TensorProto.FLOAT, ["N", h, w, c])
        elif kind == "Conv2D":
            kernel, bias = (v.numpy() for v in layer.weights)
            kh, kw = kernel.shape[:2]
            sh, sw = layer.strides
            h, w = hw[src[0]]
            (pt, pb), (pl, pr) = same_pads(h, kh, sh), same_pads(w, kw, sw)
            wname = g.init(f"{scope}/kernel:0", np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            bname = g.init(f"{scope}/bias:0", bias)
            out[layer.name] = g.node("Conv", [x, wname, bname], scope, kernel_shape=[kh, kw], strides=[sh, sw],
                                     pads=[pt, pl, pb, pr], dilations=[1, 1], group=1)
            hw[layer.name] = (-(-h // sh), -(-w // sw))
        elif kind == "BatchNormalization":
            gamma, beta, mean, var = (v.numpy() for v in layer.weights)
            names = [g.init(f"{scope}/{k}:0", a) for k, a in (("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_variance", var))]
            out[layer.name] = g.node("BatchNormalization", [x, *names], scope, epsilon=float(layer.epsilon))
            hw[layer.name] = hw[src[0]]
        elif kind == "Activation" and layer.get_config()["activation"] == "relu":
            out[layer.name] = g.node("Relu", [x], scope)
            hw[layer.name] = hw[src[0]]
        elif kind == "Add":
            out[layer.name] = g.node("Add", [out[s] for s in src], scope)
            hw[layer.name] = hw[src[0]]
        elif kind == "GlobalAveragePooling2D":
            y = g.node("GlobalAveragePool", [x], scope)
            axes = g.init(f"{scope}/Squeeze/axes:0", np.array([2, 3], np.int64))
            out[layer.name] = g.node("Squeeze", [y, axes], scope)
        elif kind == "Dense":
            kernel, bias = (v.numpy() for v in layer.weights)
            y = g.node("MatMul", [x, g.init(f"{scope}/kernel:0", kernel)], scope)
            y = g.node("Add", [y, g.init(f"{scope}/bias:0", bias)], scope)
            act = layer.get_config()["activation"]
            if act == "softmax":
                y = g.node("Softmax", [y], scope, axis=-1)
            elif act != "linear":
                raise SystemExit(f"to_onnx: {layer.name}: activation {act} is not supported")
            out[layer.name] = y
        else:
            raise SystemExit(f"to_onnx: {layer.name}: layer {kind} is not supported")

    last = model.layers[-1].name
    # The graph output carries the last layer's name, as tf2onnx does.
    g.nodes[-1].output[0] = last
    n_out = model.output.shape[-1]
    graph = helper.make_graph(g.nodes, p, [graph_input],
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, ["N", n_out])], g.inits)
    m = helper.make_model(graph, producer_name=producer, producer_version="1",
                          opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
    onnx.checker.check_model(m, full_check=True)
    return m


# ------------------------------------------------------------------ main

def write_manifest_entry(outdir, entry):
    path = os.path.join(outdir, "manifest.json")
    entries = json.load(open(path)) if os.path.exists(path) else []
    entries = sorted([e for e in entries if e["name"] != entry["name"]] + [entry], key=lambda e: e["name"])
    text = "[\n" + ",\n".join("  " + json.dumps(e) for e in entries) + "\n]\n"
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(HERE, "..", "fixtures"), help="where to write (default: fixtures/)")
    outdir = os.path.abspath(ap.parse_args(argv).outdir)
    missing = [f for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz") if not os.path.exists(os.path.join(FMNIST_DIR, f))]
    if missing:
        raise SystemExit(f"make_keras_fixture: {FMNIST_DIR}/{missing[0]} not found; apt-get install dataset-fashion-mnist")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    model = build_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.time()
    model.fit(xtr, ytr, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=2)
    log(f"trained {EPOCHS} epochs in {time.time() - t0:.0f} s (tensorflow {tf.__version__})")
    probs = model.predict(xte, batch_size=500, verbose=0)
    acc = float((probs.argmax(1) == yte).mean())

    m = to_onnx(model, os.path.basename(__file__))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    got = np.concatenate([sess.run(None, {"input": xte[i:i + 500]})[0] for i in range(0, len(xte), 500)])
    onnx_acc = float((got.argmax(1) == yte).mean())
    diff = float(np.abs(got[:1000] - probs[:1000]).max())
    log(f"test accuracy: keras {acc:.4f}, onnxruntime {onnx_acc:.4f}; max |onnx - keras| on 1000 images {diff:.3g}")
    if not diff <= 1e-4:
        raise SystemExit(f"make_keras_fixture: the ONNX differs from Keras by {diff:.3g} (> 1e-4)")

    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, f"{NAME}.onnx")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    x = np.ascontiguousarray(xte[:2])
    y = model.predict(x, verbose=0).astype(np.float32)
    x.astype("<f4").tofile(os.path.join(outdir, f"{NAME}.input.bin"))
    y.astype("<f4").tofile(os.path.join(outdir, f"{NAME}.output.bin"))
    params = int(sum(np.prod(t.dims) for t in m.graph.initializer if t.data_type == 1))
    write_manifest_entry(outdir, {"name": NAME, "file": f"{NAME}.onnx", "inputShape": list(x.shape), "outputShape": list(y.shape),
                                  "params": params, "opset": OPSET, "dataset": "fashion-mnist", "inputScale": "pixels (0-255)",
                                  "layout": "NHWC", "trainEpochs": EPOCHS, "testAccuracy": round(acc, 4),
                                  "testAccuracyOnnx": round(onnx_acc, 4), "maxAbsDiffOnnxKeras": float(f"{diff:.2g}")})
    log(f"{NAME}.onnx {os.path.getsize(path)} bytes, {params} params")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
