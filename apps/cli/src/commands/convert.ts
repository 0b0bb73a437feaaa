import { statSync } from 'node:fs';
import { ShearsError } from '@shears/core';
import { readModel, writeModel } from '@shears/onnx';
import { needOne, parse } from '../args.js';
import { bytes } from '../format.js';
import { out, printJson, type CliIO } from '../io.js';
import type { Command } from './types.js';

export const convert: Command = {
  name: 'convert',
  summary: 'Read and re-write an ONNX model losslessly (round trip through the Shears IR)',
  usage: 'shears convert <in.onnx> -o <out.onnx> [--external-data]',
  help: [
    ['-o, --output <file>', 'where to write (never the input; written atomically)'],
    ['--external-data', 'store tensors in <out>.data beside the model (needed over 2 GB)'],
  ],
  examples: ['shears convert model.onnx -o copy.onnx', 'shears convert big.onnx -o big2.onnx --external-data'],
  options: { output: { type: 'string', short: 'o' }, 'external-data': { type: 'boolean' } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('convert', argv, this.options);
    const file = needOne('convert', positionals, 'model file');
    const output = values.output as string | undefined;
    if (!output) throw new ShearsError('E_OPTION', 'convert: option -o/--output is required', { option: 'output' });
    const t0 = performance.now();
    const model = await readModel(file);
    const ext = values['external-data'] ? { location: `${output.split('/').pop()}.data`, sizeThreshold: 1024 } : undefined;
    await writeModel(model, output, { externalData: ext });
    const result = { input: file, output, bytes: statSync(output).size, seconds: (performance.now() - t0) / 1000 };
    if (io.json) return printJson(io, result);
    out(io, `wrote ${output} (${bytes(result.bytes)}) in ${result.seconds.toFixed(2)}s`);
  },
};
