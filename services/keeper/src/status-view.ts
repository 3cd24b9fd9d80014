import { formatBytes } from '@apiary/config';
import type { BeeStatus, ColonyView, TaskView } from '@apiary/protocol';

/** Rows → aligned columns, no borders: the `ray status` / `kubectl get` look. */
export function columns(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function bar(used: number, total: number, width = 16): string {
  const filled = total > 0 ? Math.min(width, Math.round((used / total) * width)) : 0;
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function ago(ms: number): string {
  if (ms < 1000) return `${ms}ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s ago`;
  return `${Math.round(ms / 60_000)}m ago`;
}

function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

function beeRow(hive: string, b: BeeStatus): string[] {
  return [
    hive,
    String(b.id),
    b.state,
    b.taskId ? b.taskId.slice(0, 8) : '-',
    String(b.tasksRun),
    String(b.restarts),
    // A reading that cannot be true is said so, never drawn as an empty bar.
    b.memoryError
      ? `${b.memoryError.code} (budget ${formatBytes(b.budgetBytes)} not enforced)`
      : `${bar(b.rssBytes, b.budgetBytes)} ${formatBytes(b.rssBytes)} / ${formatBytes(b.budgetBytes)}`,
  ];
}

/** The whole colony at a glance: queen, temperature, hives, bees. */
export function renderColony(c: ColonyView, now = Date.now()): string {
  const t = c.temperature;
  const head = [
    `queen pid ${c.queen.pid} (${c.queen.ephemeral ? 'ephemeral' : 'daemon'}, ${c.queen.state}), up ${uptime(now - c.queen.startedAt)}`,
    t
      ? `temperature ${t.value.toFixed(2)} ${t.level} (cpu ${t.cpu.toFixed(2)}, memory ${t.memoryPressure.toFixed(2)}, queue ${t.queuePressure.toFixed(2)})${t.regulation ? ` · ${t.regulation}` : ''}`
      : '',
    `tasks: ${c.queued} queued, ${c.running} running`,
  ].filter(Boolean);
  const hives = columns(
    ['HIVE', 'HOST', 'STATE', 'ARCH', 'CORES', 'MEMORY', 'BEES', 'QUEUED', 'HEARTBEAT'],
    c.hives.map((h) => [
      h.id,
      h.resources.host,
      h.state,
      h.resources.arch,
      String(h.resources.cores),
      formatBytes(h.resources.memoryBytes),
      String(h.bees.length),
      String(h.queued),
      ago(Math.max(0, now - h.lastHeartbeatAt)),
    ]),
  );
  const bees = columns(
    ['HIVE', 'BEE', 'STATE', 'TASK', 'DONE', 'RESTARTS', 'MEMORY (RSS / BUDGET)'],
    c.hives.flatMap((h) => h.bees.map((b) => beeRow(h.id, b))),
  );
  return `${head.join('\n')}\n\n${c.hives.length > 0 ? hives : 'no hives connected'}\n\n${c.hives.length > 0 ? bees : ''}\n`;
}

/** Tasks with every attempt's diagnostics (for `keeper tasks --abandoned`). */
export function renderTasks(ts: TaskView[]): string {
  if (ts.length === 0) return 'no tasks\n';
  const out: string[] = [];
  for (const t of ts) {
    out.push(`${t.id}  ${t.kind}  ${t.state}${t.error ? `  ${t.error.code}: ${t.error.message}` : ''}`);
    for (const a of t.attempts) {
      const when = new Date(a.startedAt).toISOString();
      out.push(
        `  attempt ${a.attempt}: hive ${a.hive} bee ${a.bee}  started ${when}  ${a.durationMs} ms  ${a.error ? `${a.error.code}: ${a.error.message}` : 'ok'}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
