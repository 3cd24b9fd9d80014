export { Hive, type HiveState } from './hive.js';
export { BeePool } from './bee-pool.js';
export { splitBudget, BEE_BASELINE_BYTES } from './budget.js';

export { HIVE_MAIN } from './entry.js';
export { InProcessHive } from './in-process-hive.js';
