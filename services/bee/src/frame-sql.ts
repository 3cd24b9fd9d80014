import { ApiaryError, type FrameSqlTaskSpec, type SqlResult } from '@apiary/protocol';
import { withInlinePartials, withoutTrailingSemicolon } from '@apiary/planner';
import { classifyDuckError } from './duck.js';
import { FrameDuck } from './frame-duck.js';
import { runMapStep } from './map-partial.js';
import { rowsOf } from './json-safe.js';
import { streamRowsTo } from './stream-rows.js';
import { copyExact } from './write-source.js';

export interface SandboxOptions {
  memoryLimitBytes: number;
  tempDir: string;
}

/** The bee's sealed frame database, opened at its first frame task and kept (see FrameDuck). */
let sealed: FrameDuck | null = null;

/**
 * Frame SQL runs in the bee's sealed database, which can read only the data root and its scratch
 * dir: a query naming /etc/passwd gets a permission error. It stays open between tasks (opening one
 * costs more than a short query); a task whose dirs differ, or that failed for another reason than
 * its SQL, gets a new one.
 */
export async function runFrameSql(spec: FrameSqlTaskSpec, o: SandboxOptions, signal: AbortSignal): Promise<SqlResult> {
  const want = { ...o, allowDirs: spec.allowDirs };
  if (sealed && sealed.key !== FrameDuck.keyOf(want)) closeFrameDuck();
  let db: FrameDuck;
  try {
    db = sealed ??= await FrameDuck.open(want);
  } catch (e) {
    throw classifyDuckError(e);
  }
  const onAbort = () => db.conn.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // A frame with no cells (an empty frame) gets a typed empty view from its columns. A merge's
    // partials with inline rows are a CTE of its one statement instead of a view.
    const views = spec.inline ? withoutNames(spec.views, spec.inline) : spec.views;
    await db.views(views, spec.columns);
    const sql = spec.inline ? withInlinePartials(spec.sql, spec.inline, spec.views) : spec.sql;
    if (spec.into && spec.inlineMax) return await runMapStep(db.conn, sql, spec.into, spec.inlineMax);
    if (spec.into) {
      await copyExact(db.conn, withoutTrailingSemicolon(sql), spec.into);
      return { kind: 'sql', columns: [], rows: [] };
    }
    if (spec.stream) return await streamRowsTo(db.conn, sql, spec.stream, signal);
    return { kind: 'sql', ...rowsOf(await db.conn.runAndReadAll(sql)) };
  } catch (e) {
    const err = e instanceof ApiaryError ? e : classifyDuckError(e);
    // Out of memory or interrupted mid-query: start the next task from a fresh database.
    if (err.code !== 'SQL_ERROR') closeFrameDuck();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function withoutNames<T>(views: Record<string, T>, names: Record<string, unknown>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, v] of Object.entries(views)) if (!(name in names)) out[name] = v;
  return out;
}

export function closeFrameDuck(): void {
  sealed?.close();
  sealed = null;
}
