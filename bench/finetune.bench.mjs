// Issue #7 speed goals, measured in one run on this machine: training steps/s
// of the small CNN conv16 → conv32 → avgpool → dense10 (3×3 stride-2 convs
// with ReLU, global average pool, batch 32, 1×28×28 inputs, SGD momentum 0.9,
// cross-entropy) in
//  - PyTorch CPU (Debian's python3-torch, /usr/bin/python3, 2 threads): the baseline;
//  - @shears/finetune on tfjs-node (native TensorFlow): goal within 3× of PyTorch's step time;
//  - @shears/finetune on the pure-JS fallback (wasm): goal within 10×; and
//    wasm:2, the same with workers: 2 (a worker thread on half of each batch);
//  - the cpu backend, for reference.
// Each backend runs in its own process (tfjs keeps one backend per process);
// rounds alternate between them, and medians over rounds are reported.
//   node bench/finetune.bench.mjs [--rounds 3] [--steps 150] [--backends tensorflow,wasm,wasm:2,cpu]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, median } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const rounds = Number(arg('rounds', '3'));
const steps = Number(arg('steps', '150'));
const backends = arg('backends', 'tensorflow,wasm,wasm:2,cpu').split(',');

// One measurement: a child process trains `steps` steps after warm-up and prints steps/s.
const CHILD = String.raw`
const { finetune, initBackend } = await import(process.env.FT);
const core = await import(process.env.CORE);
const { Model, Graph, Node, Value, Tensor } = core;
const seed = (s => () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)(7);
const randn = (n, std) => Float32Array.from({ length: n }, () => { const u = seed() || 1e-9, v = seed(); return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v); });
const g = new Graph('bench');
const x = g.addInput(new Value('input', { kind: 'tensor', dtype: 'float32', shape: ['batch', 1, 28, 28] }));
const init = (name, dims, std) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data: std ? randn(dims.reduce((a, b) => a * b, 1), std) : new Float32Array(dims.reduce((a, b) => a * b, 1)) }));
const conv = (inp, name, cin, cout) => g.appendNode(new Node({ opType: 'Conv', name, inputs: [inp, init(name + '.w', [cout, cin, 3, 3], Math.sqrt(2 / (9 * cin))), init(name + '.b', [cout], 0)], outputs: [name + '.y'], attributes: { kernel_shape: { type: 'ints', value: [3, 3] }, strides: { type: 'ints', value: [2, 2] }, pads: { type: 'ints', value: [1, 1, 1, 1] } } })).outputs[0];
const relu = (inp, name) => g.appendNode(new Node({ opType: 'Relu', name, inputs: [inp], outputs: [name + '.y'] })).outputs[0];
let h = relu(conv(x, 'conv1', 1, 16), 'relu1');
h = relu(conv(h, 'conv2', 16, 32), 'relu2');
h = g.appendNode(new Node({ opType: 'GlobalAveragePool', name: 'pool', inputs: [h], outputs: ['pool.y'] })).outputs[0];
h = g.appendNode(new Node({ opType: 'Flatten', name: 'flat', inputs: [h], outputs: ['flat.y'] })).outputs[0];
h = g.appendNode(new Node({ opType: 'Gemm', name: 'fc', inputs: [h, init('fc.w', [10, 32], 0.2), init('fc.b', [10], 0)], outputs: ['logits'], attributes: { transB: { type: 'int', value: 1 } } })).outputs[0];
h.type = { kind: 'tensor', dtype: 'float32', shape: ['batch', 10] };
g.outputs.push(h);
const model = new Model({ graph: g, opsetImports: { '': 17 } });
const steps = Number(process.env.STEPS);
const n = 32 * steps;
const xs = randn(n * 784, 1);
const ys = Int32Array.from({ length: n }, () => Math.floor(seed() * 10));
const data = { name: 'random', size: n, sampleShape: [1, 28, 28], numClasses: 10, labels: ys,
  async *batches(bs, o = {}) { for (let s = 0; s + bs <= Math.min(n, o.limit ?? n); s += bs) yield { x: xs.subarray(s * 784, (s + bs) * 784), dims: [bs, 1, 28, 28], y: ys.subarray(s, s + bs) }; } };
const [name, threads] = process.env.BACKEND.split(':');
const workers = Number(threads ?? 1);
const backend = await initBackend(name);
// Warm-up epoch (kernel set-up, JIT), then the measured epoch.
const warm = Math.min(n, 32 * Math.max(5, Math.floor(steps / 5)));
await finetune(model, { data, epochs: 1, limit: warm, batchSize: 32, lr: 0.01, momentum: 0.9, backend, workers });
const r = await finetune(model, { data, epochs: 1, batchSize: 32, lr: 0.01, momentum: 0.9, backend, workers });
console.log(JSON.stringify({ backend: r.backend, stepsPerSecond: r.epochs[0].stepsPerSecond }));
`;

