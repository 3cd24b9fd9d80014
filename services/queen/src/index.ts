export { Queen, type QueenState } from './queen.js';
export { newToken, tokenMatches } from './tokens.js';

export { QUEEN_MAIN } from './entry.js';
