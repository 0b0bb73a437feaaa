import { describe, expect, it } from 'vitest';
import { deserializePlan, serializePlan, type PruningPlan } from './plan.js';

describe('plan serialization', () => {
  it('round-trips typed arrays through JSON', () => {
    const plan: PruningPlan = {
      version: 1,
      strategy: 's',
      actions: [
        { type: 'mask', tensor: 'w', prune: Uint32Array.of(1, 5, 4294967295) },
        { type: 'set-tensor', tensor: 'b', data: Float32Array.of(0.5, -1.25) },
        { type: 'remove-channels', group: 'g0', channels: [1, 3] },
      ],
      skipped: [{ target: 'fc', reason: 'last classifier' }],
    };
    const back = deserializePlan(serializePlan(plan));
    expect(back).toEqual(plan);
    expect((back.actions[0] as { prune: Uint32Array }).prune).toBeInstanceOf(Uint32Array);
  });

  it('refuses text that is not a plan', () => {
    expect(() => deserializePlan('{"actions": []}')).toThrow(/version 1/);
  });
});
