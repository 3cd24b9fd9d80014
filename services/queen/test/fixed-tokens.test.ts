import { describe, expect, it } from 'vitest';
import { FixedTokens, tokenMatches } from '../src/tokens.js';

describe('FixedTokens (the client and join tokens, hashed once)', () => {
  const client = 'c'.repeat(43);
  const join = 'j'.repeat(43);
  const fixed = new FixedTokens([
    [client, 'client'],
    [join, 'join'],
  ]);

  // Same answers as comparing with tokenMatches one secret at a time, for matches and near misses.
  it('matches exactly the secrets it was given, as tokenMatches does', () => {
    expect(fixed.match(client)).toBe('client');
    expect(fixed.match(join)).toBe('join');
    for (const v of ['', client.slice(1), `${client}c`, client.toUpperCase(), `${join} `, 'x']) {
      expect(fixed.match(v), v).toBeUndefined();
      expect(tokenMatches(v, client) || tokenMatches(v, join), v).toBe(false);
    }
  });

  it('two names for one secret: the first wins (the client token, when a join token equals it)', () => {
    const same = new FixedTokens([
      [client, 'client'],
      [client, 'join'],
    ]);
    expect(same.match(client)).toBe('client');
  });
});
