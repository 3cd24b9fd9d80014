import { fileURLToPath } from 'node:url';

/** Path of the bee entry script, for its parent to spawn. A module of its own so that importing it loads nothing else. */
export const BEE_MAIN = fileURLToPath(new URL('./bee.bundle.mjs', import.meta.url));
