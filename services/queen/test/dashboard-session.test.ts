import { describe, expect, it } from 'vitest';
import { ApiaryError } from '@apiary/protocol';
import { CODE_TTL_MS, DashboardSessions, SESSION_TTL_MS } from '../src/http/session.js';

/** The session store with a clock the test moves (the e2e test covers the same store over HTTP in Chromium). */
function store() {
  let now = 1_000_000;
  const s = new DashboardSessions(() => now);
  return { s, tick: (ms: number) => (now += ms) };
}

const admin = { scope: 'admin' as const, tokenId: 'client' };

function refused(f: () => unknown, code: string, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiaryError);
    expect((e as ApiaryError).code).toBe(code);
    expect((e as ApiaryError).message).toMatch(message);
    return;
  }
  throw new Error('expected a refusal');
}

describe('dashboard one-time codes and sessions', () => {
  it('a code is exchanged once; the second use is refused like an unknown code', () => {
    const { s } = store();
    const { code } = s.mintCode(admin);
    const { id, grant } = s.exchange(code);
    expect(grant.minted).toBe('admin');
    expect(s.session(id)).not.toBeNull();
    refused(() => s.exchange(code), 'AUTH_FAILED', /unknown, used or expired/);
    refused(() => s.exchange('made-up'), 'AUTH_FAILED', /unknown, used or expired/);
  });

  it('a code dies at CODE_TTL_MS, a session at SESSION_TTL_MS', () => {
    const { s, tick } = store();
    const late = s.mintCode(admin).code;
    const fresh = s.mintCode(admin).code;
    tick(CODE_TTL_MS - 1);
    const { id } = s.exchange(fresh);
    tick(1);
    refused(() => s.exchange(late), 'AUTH_FAILED', /expired/);
    tick(SESSION_TTL_MS - CODE_TTL_MS - 1);
    expect(s.session(id)).not.toBeNull();
    tick(CODE_TTL_MS + 1);
    expect(s.session(id)).toBeNull();
  });

  it('the join token and sessions themselves cannot mint codes; ended sessions are gone', () => {
    const { s } = store();
    refused(() => s.mintCode({ scope: 'hive', tokenId: 'join' }), 'AUTH_FAILED', /only for hives/);
    refused(() => s.mintCode({ scope: 'read', tokenId: 'session:client' }), 'FORBIDDEN', /cannot mint/);
    const { id } = s.exchange(s.mintCode({ scope: 'read', tokenId: 'tok1' }).code);
    expect(s.session(id)?.minted).toBe('read');
    s.end(id);
    expect(s.session(id)).toBeNull();
  });

  it('revoking a token ends the codes and sessions it minted, and only those', () => {
    const { s } = store();
    const reader = { scope: 'read' as const, tokenId: 'tok1' };
    const { id } = s.exchange(s.mintCode(reader).code);
    const { code: pending } = s.mintCode(reader);
    const { id: other } = s.exchange(s.mintCode(admin).code);
    expect(s.endFor('tok1')).toBe(2);
    expect(s.session(id)).toBeNull();
    refused(() => s.exchange(pending), 'AUTH_FAILED', /unknown, used or expired/);
    expect(s.session(other)).not.toBeNull();
  });

  it('live codes are bounded: minting in a loop drops the oldest, memory stays flat', () => {
    const { s } = store();
    const first = s.mintCode(admin).code;
    for (let i = 0; i < 1000; i++) s.mintCode(admin);
    refused(() => s.exchange(first), 'AUTH_FAILED', /unknown/);
  });
});
