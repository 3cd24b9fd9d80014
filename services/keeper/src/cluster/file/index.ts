/** The cluster file: its resolved shape, the parser, and the schema's rules for addresses and remote paths. */
export * from './types.js';
export { loadClusterFile, parseCluster, resolveLocalPath } from './parse.js';
export { isSafeAddress, isSafeRemotePath } from './schema.js';
