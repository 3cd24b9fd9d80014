import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDEMPOTENCY_RETENTION_MS } from '@apiary/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStore } from '../src/auth/token-store.js';
import { Idempotency } from '../src/tasks/idempotency.js';
import { MemoryLedger, type TaskRecord } from '../src/tasks/ledger.js';
import { SqliteLedger } from '../src/tasks/sqlite-ledger.js';
import { openQueenDb } from '../src/db/queen-db.js';
import type Database from 'better-sqlite3';

/** The secret part of `apy_<id>_<secret>`; base64url may itself contain '_', so not split('_')[2]. */
const secretOf = (token: string): string => token.slice(token.indexOf('_', 4) + 1);

/** The token store and the idempotency keys on a real SQLite file (the daemon's), and in memory (ephemeral queens). */
let dir: string;
let db: Database.Database;
let ledger: SqliteLedger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'apiary-tokens-'));
  db = openQueenDb(join(dir, 'queen.db'));
  ledger = new SqliteLedger({ db });
});
afterEach(() => {
  ledger.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  expect(existsSync(dir)).toBe(false);
});

describe.each([
  ['sqlite', () => TokenStore.sqlite(db)],
  ['memory', () => TokenStore.memory()],
])('TokenStore (%s)', (_kind, make) => {
  it('verifies its own tokens only: another secret for a known id, a malformed value and the id alone are not tokens', () => {
    const store = make();
    const t = store.create('submit', 'ci');
    expect(store.verify(t.token)).toEqual({ scope: 'submit', tokenId: t.id });
    const [, id] = t.token.split('_');
    const forged = `apy_${id}_${'A'.repeat(43)}`;
    for (const v of [forged, t.token.slice(0, -1), `${t.token}x`, id!, '', 'apy__']) expect(store.verify(v), v).toBeNull();
  });

  it('a revoked token is refused with AUTH_FAILED at once, leaves the list, and cannot be revoked twice', () => {
    const store = make();
    const keep = store.create('read');
    const gone = store.create('admin', 'old');
    // Two tokens made in the same millisecond list in id order (random ids): compare as sets.
    expect(
      store
        .list()
        .map((t) => t.id)
        .sort(),
    ).toEqual([keep.id, gone.id].sort());
    // Used before it is revoked: verify keeps the row it read, and revoke must take it back at once.
    expect(store.verify(gone.token)).toEqual({ scope: 'admin', tokenId: gone.id });
    store.revoke(gone.id);
    expect(() => store.verify(gone.token)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED', message: `token ${gone.id} was revoked` }));
    expect(store.list().map((t) => t.id)).toEqual([keep.id]);
    expect(() => store.revoke(gone.id)).toThrow(expect.objectContaining({ code: 'TOKEN_NOT_FOUND' }));
    expect(() => store.revoke('nope')).toThrow(expect.objectContaining({ code: 'TOKEN_NOT_FOUND' }));
    expect(store.verify(keep.token)?.scope).toBe('read');
  });

  it('lists no secret, and records when a token was last used', () => {
    const store = make();
    const t = store.create('read', 'dash');
    expect(store.list()[0]).toEqual({ id: t.id, name: 'dash', scope: 'read', createdAt: t.createdAt, lastUsedAt: null });
    store.verify(t.token);
    expect(store.list()[0]!.lastUsedAt).toBeGreaterThanOrEqual(t.createdAt);
    expect(JSON.stringify(store.list())).not.toContain(secretOf(t.token));
  });
});

it('tokens survive a reopen of the database; only their sha256 is stored', () => {
  const t = TokenStore.sqlite(db).create('admin');
  const row = db.prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
  expect(JSON.stringify(row)).not.toContain(secretOf(t.token));
  ledger.close();
  db.close();
  db = openQueenDb(join(dir, 'queen.db'));
  ledger = new SqliteLedger({ db });
  expect(TokenStore.sqlite(db).verify(t.token)).toEqual({ scope: 'admin', tokenId: t.id });
});

const rec = (id: string): TaskRecord => ({
  id,
  spec: { kind: 'sql', sql: 'SELECT 1' },
  limits: {},
  state: 'queued',
  createdAt: Date.now(),
  finishedAt: null,
  maxAttempts: 1,
  attempts: [],
  value: null,
  error: null,
});

describe('Idempotency', () => {
  it('a failed creation records no key; a key is per token and per request; creations without a key pass through', () => {
    const idem = Idempotency.sqlite(db);
    idem.attach(ledger);
    ledger.create(rec('t-1'));
    // A taken id fails the whole creation: the key must not be left pointing at nothing.
    expect(() => idem.submit('tok', 'k', 'h', () => ledger.createMany([rec('t-2'), rec('t-1')]))).toThrow();
    expect(idem.replay('tok', 'k', 'h')).toBeUndefined();
    idem.submit('tok', 'k', 'h', () => ledger.createMany([rec('t-3')]));
    expect(idem.replay('tok', 'k', 'h')).toEqual(['t-3']);
    expect(idem.replay('other-token', 'k', 'h')).toBeUndefined();
    expect(() => idem.replay('tok', 'k', 'another body')).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' }));
    // Creations without a key pass through untouched.
    ledger.create(rec('t-4'));
    expect(db.prepare('SELECT count(*) AS n FROM idempotency_keys').get()).toEqual({ n: 1 });
  });

  it('a key older than the retention window is forgotten, and pruned at the next keyed submission', () => {
    const idem = Idempotency.sqlite(db);
    idem.attach(ledger);
    const old = Date.now() - IDEMPOTENCY_RETENTION_MS - 1;
    db.prepare('INSERT INTO idempotency_keys (token_id, key, request_hash, task_ids, created_at) VALUES (?, ?, ?, ?, ?)').run(
      'tok',
      'stale',
      'h',
      '["t-old"]',
      old,
    );
    expect(idem.replay('tok', 'stale', 'h')).toBeUndefined();
    idem.submit('tok', 'fresh', 'h', () => ledger.createMany([rec('t-new')]));
    const keys = db.prepare('SELECT key FROM idempotency_keys').all();
    expect(keys).toEqual([{ key: 'fresh' }]);
  });

  it('in memory (an ephemeral queen) it keeps the same rules', () => {
    const mem = new MemoryLedger();
    const idem = Idempotency.memory();
    idem.attach(mem);
    idem.submit('tok', 'k', 'h', () => mem.createMany([rec('m-1'), rec('m-2')]));
    expect(idem.replay('tok', 'k', 'h')).toEqual(['m-1', 'm-2']);
    expect(() => idem.replay('tok', 'k', 'x')).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' }));
  });
});
