import type { Database } from 'better-sqlite3';
import type { NodeRecord } from '@apiary/protocol';

/** The cluster's hosts as `keeper cluster up` last saw them: SQLite for a daemon, memory otherwise. */
export interface NodeStore {
  upsert(n: NodeRecord): void;
  list(): NodeRecord[];
}

export class MemoryNodeStore implements NodeStore {
  readonly #nodes = new Map<string, NodeRecord>();
  upsert(n: NodeRecord): void {
    this.#nodes.set(n.name, n);
  }
  list(): NodeRecord[] {
    return [...this.#nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

interface Row {
  name: string;
  address: string;
  port: number;
  user: string;
  key_path: string;
  install_dir: string;
  labels: string;
  last_seen: number | null;
  last_error: string | null;
}

export class SqliteNodeStore implements NodeStore {
  readonly #upsert;
  readonly #list;

  constructor(db: Database) {
    // A failed `up` keeps the last time the node was seen: only a success moves last_seen.
    this.#upsert = db.prepare(`
      INSERT INTO nodes (name, address, port, user, key_path, install_dir, labels, last_seen, last_error)
      VALUES (@name, @address, @port, @user, @key_path, @install_dir, @labels, @last_seen, @last_error)
      ON CONFLICT (name) DO UPDATE SET address = excluded.address, port = excluded.port, user = excluded.user,
        key_path = excluded.key_path, install_dir = excluded.install_dir, labels = excluded.labels,
        last_seen = coalesce(excluded.last_seen, nodes.last_seen), last_error = excluded.last_error`);
    this.#list = db.prepare('SELECT * FROM nodes ORDER BY name');
  }

  upsert(n: NodeRecord): void {
    this.#upsert.run({
      name: n.name,
      address: n.address,
      port: n.port,
      user: n.user,
      key_path: n.keyPath,
      install_dir: n.installDir,
      labels: JSON.stringify(n.labels),
      last_seen: n.lastSeen,
      last_error: n.lastError,
    });
  }

  list(): NodeRecord[] {
    return (this.#list.all() as Row[]).map((r) => ({
      name: r.name,
      address: r.address,
      port: r.port,
      user: r.user,
      keyPath: r.key_path,
      installDir: r.install_dir,
      labels: JSON.parse(r.labels) as Record<string, string>,
      lastSeen: r.last_seen,
      lastError: r.last_error,
    }));
  }
}
