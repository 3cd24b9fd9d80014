export type { TaskContext } from './js-task.js';

export { BEE_MAIN } from './entry.js';
