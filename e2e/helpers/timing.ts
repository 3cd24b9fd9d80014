import { resolveHiveConfig, resolveQueenConfig } from '@apiary/config';
import { ORPHAN_POLL_MS } from '../../services/bee/src/watchdog.js';
import { ABORT_GRACE_MS } from '../../services/hive/src/abort-grace.js';
import { lossCheckEveryMs } from '../../services/queen/src/hives/hive-registry.js';

/*
 * The numbers timing contracts are built from, read from the code that owns them (not copied), so
 * a changed default changes the contract with it. Tests add LOAD_MARGIN_MS on top of them.
 */

const TOKEN = 'x'.repeat(32);

/** The queen's defaults: hive timeout, the heartbeat period it hands hives in `welcome`, grace. */
export const QUEEN_DEFAULTS = resolveQueenConfig({ clientToken: TOKEN, joinToken: TOKEN, ephemeral: true, home: '/nonexistent' });

/** The hive's defaults: task timeout, memory poll, grace. */
export const HIVE_DEFAULTS = resolveHiveConfig({
  queenUrl: 'ws://127.0.0.1:1/v1/hive',
  joinToken: TOKEN,
  bees: 1,
  memoryPerBee: '256MiB',
  cacheDir: '/nonexistent',
});

/** A hive silent for hiveTimeoutMs is declared lost at the next check, at most this much later. */
export const HIVE_LOSS_CHECK_MS = lossCheckEveryMs(QUEEN_DEFAULTS.hiveTimeoutMs);

/** A bee whose hive died polls for it this often (its IPC 'disconnect' handler is usually faster). */
export const BEE_ORPHAN_POLL_MS = ORPHAN_POLL_MS;

/** A JS task's ctx.signal fires on cancel/timeout; one that does not settle is killed this much later. */
export const TASK_ABORT_GRACE_MS = ABORT_GRACE_MS;

/**
 * What a loaded machine adds to any "at once" step: a few process exits, a WebSocket close seen,
 * an HTTP poll. Measured unloaded at 50-300 ms; 2 cores with one kept busy by CI and other test
 * files running beside us stretch that several-fold, so 2 s.
 */
export const LOAD_MARGIN_MS = 2000;
