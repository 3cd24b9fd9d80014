export * from './temperature.js';
export * from './leafcutter.js';
export * from './abandonment.js';
