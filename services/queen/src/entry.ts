import { fileURLToPath } from 'node:url';

/** Path of the queen entry script, for its parent to spawn. A module of its own so that importing it loads nothing else. */
export const QUEEN_MAIN = fileURLToPath(new URL('./queen.bundle.mjs', import.meta.url));
