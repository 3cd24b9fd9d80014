import type { ColonyHistoryView, ColonyView, DashboardSessionView, FrameSummary, TaskEvent, TaskView } from '@apiary/protocol';
import { chart } from './charts.js';
import { beeFailures, beeMap, hivesTable, temperatureView } from './colony-view.js';
import { fill, h } from './dom.js';
import { COLONY_EVERY_MS, EVENT_DEBOUNCE_MS, SLOW_EVERY_MS, TASKS_EVERY_MS } from './refresh.js';
import { framesTable, taskList } from './tasks-view.js';

/*
 * The dashboard page (specs/dashboard.md). It logs in by trading the one-time code in the URL
 * fragment for an HttpOnly cookie, then reads the same JSON routes as keeper and listens to the
 * task event stream. Bee memory changes without task events, so the colony is also polled.
 */

/** Sent on every request that changes something: the queen refuses cookie-authenticated writes without it (CSRF). */
const HEADERS = { 'content-type': 'application/json', 'x-apiary-dashboard': '1' };

interface State {
  session: DashboardSessionView | null;
  colony: ColonyView | null;
  recent: TaskView[];
  abandoned: TaskView[];
  frames: FrameSummary[];
  history: ColonyHistoryView | null;
  live: boolean;
}
const state: State = { session: null, colony: null, recent: [], abandoned: [], frames: [], history: null, live: false };
const opened = new Set<string>();
/** Tasks as GET /v1/tasks/:id answers them (with each attempt's output), for the rows shown open. */
const details = new Map<string, TaskView>();

class LoggedOut extends Error {}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = (await res.json().catch(() => null)) as { code?: string; message?: string } | null;
  if (res.status === 401) throw new LoggedOut(body?.message ?? 'not logged in');
  if (!res.ok) throw new Error(`${body?.code ?? res.status}: ${body?.message ?? res.statusText}`);
  return body as T;
}

/**
 * Trade a one-time code from the fragment for the session cookie; the code leaves the address bar
 * first. Answers why the login failed, or null.
 */
