import type { RenderedPlan } from '@apiary/planner';
import { ApiaryError, INLINE_PARTIAL_BYTES, INLINE_PARTIAL_ROWS, type FrameSqlTaskSpec, type InlineRows, type TaskValue } from '@apiary/protocol';

/**
 * How group i's map step should hand back its partial, given how it travelled when the same plan
 * (same cells) last ran: known big, straight to its file (no inline attempt); known small, or a map
 * without GROUP BY (one row), read in one statement; unknown, through a temp table (one map run either way).
 */
export function inlineMaxFor(plan: RenderedPlan, known: readonly boolean[] | undefined, i: number): FrameSqlTaskSpec['inlineMax'] {
  const before = known?.[i];
  if (before === false) return undefined;
  const direct = before === true || (plan.kind === 'decomposed' && plan.mapKeys === 0);
  return { rows: INLINE_PARTIAL_ROWS, bytes: INLINE_PARTIAL_BYTES, ...(direct ? { direct } : {}) };
}

/** Per map output, whether it came back inline (a value with columns). */
export function cameInline(outputs: readonly TaskValue[]): boolean[] {
  return outputs.map((v) => v.kind === 'sql' && v.columns.length > 0);
}

/**
 * The map steps' outputs, sorted by how they travelled: a step that returned columns sent its
 * partial inline (rows of VARCHAR text, bee/src/map-partial.ts); one that returned none wrote its
 * file. Inline rows of every step go to the merge as one list (null when no step sent any).
 */
export function splitPartials(outputs: readonly TaskValue[], files: readonly string[]): { files: string[]; inline: InlineRows | null } {
  const onDisk: string[] = [];
  let inline: InlineRows | null = null;
  outputs.forEach((v, i) => {
    if (v.kind !== 'sql') throw new ApiaryError('INTERNAL', `a map step returned a ${v.kind} result`);
    if (v.columns.length === 0) {
      onDisk.push(files[i]!);
      return;
    }
    // Every map step ran the same SQL over cells of one schema: the same columns, or a bug.
    if (inline && JSON.stringify(inline.columns) !== JSON.stringify(v.columns)) {
      throw new ApiaryError('INTERNAL', `map steps returned different columns: ${JSON.stringify(inline.columns)} vs ${JSON.stringify(v.columns)}`);
    }
    const rows: (string | null)[][] = inline?.rows ?? [];
    inline ??= { columns: v.columns, rows };
    for (const r of v.rows) rows.push(v.columns.map((c) => (r[c.name] ?? null) as string | null));
  });
  return { files: onDisk, inline };
}
