export { Queen, type QueenState, type LocalHiveHandle } from './queen.js';
export { tokenMatches } from './tokens.js';

export { QUEEN_MAIN } from './entry.js';
