import { describe, expect, it } from 'vitest';
import { BUILTIN_ALIASES, BUILTIN_INDEX, builtins, isAlias, loadBuiltins } from '../src/builtins.js';

describe('built-in plugin map', () => {
  // (in this order: loading everything caches the full map)
  it('loads only the named plugins; the others stay listed placeholders', async () => {
    expect(() => builtins()).toThrow(/not loaded/);
    const map = await loadBuiltins(['unstructured', undefined, 'nonexistent']);
    expect(Object.keys(map)).toEqual([...Object.keys(BUILTIN_INDEX), ...Object.keys(BUILTIN_ALIASES)]);
    expect(map.unstructured!({ amount: 0.5 }).kind).toBe('strategy');
    expect(map.finetune!.kind).toBe('finetuner');
    expect(() => map.finetune!()).toThrow(/built-in plugin finetune was not loaded/);
  });

  it('an old name (export-tflite) builds the new plugin and warns once, in one line, each time it is named', async () => {
    const warnings: string[] = [];
    const map = await loadBuiltins(['export-tflite', 'export-tflite'], { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(["'export-tflite' is a deprecated name of the built-in plugin 'tflite-export'; use 'tflite-export' (built-ins are named <format>-<verb>)"]);
    const p = map['export-tflite']!({ out: 'm.tflite' });
    expect(p.name).toBe('tflite-export');
    expect(map['tflite-export']!({ out: 'm.tflite' }).name).toBe('tflite-export');
    await loadBuiltins(['tflite-export'], { warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it('built-ins are named <format>-<verb> for importers and writers/exporters of a format', () => {
    const formatNamed = Object.entries(BUILTIN_INDEX).filter(([, e]) => e.kind === 'importer' || (e.kind === 'exporter' && e.from !== 'htmlReport'));
    for (const [name] of formatNamed) expect(name, name).toMatch(/^(onnx|tensorrt|tflite)(-sparse)?-(import|write|export)$/);
  });

  it('the static index (what shears plugins lists) matches every factory', async () => {
    const map = await loadBuiltins();
    expect(Object.keys(map)).toEqual([...Object.keys(BUILTIN_INDEX), ...Object.keys(BUILTIN_ALIASES)]);
    for (const [name, f] of Object.entries(map)) {
      expect(typeof f, name).toBe('function');
      if (isAlias(f)) {
        // An old name lists as a deprecated alias of its new one, of the same kind.
        expect(f.aliasOf, name).toBe(BUILTIN_ALIASES[name]);
        expect(f.kind, name).toBe(BUILTIN_INDEX[f.aliasOf]!.kind);
        expect(f.description, name).toBe(`deprecated alias of ${f.aliasOf}`);
        continue;
      }
      expect(f.kind, name).toBe(BUILTIN_INDEX[name]!.kind);
      expect(f.description, name).toBe(BUILTIN_INDEX[name]!.description);
      // The index name is the plugin's own name.
      expect(f.pluginName, name).toBe(name);
    }
    expect(builtins()).toBe(map);
  });
});
