import { withOutputs, type Model, type NamedTensor } from '@shears/core';
import { Session, type RuntimeOptions } from './session.js';

// withOutputs lives in @shears/core; re-exported here for existing imports.
export { withOutputs };

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
