// Issue #2 goals on a resnet50-sized model (torchvision export, ~100 MB):
//  - `inspect` and `convert` within 1.5x of reading + writing the same bytes with fs alone;
//  - peak RSS at most 2.5x the file size.
// Measured both in-process (the library) and as whole processes (the CLI).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from '../tooling/fixtures/index.js';
import { fmt, machine, nodeJson, PEAK_RSS_JS, timeIt, timeProcess } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const model = process.env.SHEARS_BENCH_MODEL ?? fixture('resnet50');
if (!model) {
  console.log('io.bench: no resnet50 fixture (run `node scripts/fixtures.mjs`); skipped');
  process.exit(0);
}
// This tree's build (not whatever '@shears/onnx' resolves to), so a copy of the script in another worktree measures that tree.
const { readModelSync, writeModelSync } = await import(join(root, 'packages/onnx/dist/index.js'));
const { analyzeModel } = await import(join(root, 'packages/core/dist/index.js'));
const bin = join(root, 'apps/cli/dist/bin.js');
const size = statSync(model).size;
const dir = mkdtempSync(join(tmpdir(), 'shears-io-bench-'));
const out = join(dir, 'out.onnx');

function fsCopy() {
  const bytes = readFileSync(model);
  const fd = openSync(out, 'w');
  writeFileSync(fd, bytes);
  fsyncSync(fd);
  closeSync(fd);
}

console.log(`model ${model} (${(size / 1e6).toFixed(1)} MB) on ${machine()}`);
const base = await timeIt(fsCopy);
const inspectLib = await timeIt(() => analyzeModel(readModelSync(model)));
const convertLib = await timeIt(() => writeModelSync(readModelSync(model), out));
console.log('\nin-process (median of 5)');
console.log(`  fs read + write (fsync)     ${fmt(base)}`);
console.log(`  inspect (read + analyze)    ${fmt(inspectLib)}   ${(inspectLib / base).toFixed(2)}x fs`);
console.log(`  convert (read + write)      ${fmt(convertLib)}   ${(convertLib / base).toFixed(2)}x fs`);

const fsScript = `const fs=require('node:fs');const b=fs.readFileSync(${JSON.stringify(model)});const fd=fs.openSync(${JSON.stringify(out)},'w');fs.writeFileSync(fd,b);fs.fsyncSync(fd);fs.closeSync(fd);`;
const baseP = timeProcess(process.execPath, ['-e', fsScript]);
const inspectP = timeProcess(process.execPath, [bin, 'inspect', model, '--json']);
const convertP = timeProcess(process.execPath, [bin, 'convert', model, '-o', out]);
console.log('\nwhole processes (median of 5)');
console.log(`  node fs read + write        ${fmt(baseP)}`);
console.log(`  shears inspect --json       ${fmt(inspectP)}   ${(inspectP / baseP).toFixed(2)}x fs`);
console.log(`  shears convert              ${fmt(convertP)}   ${(convertP / baseP).toFixed(2)}x fs`);

const rss = (args) =>
  nodeJson(`import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);
const { main } = await import(${JSON.stringify(join(root, 'apps/cli/dist/index.js'))});
const sink = { write() { return true; } };
const code = await main(${JSON.stringify(args)}, { stdout: sink, stderr: process.stderr });
process.stdout.write(JSON.stringify({ code, peak: ${PEAK_RSS_JS} }));`);
const rssBase = nodeJson(`import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${fsScript.replace("const fs=require('node:fs');", "const fs = require('node:fs');")} process.stdout.write(JSON.stringify({ peak: ${PEAK_RSS_JS} }));`);
const ri = rss(['inspect', model, '--json']);
const rc = rss(['convert', model, '-o', out]);
console.log('\npeak RSS (fresh process)');
console.log(`  node fs read + write        ${(rssBase.peak / 1e6).toFixed(0)} MB   ${(rssBase.peak / size).toFixed(2)}x file`);
console.log(`  shears inspect              ${(ri.peak / 1e6).toFixed(0)} MB   ${(ri.peak / size).toFixed(2)}x file (goal <= 2.5x)`);
console.log(`  shears convert              ${(rc.peak / 1e6).toFixed(0)} MB   ${(rc.peak / size).toFixed(2)}x file (goal <= 2.5x)`);
rmSync(dir, { recursive: true, force: true });
