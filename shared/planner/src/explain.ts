// A human-readable account of a plan: cells kept and pruned, groups, and the SQL when rendered.
import type { CellGroup, FramePlan, Plan } from './types.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function frameLine(f: FramePlan): string {
  const kept = f.cells.length;
  const extra = f.keptForSchema ? ' (all pruned; one kept for the schema)' : '';
  return `frame ${f.frame}: ${f.cellsTotal} cells, ${f.pruned} pruned, ${kept} read (${formatBytes(f.bytes)})${extra}`;
}

function groupLine(g: CellGroup): string {
  return `  group ${g.index}: ${g.cells.length} cells, ${formatBytes(g.bytes)}: ${g.cells.map((c) => c.path).join(', ')}`;
}

const indent = (sql: string | undefined): string => `  ${sql ?? '(not rendered: see renderPlan)'}`;

export function explain(plan: Plan): string {
  if (plan.kind === 'whole') {
    return [
      `plan: whole (one bee runs the query) — ${plan.reason}`,
      ...(plan.frames.length ? plan.frames.map(frameLine) : ['no frames']),
      'SQL (each frame a view over its cells):',
      indent(plan.sql),
    ].join('\n');
  }
  return [
    `plan: decomposed over frame ${plan.frame.frame}`,
    frameLine(plan.frame),
    `groups: ${plan.groups.length}`,
    ...plan.groups.map(groupLine),
    `map SQL (per group, view ${plan.frame.frame} over the group's cells):`,
    indent(plan.mapSql),
    `merge SQL (over table ${plan.partialsTable}, the union of all map rows):`,
    indent(plan.mergeSql),
  ].join('\n');
}
