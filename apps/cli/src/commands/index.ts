import { benchCommand } from './bench.js';
import { compareCommand } from './compare.js';
import { convert } from './convert.js';
import { evalCommand } from './eval.js';
import { inspect } from './inspect.js';
import { pluginsCommand } from './plugins.js';
import { prune } from './prune.js';
import { runCommand } from './run.js';
import type { Command } from './types.js';

export const commands: Command[] = [inspect, convert, prune, evalCommand, benchCommand, compareCommand, runCommand, pluginsCommand];
