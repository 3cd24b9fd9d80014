export { Queen, type QueenState } from './queen.js';
export { tokenMatches } from './tokens.js';

export { QUEEN_MAIN } from './entry.js';
