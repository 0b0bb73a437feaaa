import { ShearsError, cloneModel, type Model, type NamedTensor } from '@shears/core';
import { Session, type RuntimeOptions } from './session.js';

/**
 * A copy of `model` (weights shared) whose graph outputs also expose the
 * named intermediate values, for calibration.
 */
export function withOutputs(model: Model, names: readonly string[]): Model {
  const copy = cloneModel(model, { shareWeights: true });
  const byName = copy.graph.valuesByName();
  for (const name of names) {
    const v = byName.get(name);
    if (!v) throw new ShearsError('E_GRAPH', `cannot capture ${name}: the graph has no value of that name`, { node: name });
    if (copy.graph.outputs.includes(v)) continue;
    // ONNX graph outputs need a type; an element type without a shape is enough.
    if (!v.type) v.type = { kind: 'tensor', dtype: v.dtype ?? 'float32' };
    copy.graph.outputs.push(v);
  }
  return copy;
}

/** Session that returns the named intermediate activations for each batch. */
export class Capture {
  readonly #session: Session;
  readonly names: readonly string[];

  private constructor(session: Session, names: readonly string[]) {
    this.#session = session;
    this.names = names;
  }

  static async create(model: Model, names: readonly string[], opts: RuntimeOptions = {}): Promise<Capture> {
    return new Capture(await Session.create(withOutputs(model, names), opts), names);
  }

  run(feeds: Record<string, NamedTensor>): Promise<Record<string, NamedTensor>> {
    return this.#session.run(feeds, [...this.names]);
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
