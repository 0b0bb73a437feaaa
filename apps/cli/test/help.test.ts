// `shears --help` lists every command from a static table, so it imports no
// command module (some load onnxruntime-node or tfjs): the table must say
// what the commands themselves say.
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMAND_SUMMARIES, loadCommands } from '../src/commands/index.js';
import { shears } from './run-cli.js';

describe('shears --help', () => {
  it('lists each command with the summary the command itself declares', async () => {
    const commands = await loadCommands();
    expect(Object.keys(COMMAND_SUMMARIES)).toEqual(COMMAND_NAMES);
    for (const c of commands) expect(COMMAND_SUMMARIES[c.name], c.name).toBe(c.summary);
    const r = shears(['--help']);
    expect(r.status).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(`${c.name.padEnd(11)}  ${c.summary}`);
  });

  it('loads neither onnxruntime-node nor any plugin package', () => {
    // NODE_DEBUG=module lists every module Node loads.
    const r = shears(['--help'], { env: { ...process.env, NODE_DEBUG: 'module' } });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/onnxruntime-node|@shears\/(runtime|prune-|criteria|finetune|export-|sensitivity|report)/);
  });
});
