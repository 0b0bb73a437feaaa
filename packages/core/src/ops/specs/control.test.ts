import { describe, expect, it } from 'vitest';
import { Graph } from '../../ir/graph.js';
import { Node } from '../../ir/node.js';
import { Value } from '../../ir/value.js';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

/** A branch graph computing op(outer) with no formal inputs. */
function branch(op: string, outer: Value, extra: (Value | null)[] = []): Graph {
  const g = new Graph(op);
  const n = g.appendNode(new Node({ opType: op, inputs: [outer, ...extra], outputs: [`${op}_out`] }));
  g.outputs.push(n.outputs[0]!);
  return g;
}

describe('If', () => {
  it('joins branch shapes when the condition is unknown', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 4]);
    const then = branch('Relu', x);
    const els = branch('Transpose', x);
    const y = k.one('If', [k.input('c', [], 'bool')], { then_branch: { type: 'graph', value: then }, else_branch: { type: 'graph', value: els } });
    inferShapes(k.model);
    expect(then.outputs[0]!.shape).toEqual(['N', 4]);
    expect(y.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [null, null] });
  });

  it('takes the known branch and folds through it', () => {
    const k = new Kit();
    const s = k.one('Shape', [k.input('x', ['N', 4])]);
    const cond = k.one('Equal', [k.ints([1], []), k.ints([1], [])]);
    const y = k.one('If', [cond], {
      then_branch: { type: 'graph', value: branch('Identity', s) },
      else_branch: { type: 'graph', value: branch('Neg', s) },
    });
    const res = inferShapes(k.model);
    expect(y.shape).toEqual([2]);
    expect(res.known.get(y)!.data).toEqual(['N', 4]);
  });
});

describe('Loop', () => {
  it('passes carried shapes through and stacks scan outputs', () => {
    const k = new Kit();
    const body = new Graph('body');
    const iter = body.addInput(new Value('i'));
    const condIn = body.addInput(new Value('cond_in'));
    const acc = body.addInput(new Value('acc'));
    const add = body.appendNode(new Node({ opType: 'Add', inputs: [acc, acc], outputs: ['acc_out'] }));
    const cond = body.appendNode(new Node({ opType: 'Identity', inputs: [condIn], outputs: ['cond_out'] }));
    const scan = body.appendNode(new Node({ opType: 'Unsqueeze', inputs: [iter, k.ints([0])], outputs: ['scan_out'] }));
    body.outputs.push(cond.outputs[0]!, add.outputs[0]!, scan.outputs[0]!);
    const [final, scanned] = k.node('Loop', [k.ints([5], []), null, k.input('a0', [3, 2])], { body: { type: 'graph', value: body } }, 2);
    inferShapes(k.model);
    expect(final!.shape).toEqual([3, 2]);
    expect(scanned!.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [5, 1] });
  });
});
