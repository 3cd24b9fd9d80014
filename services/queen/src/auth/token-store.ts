import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Buffer } from '@apiary/runtime';
import type { Database } from 'better-sqlite3';
import { ApiaryError, type CreatedToken, type TokenInfo, type TokenScope } from '@apiary/protocol';
import type { Principal, TokenVerifier } from '../http/auth.js';

/** `apy_<12 hex id>_<43 base64url secret>`: the id finds the row, the whole string is hashed and compared. */
const FORMAT = /^apy_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most this often per token, so a busy client does not cost a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface TokenRow {
  id: string;
  name: string;
  scope: TokenScope;
  hash: Buffer;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** Where the rows live: the ledger's SQLite for a daemon, memory for an ephemeral queen. */
export interface TokenRows {
  insert(row: TokenRow): void;
  get(id: string): TokenRow | undefined;
  /** Not revoked, oldest first. */
  active(): TokenRow[];
  touch(id: string, at: number): void;
  /** False when there is no such token or it was already revoked. */
  revoke(id: string, at: number): boolean;
}

const sha256 = sha256Buffer;

const info = (r: TokenRow): TokenInfo => ({ id: r.id, name: r.name, scope: r.scope, createdAt: r.created_at, lastUsedAt: r.last_used_at });

/**
 * Scoped tokens: created (the secret is returned once), verified in constant time, listed, revoked.
 * verify() keeps the rows it read (by id, tokens only, never an unknown id), so a request with a
 * scoped token costs no SQLite read; every change goes through this store (one queen per
 * database), and revoke() drops its row from that cache, so a revoked token is refused at once.
 */
export class TokenStore implements TokenVerifier {
  readonly #known = new Map<string, TokenRow>();

  constructor(private readonly rows: TokenRows) {}

  static sqlite(db: Database): TokenStore {
    return new TokenStore(new SqliteTokenRows(db));
  }

  static memory(): TokenStore {
    return new TokenStore(new MemoryTokenRows());
  }

  create(scope: TokenScope, name?: string): CreatedToken {
    const id = randomBytes(6).toString('hex');
    const token = `apy_${id}_${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = { id, name: name ?? `${scope}-${id}`, scope, hash: sha256(token), created_at: Date.now(), last_used_at: null, revoked_at: null };
    this.rows.insert(row);
    return { ...info(row), token };
  }

  list(): TokenInfo[] {
    return this.rows.active().map(info);
  }

  revoke(id: string): TokenInfo {
    const row = this.rows.get(id);
    this.#known.delete(id);
    if (!row || row.revoked_at !== null || !this.rows.revoke(id, Date.now()))
      throw new ApiaryError('TOKEN_NOT_FOUND', `no token ${JSON.stringify(id)} (see keeper token list)`);
    return info(row);
  }

  verify(secret: string): Principal | null {
    const m = FORMAT.exec(secret);
    if (!m) return null;
    const row = this.#row(m[1]!);
    if (!row || !timingSafeEqual(sha256(secret), row.hash)) return null;
    if (row.revoked_at !== null) throw new ApiaryError('AUTH_FAILED', `token ${row.id} was revoked`);
    const now = Date.now();
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.rows.touch(row.id, now);
      row.last_used_at = now;
    }
    return { scope: row.scope, tokenId: row.id };
  }

  #row(id: string): TokenRow | undefined {
    const cached = this.#known.get(id);
    if (cached) return cached;
    const row = this.rows.get(id);
    if (row) this.#known.set(id, row);
    return row;
  }
}

class SqliteTokenRows implements TokenRows {
  readonly #insert;
  readonly #get;
  readonly #active;
  readonly #touch;
  readonly #revoke;

  constructor(db: Database) {
    this.#insert = db.prepare(
      'INSERT INTO api_tokens (id, name, scope, hash, created_at, last_used_at, revoked_at) VALUES (@id, @name, @scope, @hash, @created_at, @last_used_at, @revoked_at)',
    );
    this.#get = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
    this.#active = db.prepare('SELECT * FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at, id');
    this.#touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
    this.#revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  insert(row: TokenRow): void {
    this.#insert.run(row);
  }
  get(id: string): TokenRow | undefined {
    return this.#get.get(id) as TokenRow | undefined;
  }
  active(): TokenRow[] {
    return this.#active.all() as TokenRow[];
  }
  touch(id: string, at: number): void {
    this.#touch.run(at, id);
  }
  revoke(id: string, at: number): boolean {
    return this.#revoke.run(at, id).changes === 1;
  }
}

class MemoryTokenRows implements TokenRows {
  readonly #rows = new Map<string, TokenRow>();

  insert(row: TokenRow): void {
    this.#rows.set(row.id, { ...row });
  }
  get(id: string): TokenRow | undefined {
    const r = this.#rows.get(id);
    return r && { ...r };
  }
  active(): TokenRow[] {
    return [...this.#rows.values()].filter((r) => r.revoked_at === null).map((r) => ({ ...r }));
  }
  touch(id: string, at: number): void {
    const r = this.#rows.get(id);
    if (r) r.last_used_at = at;
  }
  revoke(id: string, at: number): boolean {
    const r = this.#rows.get(id);
    if (!r || r.revoked_at !== null) return false;
    r.revoked_at = at;
    return true;
  }
}
