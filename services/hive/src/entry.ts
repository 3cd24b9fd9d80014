import { fileURLToPath } from 'node:url';

/** Path of the hive entry script, for its parent to spawn. A module of its own so that importing it loads nothing else. */
export const HIVE_MAIN = fileURLToPath(new URL('./hive.bundle.mjs', import.meta.url));
