import { fileURLToPath } from 'node:url';
import { loadCachedBundle } from './code-cache.js';
import { startEarlyBee } from './early-start.js';
import { handOver } from './handover.js';
import { traceStart } from './start-trace.js';

/*
 * The keeper's first stage: small, so a one-shot run's first bee is forked as early as can be. The
 * rest (main.ts) is then run from keeper-main.cjs through V8's code cache (code-cache.ts): compiled
 * code from an earlier run instead of parsing and compiling ~2 MB again. The ESM build of main.ts is
 * the fallback if that bundle cannot be loaded.
 */

const argv = process.argv.slice(2);
// A one-shot run's first bee, before anything else loads: it starts while the keeper does.
const oneShot = startEarlyBee(argv);
handOver();

type RunKeeper = (argv: string[]) => void;
let runKeeper: RunKeeper;
try {
  const b = loadCachedBundle(fileURLToPath(new URL('./keeper-main.cjs', import.meta.url)));
  runKeeper = b.exports.runKeeper as RunKeeper;
  // A one-shot run on a colony of its own (an early bee was forked) is where start-up counts, and
  // compiles the most (queen, hive, client); a run against another queen or `--help` a third of it.
  if (oneShot) b.saveAtExit();
  traceStart(`keeper-main.cjs loaded (code cache ${b.cache})`);
} catch (e) {
  traceStart(`keeper-main.cjs not loaded (${(e as Error).message}): the ESM build instead`);
  runKeeper = (await import('./main.js')).runKeeper;
}
runKeeper(argv);
