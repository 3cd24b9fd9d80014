import type { BeeStatus, ColonyView, HiveView, TaskView, TemperatureView } from '@apiary/protocol';
import { ago, bar, bytes, h } from './dom.js';

/** The last failed attempt each bee ran ("hive/bee" → what killed or failed it), from recent tasks. */
export type BeeFailures = Map<string, { code: string; message: string; at: number; task: string }>;

export function beeFailures(tasks: TaskView[]): BeeFailures {
  const out: BeeFailures = new Map();
  for (const t of tasks) {
    for (const a of t.attempts) {
      if (!a.error || a.bee < 0) continue;
      const key = `${a.hive}/${a.bee}`;
      const at = a.startedAt + a.durationMs;
      const prev = out.get(key);
      if (!prev || prev.at < at) out.set(key, { code: a.error.code, message: a.error.message, at, task: t.id });
    }
  }
  return out;
}

export function temperatureView(t: TemperatureView): HTMLElement {
  const input = (name: string, v: number) => h('div', { class: 'input' }, h('span', { class: 'k' }, name), bar(v, `${(v * 100).toFixed(0)}%`));
  return h(
    'div',
    { class: `temperature level-${t.level}` },
    h('div', { class: 'big' }, h('span', { id: 'temp-value' }, t.value.toFixed(2)), ' ', h('span', { class: 'badge' }, t.level)),
    bar(t.value, `temperature ${t.value.toFixed(2)}`),
    input('cpu', t.cpu),
    input('memory pressure', t.memoryPressure),
    input('queue pressure', t.queuePressure),
    t.regulation ? h('div', { class: 'regulation' }, t.regulation) : null,
  );
}

export function hivesTable(hives: HiveView[], now: number): HTMLElement {
  if (hives.length === 0) return h('p', { class: 'empty' }, 'no hive connected');
  const head = h('tr', {}, ...['hive', 'host', 'state', 'heartbeat', 'bees', 'cores', 'memory', 'queued', 'in flight', 'platform'].map((c) => h('th', {}, c)));
  const rows = hives.map((v) => {
    const age = now - v.lastHeartbeatAt;
    return h(
      'tr',
      { 'data-hive': v.id, class: `hive-${v.state}` },
      h('td', { class: 'name' }, v.resources.name, h('span', { class: 'dim' }, ` ${v.id}`)),
      h('td', {}, v.resources.host),
      h('td', {}, h('span', { class: `badge state-${v.state}` }, v.state)),
      h('td', { class: age > 10_000 ? 'stale heartbeat' : 'heartbeat' }, ago(v.lastHeartbeatAt, now)),
      h('td', {}, v.bees.length),
      h('td', {}, v.resources.cores),
      h('td', {}, bytes(v.resources.memoryBytes)),
      h('td', {}, v.queued),
      h('td', {}, v.inFlight),
      h('td', { class: 'dim' }, `${v.resources.platform}/${v.resources.arch} node ${v.resources.node}`),
    );
  });
  return h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows));
}

/** " (memory 2, timeout 1)": why the bee was replaced, from the hive's own count. */
function reasons(b: BeeStatus): string {
  const r = Object.entries(b.restartReasons ?? {}).filter(([, n]) => n > 0);
  return r.length === 0 ? '' : ` (${r.map(([k, n]) => `${k} ${n}`).join(', ')})`;
}

function beeCard(hive: HiveView, b: BeeStatus, failures: BeeFailures, now: number): HTMLElement {
  const f = failures.get(`${hive.id}/${b.id}`);
  return h(
    'div',
    { class: `bee state-${b.state}`, 'data-bee': `${hive.id}/${b.id}`, 'data-state': b.state, 'data-restarts': b.restarts },
    h(
      'div',
      { class: 'bee-head' },
      h('b', {}, `bee ${b.id}`),
      h('span', { class: 'badge' }, b.state),
      h('span', { class: 'dim' }, b.pid === null ? '' : `pid ${b.pid}`),
    ),
    h('div', { class: 'task' }, b.taskId ? h('code', { title: b.taskId }, b.taskId.slice(0, 8)) : h('span', { class: 'dim' }, 'no task')),
    // A reading that cannot be true is said so, never drawn as an empty bar.
    b.memoryError
      ? h('div', { class: 'rss error', title: b.memoryError.message }, `${b.memoryError.code} (budget ${bytes(b.budgetBytes)} not enforced)`)
      : bar(b.rssBytes / b.budgetBytes, `${bytes(b.rssBytes)} / ${bytes(b.budgetBytes)}`, 'rss'),
    h(
      'div',
      { class: 'stats' },
      h('span', {}, `cpu ${b.cpuPercent.toFixed(0)}%`),
      h('span', {}, `${b.tasksRun} run`),
      h(
        'span',
        { class: b.restarts > 0 ? 'restarts warn' : 'restarts', title: 'restarts by why the previous bee went' },
        `restarts ${b.restarts}${reasons(b)}`,
      ),
    ),
    f ? h('div', { class: 'last-failure', title: f.message }, `${f.code} ${ago(f.at, now)}`) : null,
  );
}

export function beeMap(c: ColonyView, failures: BeeFailures, now: number): HTMLElement {
  if (c.hives.length === 0) return h('p', { class: 'empty' }, 'no bees');
  return h(
    'div',
    {},
    ...c.hives.map((hv) =>
      h('div', { class: 'hive-bees' }, h('h3', {}, hv.resources.name), h('div', { class: 'bees' }, ...hv.bees.map((b) => beeCard(hv, b, failures, now)))),
    ),
  );
}
