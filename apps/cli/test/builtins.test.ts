import { describe, expect, it } from 'vitest';
import { BUILTIN_INDEX, builtins, loadBuiltins } from '../src/builtins.js';

describe('built-in plugin map', () => {
  // (in this order: loading everything caches the full map)
  it('loads only the named plugins; the others stay listed placeholders', async () => {
    expect(() => builtins()).toThrow(/not loaded/);
    const map = await loadBuiltins(['unstructured', undefined, 'nonexistent']);
    expect(Object.keys(map)).toEqual(Object.keys(BUILTIN_INDEX));
    expect(map.unstructured!({ amount: 0.5 }).kind).toBe('strategy');
    expect(map.finetune!.kind).toBe('finetuner');
    expect(() => map.finetune!()).toThrow(/built-in plugin finetune was not loaded/);
  });

  it('the static index (what shears plugins lists) matches every factory', async () => {
    const map = await loadBuiltins();
    expect(Object.keys(map)).toEqual(Object.keys(BUILTIN_INDEX));
    for (const [name, f] of Object.entries(map)) {
      expect(typeof f, name).toBe('function');
      expect(f.kind, name).toBe(BUILTIN_INDEX[name]!.kind);
      expect(f.description, name).toBe(BUILTIN_INDEX[name]!.description);
    }
    expect(builtins()).toBe(map);
  });
});
