export * from './units.js';
export * from './paths.js';
export * from './hive-config.js';
export * from './queen-config.js';
export * from './secrets.js';
export * from './daemon-state.js';
export * from './liveness.js';
export * from './cluster.js';
