export { BEE_ENV, type BeeEnv } from './env.js';
export type { TaskContext } from './js-task.js';

export { BEE_MAIN } from './entry.js';
