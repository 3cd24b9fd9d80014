import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiaryError, type TaskValue } from '@apiary/protocol';
import type { TaskRecord } from './ledger.js';

/** Ids become file names: keep them to a safe alphabet (the scheduler uses UUIDs). */
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** The value columns as written: inline JSON or a file name, and its size for the cache. */
export interface ValueCols {
  json: string | null;
  file: string | null;
  bytes: number;
}

/**
 * Where a task's result is kept: inline in its row, or, when its JSON is larger than `inlineMax`
 * and there is a results directory, in `<dir>/<id>.json` (temp file, then rename).
 */
export class ResultSpill {
  constructor(
    readonly dir: string | null,
    readonly inlineMax: number,
  ) {}

  /** Throws unless the id can name a result file (checked before a task is recorded). */
  checkId(id: string): void {
    if (this.dir && !SAFE_ID.test(id)) throw new ApiaryError('INTERNAL', `task id ${JSON.stringify(id)} cannot name a result file`);
  }

  /** Serialize a value, sending a large one to its file. */
  write(r: TaskRecord): ValueCols {
    if (r.value === null) return { json: null, file: null, bytes: 0 };
    const json = JSON.stringify(r.value);
    // UTF-8 is at most 3 bytes per UTF-16 unit: skip measuring what is surely small.
    const big = json.length * 3 > this.inlineMax && Buffer.byteLength(json) > this.inlineMax;
    if (!big || !this.dir) return { json, file: null, bytes: json.length };
    this.checkId(r.id);
    const file = `${r.id}.json`;
    const path = join(this.dir, file);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, json);
    renameSync(tmp, path);
    return { json: null, file, bytes: json.length };
  }

  read(id: string, file: string): TaskValue {
    if (!this.dir) throw new ApiaryError('INTERNAL', `task ${id} has its result in a file but the ledger has no results directory`);
    try {
      return JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as TaskValue;
    } catch (e) {
      throw new ApiaryError('INTERNAL', `cannot read the result of task ${id}: ${(e as Error).message}`, { file }, { cause: e });
    }
  }
}
