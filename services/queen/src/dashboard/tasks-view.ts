import type { FrameSummary, TaskView } from '@apiary/protocol';
import { ago, bytes, h, ms } from './dom.js';

const ACTIVE = new Set(['queued', 'running']);

function attemptsList(t: TaskView): HTMLElement {
  if (t.attempts.length === 0) return h('div', { class: 'dim' }, 'no attempt yet');
  return h(
    'ol',
    { class: 'attempts' },
    ...t.attempts.map((a) =>
      h(
        'li',
        { 'data-attempt': a.attempt },
        h('span', { class: 'where' }, `attempt ${a.attempt} on ${a.hive} bee ${a.bee < 0 ? '-' : a.bee}`),
        ' ',
        h('span', { class: 'dim' }, `${new Date(a.startedAt).toISOString().slice(11, 23)} for ${ms(a.durationMs)}`),
        ' ',
        a.error ? h('span', { class: 'error' }, h('b', {}, a.error.code), ': ', a.error.message) : h('span', { class: 'ok' }, 'ok'),
        a.output ? h('pre', { class: 'output' }, a.output) : null,
      ),
    ),
  );
}

/**
 * One row per task; its attempts (every attempt's diagnostics) in a details element below it. The
 * list routes leave out what attempts printed: `detail` is the task as GET /v1/tasks/:id answered
 * it (with output), once the row was opened.
 */
function taskRow(listed: TaskView, detail: TaskView | undefined, now: number, canCancel: boolean, open: boolean, onCancel: (id: string) => void): HTMLElement {
  const t = detail && detail.state === listed.state ? detail : listed;
  const cancel = canCancel && ACTIVE.has(t.state) ? h('button', { class: 'cancel', 'data-cancel': t.id }, 'cancel') : null;
  cancel?.addEventListener('click', () => onCancel(t.id));
  const took = t.finishedAt === null ? '' : ms(t.finishedAt - t.createdAt);
  const summary = h(
    'summary',
    {},
    h('code', {}, t.id.slice(0, 8)),
    h('span', { class: `badge state-${t.state}` }, t.state),
    h('span', {}, t.kind),
    h('span', { class: 'dim' }, ago(t.createdAt, now)),
    h('span', { class: 'dim' }, took),
    h('span', {}, `${t.attempts.length} attempt${t.attempts.length === 1 ? '' : 's'}`),
    t.error ? h('span', { class: 'error' }, t.error.code) : null,
    cancel,
  );
  return h(
    'details',
    { class: 'task', 'data-task': t.id, 'data-state': t.state, open },
    summary,
    h('div', { class: 'task-body' }, t.error ? h('div', { class: 'error' }, t.error.message) : null, attemptsList(t)),
  );
}

export interface TaskListOptions {
  canCancel: boolean;
  /** Show every row open (abandoned tasks: their diagnostics are the point). */
  openAll: boolean;
  /** Rows the operator opened (kept across redraws). */
  opened: Set<string>;
  details: Map<string, TaskView>;
  onOpen(id: string): void;
  onCancel(id: string): void;
}

export function taskList(tasks: TaskView[], now: number, o: TaskListOptions): HTMLElement {
  if (tasks.length === 0) return h('p', { class: 'empty' }, 'none');
  const { canCancel, openAll, opened, onCancel } = o;
  const list = h('div', { class: 'tasks' }, ...tasks.map((t) => taskRow(t, o.details.get(t.id), now, canCancel, openAll || opened.has(t.id), onCancel)));
  // Remember which rows the operator opened, across the next redraw.
  list.addEventListener(
    'toggle',
    (e) => {
      const el = e.target as HTMLDetailsElement;
      const id = el.dataset.task;
      if (!id) return;
      // A row drawn open fires 'toggle' too: fetch only what is not there yet (no redraw loop).
      if (el.open) {
        opened.add(id);
        if (!o.details.has(id)) o.onOpen(id);
      } else opened.delete(id);
    },
    true,
  );
  return list;
}

export function framesTable(frames: FrameSummary[]): HTMLElement {
  if (frames.length === 0) return h('p', { class: 'empty' }, 'no frames');
  const head = h('tr', {}, ...['frame', 'version', 'versions', 'rows', 'cells', 'bytes', 'updated'].map((c) => h('th', {}, c)));
  const rows = frames.map((f) =>
    h(
      'tr',
      { 'data-frame': f.name },
      h('td', { class: 'name' }, f.name),
      h('td', {}, f.version),
      h('td', {}, f.versions),
      h('td', {}, f.rows.toLocaleString('en')),
      h('td', {}, f.cells),
      h('td', {}, bytes(f.bytes)),
      h('td', { class: 'dim' }, ago(f.updatedAt)),
    ),
  );
  return h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows));
}
