import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CATALOG_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/frames/catalog.js');

/** Run a script in a fresh Node (its own module cache) against the built catalog; it prints JSON. */
function fresh(body: string): Record<string, unknown> {
  const script = `import { createRequire } from 'node:module';
import { FrameCatalog } from ${JSON.stringify(CATALOG_JS)};
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('better-sqlite3'));
${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
}

describe('an ephemeral (memory) frame catalog', () => {
  it('does not load SQLite until a frame is recorded, and answers as an empty catalog until then', () => {
    const r = fresh(`const c = FrameCatalog.memory();
const before = { names: c.names(), list: c.list(), paths: [...c.allCellPaths()], loaded: loaded() };
c.commit({ frame: 'f', mode: 'overwrite', writeId: 'w1', schema: [{ name: 'x', type: 'BIGINT' }], cells: [] });
console.log(JSON.stringify({ before, after: { names: c.names(), loaded: loaded() } }));
c.close();`);
    expect(r.before).toEqual({ names: [], list: [], paths: [], loaded: false });
    expect(r.after).toEqual({ names: ['f'], loaded: true });
  });
});