async function login(): Promise<string | null> {
  const m = /(?:^#|&)code=([^&]+)/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search);
  try {
    await api('/v1/dashboard/session', { method: 'POST', headers: HEADERS, body: JSON.stringify({ code: decodeURIComponent(m[1]!) }) });
    return null;
  } catch (e) {
    return `login failed: ${(e as Error).message}`;
  }
}

function showBanner(text: string): void {
  fill('banner', text);
  document.getElementById('banner')?.removeAttribute('hidden');
}

async function cancel(id: string): Promise<void> {
  try {
    await api(`/v1/tasks/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { 'x-apiary-dashboard': '1' } });
    await refreshTasks();
  } catch (e) {
    showBanner(`cancel ${id}: ${(e as Error).message}`);
  }
}

function render(): void {
  const now = Date.now();
  const c = state.colony;
  const s = state.session;
  fill(
    'session',
    s ? `read${s.canCancel ? ' + cancel' : ''}` : 'logged out',
    ' · ',
    state.live ? h('span', { id: 'live', class: 'ok' }, 'live') : h('span', { id: 'live', class: 'warn' }, 'reconnecting'),
  );
  if (!c) return;
  fill('queen', `queen pid ${c.queen.pid} · ${c.queen.state} · up ${Math.round((now - c.queen.startedAt) / 1000)} s`);
  fill('temperature', temperatureView(c.temperature));
  const samples = state.history?.samples ?? [];
  const every = (state.history?.intervalMs ?? SLOW_EVERY_MS) / 1000;
  fill(
    'queue',
    h('div', { class: 'nums' }, h('span', {}, 'queued ', h('b', { id: 'queued' }, c.queued)), h('span', {}, 'running ', h('b', { id: 'running' }, c.running))),
    h(
      'figure',
      {},
      chart(samples, (x) => x.queued, 'line', 'queue depth'),
      h('figcaption', {}, `queue depth, last ${Math.round((samples.length * every) / 60)} min`),
    ),
    h(
      'figure',
      {},
      chart(samples, (x) => x.finished, 'bars', 'tasks finished'),
      h('figcaption', {}, `tasks finished per ${every} s`),
    ),
  );
  fill('hives', hivesTable(c.hives, now));
  fill('bees', beeMap(c, beeFailures([...state.recent, ...state.abandoned]), now));
  const common = { opened, details, onOpen: (id: string) => void loadDetail(id) };
  fill('recent', taskList(state.recent, now, { ...common, canCancel: s?.canCancel ?? false, openAll: false, onCancel: (id) => void cancel(id) }));
  fill('abandoned', taskList(state.abandoned, now, { ...common, canCancel: false, openAll: true, onCancel: () => {} }));
  fill('frames', framesTable(state.frames));
}

async function refreshColony(): Promise<void> {
  state.colony = await api<ColonyView>('/v1/colony');
}
async function refreshTasks(): Promise<void> {
  const [r, a] = await Promise.all([api<{ tasks: TaskView[] }>('/v1/tasks?limit=50'), api<{ tasks: TaskView[] }>('/v1/tasks?state=abandoned&limit=20')]);
  state.recent = r.tasks;
  state.abandoned = a.tasks;
  // Details only for rows still listed and open; a changed task is fetched again.
  const shown = new Map([...r.tasks, ...a.tasks].map((t) => [t.id, t]));
  for (const [id, d] of details) if (shown.get(id)?.state !== d.state) details.delete(id);
  for (const t of a.tasks) if (!details.has(t.id)) void loadDetail(t.id);
  for (const id of opened) if (shown.has(id) && !details.has(id)) void loadDetail(id);
}
const loading = new Set<string>();
async function loadDetail(id: string): Promise<void> {
  if (loading.has(id)) return;
  loading.add(id);
  try {
    details.set(id, await api<TaskView>(`/v1/tasks/${encodeURIComponent(id)}`));
    render();
  } catch {
    // pruned or gone: the listed view stays
  } finally {
    loading.delete(id);
  }
}

async function refreshSlow(): Promise<void> {
  const [f, hist] = await Promise.all([api<{ frames: FrameSummary[] }>('/v1/frames'), api<ColonyHistoryView>('/v1/colony/history')]);
  state.frames = f.frames;
  state.history = hist;
}

/** Run `f` now and every `everyMs`, redrawing after each; stop everything when the session is gone. */
function every(everyMs: number, f: () => Promise<void>): void {
  const tick = async () => {
    try {
      await f();
      render();
    } catch (e) {
      if (e instanceof LoggedOut) return loggedOut(e.message);
      showBanner((e as Error).message);
    }
    setTimeout(tick, everyMs);
  };
  void tick();
}

function loggedOut(why: string): void {
  state.session = null;
  document.body.classList.add('logged-out');
  showBanner(`${why}. Run \`keeper dashboard\` and open the URL it prints.`);
  render();
}

/** Task events: refresh the task lists at most every EVENT_DEBOUNCE_MS however many events arrive. */
function listen(): void {
  let pending: ReturnType<typeof setTimeout> | null = null;
  const es = new EventSource('/v1/events');
  es.onopen = () => {
    state.live = true;
    render();
  };
  es.onerror = () => {
    state.live = false;
    render();
  };
  es.addEventListener('task', (m) => {
    const ev = JSON.parse((m as MessageEvent<string>).data) as TaskEvent;
    document.body.dataset.lastEvent = `${ev.id} ${ev.state}`;
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      refreshTasks().then(render, () => {});
    }, EVENT_DEBOUNCE_MS);
  });
}

async function main(): Promise<void> {
  const failed = await login();
  try {
    state.session = await api<DashboardSessionView>('/v1/dashboard/session');
  } catch (e) {
    // A failed login explains more than "no session" does.
    return loggedOut(failed ?? (e as Error).message);
  }
  document.body.classList.add('logged-in');
  listen();
  every(COLONY_EVERY_MS, refreshColony);
  every(TASKS_EVERY_MS, refreshTasks);
  every(SLOW_EVERY_MS, refreshSlow);
}

void main();
