export * from './logger.js';
export * from './state-machine.js';
export * from './signals.js';
export * from './proc-table.js';
export * from './process-tree.js';
export * from './fifo.js';
export * from './stdio.js';