const TORCH = String.raw`
import json, sys, time, torch
from torch import nn
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)
m = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
steps = int(sys.argv[1])
xs = torch.randn(steps, 32, 1, 28, 28)
ys = torch.randint(0, 10, (steps, 32))
def step(i):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(m(xs[i]), ys[i])
    loss.backward()
    opt.step()
    return loss.item()  # read the loss every step, as the tfjs runner does
for i in range(max(5, steps // 5)): step(i % steps)
# At least 2 s of steps: at several hundred steps/s, 150 steps are too short a window to time.
done = 0
t0 = time.perf_counter()
while done < steps or time.perf_counter() - t0 < 2.0:
    step(done % steps)
    done += 1
print(json.dumps({"backend": "pytorch", "stepsPerSecond": done / (time.perf_counter() - t0), "torch": torch.__version__}))
`;

function runChild(backend) {
  const cpuSteps = backend.startsWith('cpu') ? Math.max(5, Math.floor(steps / 15)) : steps;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    encoding: 'utf8',
    env: { ...process.env, BACKEND: backend, STEPS: String(cpuSteps), FT: join(root, 'packages/finetune/dist/index.js'), CORE: join(root, 'packages/core/dist/index.js'), TF_CPP_MIN_LOG_LEVEL: '3' },
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !line?.startsWith('{')) return { error: (r.stderr || r.stdout).split('\n').find((l) => /Error|error/.test(l)) ?? `exit ${r.status}` };
  return JSON.parse(line);
}

function runTorch(threads) {
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH, String(steps), String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').at(-1) };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

console.log(`finetune bench: conv16→conv32→avgpool→dense10, batch 32, 1×28×28, SGD momentum; ${steps} steps × ${rounds} rounds on ${machine()}`);
// PyTorch with 2 threads (the issue's setting) and with 1: on a shared machine
// its thread pool suffers from other load, so the baseline is the faster of the two.
const results = { pytorch2: [], pytorch1: [] };
for (const b of backends) results[b] = [];
const errors = {};
let torchVersion;
for (let round = 0; round < rounds; round++) {
  for (const threads of [2, 1]) {
    const t = runTorch(threads);
    if (t.error) errors[`pytorch${threads}`] = t.error;
    else {
      results[`pytorch${threads}`].push(t.stepsPerSecond);
      torchVersion = t.torch;
    }
  }
  for (const b of backends) {
    const r = runChild(b);
    if (r.error) errors[b] = r.error;
    else if (r.backend !== b.split(':')[0]) errors[b] = `ran on ${r.backend} instead`;
    else results[b].push(r.stepsPerSecond);
  }
}
const medians = Object.fromEntries(Object.entries(results).map(([k, xs]) => [k, xs.length ? median(xs) : undefined]));
const base = Math.max(medians.pytorch2 ?? 0, medians.pytorch1 ?? 0) || undefined;
const goal = { tensorflow: 3, wasm: 10, 'wasm:2': 10 };
console.log(`\n${'backend'.padEnd(26)}${'steps/s (median)'.padStart(18)}${'step time vs PyTorch'.padStart(24)}   goal`);
for (const [name, xs] of Object.entries(results)) {
  const label = name.startsWith('pytorch') ? `PyTorch ${torchVersion ?? ''} ${name.slice(7)} thr`.replace(/\s+/g, ' ') : name === 'tensorflow' ? 'tfjs-node (native)' : name.includes(':') ? `tfjs ${name.replace(':', ', workers ')}` : `tfjs ${name}`;
  if (!xs.length) {
    console.log(`${label.padEnd(26)}${'n/a'.padStart(18)}   ${errors[name] ?? ''}`);
    continue;
  }
  const m = medians[name];
  const ratio = base ? base / m : NaN;
  const g = goal[name];
  const verdict = g ? (ratio <= g ? `<= ${g}x met` : `<= ${g}x NOT met`) : '';
  console.log(`${label.padEnd(26)}${m.toFixed(1).padStart(18)}${`${ratio.toFixed(2)}x`.padStart(24)}   ${verdict}   [${xs.map((v) => v.toFixed(1)).join(', ')}]`);
}
console.log('\n(step time vs PyTorch = PyTorch steps/s, the faster thread setting, / this backend\'s steps/s; below 1 is faster than PyTorch)');
