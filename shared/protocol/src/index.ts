export * from './errors.js';
export * from './wire-error.js';
export * from './task.js';
export * from './status.js';
export * from './hive-wire.js';
export * from './bee-wire.js';
export * from './http.js';
export * from './codec.js';
