import { describe, expect, it } from 'vitest';
import { tinyModel } from '../testing/tiny-model.js';
import { modelFingerprint } from '../pipeline/fingerprint.js';
import { cloneModel } from './clone.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { Value } from './value.js';

describe('IR use-def links', () => {
  it('tracks producers and uses', () => {
    const m = tinyModel();
    const relu1 = m.graph.nodes.find((n) => n.name === 'relu1')!;
    const r1 = relu1.outputs[0]!;
    expect(r1.producer).toBe(relu1);
    expect(r1.uses().map((u) => u.node.name)).toEqual(['conv2']);
    expect(m.graph.initializers.get('conv1.weight')!.uses()[0]).toMatchObject({ index: 1 });
  });

  it('replaceAllUsesWith rewires consumers, then the node can go', () => {
    const m = tinyModel();
    const g = m.graph;
    const relu1 = g.nodes.find((n) => n.name === 'relu1')!;
    const c1 = relu1.inputs[0]!;
    relu1.outputs[0]!.replaceAllUsesWith(c1);
    expect(relu1.outputs[0]!.uses()).toHaveLength(0);
    g.removeNode(relu1);
    expect(g.nodes.map((n) => n.name)).not.toContain('relu1');
    expect(c1.uses().map((u) => u.node.name)).toEqual(['conv2']);
  });

  it('refuses to remove a node whose output is still used', () => {
    const m = tinyModel();
    const relu1 = m.graph.nodes.find((n) => n.name === 'relu1')!;
    expect(() => m.graph.removeNode(relu1)).toThrow(/used by conv2/);
  });

  it('inserts nodes and re-sorts topologically', () => {
    const m = tinyModel();
    const g = m.graph;
    const relu2 = g.nodes.find((n) => n.name === 'relu2')!;
    const id = new Node({ opType: 'Identity', name: 'id', inputs: [relu2.outputs[0]!], outputs: ['idout'] });
    g.appendNode(id); // out of order on purpose: consumer below comes before it
    const gap = g.nodes.find((n) => n.name === 'gap')!;
    gap.setInput(0, id.outputs[0]!);
    g.sortTopologically();
    const names = g.nodes.map((n) => n.name);
    expect(names.indexOf('id')).toBeLessThan(names.indexOf('gap'));
    expect(names.indexOf('relu2')).toBeLessThan(names.indexOf('id'));
  });

  it('detects cycles', () => {
    const g = new Graph();
    const a = new Node({ opType: 'Relu', name: 'a', outputs: ['a'] });
    const b = new Node({ opType: 'Relu', name: 'b', inputs: [a.outputs[0]!], outputs: ['b'] });
    a.setInput(0, b.outputs[0]!);
    g.appendNode(a);
    g.appendNode(b);
    expect(() => g.sortTopologically()).toThrow(/cycle/);
  });

  it('replaceInitializer keeps uses', () => {
    const m = tinyModel();
    const v = m.graph.replaceInitializer('fc.bias', Tensor.fromFloat32('x', [10], new Float32Array(10)));
    expect(v.uses()[0]!.node.name).toBe('fc');
    expect(m.graph.initializer('fc.bias')!.name).toBe('fc.bias');
  });

  it('clone is deep and independent', () => {
    const m = tinyModel();
    const c = cloneModel(m);
    expect(modelFingerprint(c)).toBe(modelFingerprint(m));
    c.graph.initializer('fc.bias')!.floats()[0] = 99;
    expect(m.graph.initializer('fc.bias')!.floats()[0]).not.toBe(99);
    expect(c.graph.nodes[0]!.inputs[0]).toBe(c.graph.inputs[0]);
    expect(c.graph.nodes[0]!.inputs[0]).not.toBe(m.graph.inputs[0]);
  });

  it('clone keeps outer-scope references of subgraphs', () => {
    const outer = new Graph('outer');
    const x = outer.addInput(new Value('x'));
    const cond = outer.addInput(new Value('cond'));
    const then = new Graph('then');
    const inner = then.appendNode(new Node({ opType: 'Relu', inputs: [x], outputs: ['t'] }));
    then.outputs.push(inner.outputs[0]!);
    const els = new Graph('else');
    const inner2 = els.appendNode(new Node({ opType: 'Neg', inputs: [x], outputs: ['e'] }));
    els.outputs.push(inner2.outputs[0]!);
    const iff = outer.appendNode(new Node({ opType: 'If', inputs: [cond], outputs: ['y'], attributes: { then_branch: { type: 'graph', value: then }, else_branch: { type: 'graph', value: els } } }));
    outer.outputs.push(iff.outputs[0]!);
    expect(x.uses().map((u) => u.node.opType).sort()).toEqual(['Neg', 'Relu']);
    const m = cloneModel(Object.assign(tinyModel(), { graph: outer }));
    const cIf = m.graph.nodes[0]!;
    const cThen = cIf.subgraphs()[0]!;
    expect(cThen.nodes[0]!.inputs[0]).toBe(m.graph.inputs[0]);
  });
});
