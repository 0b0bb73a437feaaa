#!/usr/bin/env python3
"""Second validator for Shears' .tflite exports: the official TFLite interpreter.

    python3 tflite_check.py jobs.json

jobs.json is a list of {"name", "tflite", "input", "expected"}: raw little-endian
float32 files in the layout of the .tflite input and output tensors (one input,
one output). Each model runs twice: with the default delegates (XNNPACK) and
with the builtin kernels only. Prints one JSON line per model:
{"name", "xnnpack": {"maxAbsDiff", "maxRelDiff"}, "builtin": {...}} or {"name", "error"}.
Needs tensorflow (tensorflow-cpu) for this python; exits 3 when it is missing.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    import numpy as np
    import tensorflow as tf
except ImportError as e:  # pragma: no cover - depends on the machine
    print(json.dumps({"error": f"tensorflow not importable: {e}"}))
    sys.exit(3)


def run(path, x, resolver):
    kw = {} if resolver is None else {"experimental_op_resolver_type": resolver}
    interp = tf.lite.Interpreter(model_path=path, num_threads=1, **kw)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    interp.set_tensor(inp["index"], x.reshape(inp["shape"]))
    interp.invoke()
    return interp.get_tensor(out["index"]).astype(np.float32)


def diff(y, ref):
    d = float(np.max(np.abs(y.reshape(-1) - ref.reshape(-1))))
    scale = float(np.max(np.abs(ref))) or 1.0
    return {"maxAbsDiff": d, "maxRelDiff": d / scale}


def main():
    jobs = json.load(open(sys.argv[1]))
    builtin = tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    for job in jobs:
        res = {"name": job["name"]}
        try:
            x = np.fromfile(job["input"], dtype="<f4")
            ref = np.fromfile(job["expected"], dtype="<f4")
            res["xnnpack"] = diff(run(job["tflite"], x, None), ref)
            res["builtin"] = diff(run(job["tflite"], x, builtin), ref)
        except Exception as e:  # report and go on with the next model
            res["error"] = str(e).splitlines()[0][:300]
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
