import { temperatureFromBees } from '@apiary/behaviours';
import type { BeeStatus } from '@apiary/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ColonyTemperature } from '../src/colony-temperature.js';
import { HiveSession } from '../src/hives/hive-session.js';
import { HIVE_RESOURCES, hiveSocketPair } from './helpers/hive-socket-pair.js';

/** The temperature computed afresh, as the queen did on every call before ColonyTemperature: the oracle. */
function fresh(sessions: HiveSession[], schedulerQueued: number) {
  const bees = sessions.flatMap((s) => s.bees);
  const queued = schedulerQueued + sessions.reduce((n, s) => n + s.queued, 0);
  const host = Math.max(0, ...sessions.map((s) => (s.freeMemoryBytes > 0 ? 1 - s.freeMemoryBytes / s.resources.memoryBytes : 0)));
  const t = temperatureFromBees(bees, queued, { hostMemoryPressure: host });
  return { ...t, regulation: t.level === 'critical' ? 'refusing new tasks (COLONY_CRITICAL)' : t.level === 'hot' ? 'writes wait' : '' };
}

const bee = (id: number, hot: boolean): BeeStatus => ({
  id,
  pid: 100 + id,
  state: 'idle',
  taskId: null,
  rssBytes: hot ? 2.9e8 : 1e6,
  budgetBytes: 3e8,
  cpuPercent: hot ? 100 : 0,
  tasksRun: 0,
  restarts: 0,
});

describe('ColonyTemperature', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  async function session(id: string, bees: number): Promise<HiveSession> {
    const pair = await hiveSocketPair();
    closers.push(pair.close);
    return new HiveSession(id, { ...HIVE_RESOURCES, name: id, bees, cores: bees, memoryBytes: 4e9 }, pair.server);
  }

  // Every input the temperature depends on, changed one at a time between two asks: each answer must
  // equal a fresh computation (a memo that missed one of these would answer with the old value).
  it('answers exactly what a fresh computation gives after each change of its inputs, and reuses the answer while none changed', async () => {
    const memo = new ColonyTemperature();
    const a = await session('a', 2);
    const b = await session('b', 1);
    let sessions = [a];
    let queued = 0;
    const check = (what: string) => expect(memo.get(sessions, queued), what).toEqual(fresh(sessions, queued));

    check('no bees yet');
    a.bees = [bee(0, true), bee(1, true)]; // a heartbeat replaces the array
    a.queued = 40;
    check('heartbeat: both bees flat out, a long hive queue');
    expect(memo.get(sessions, queued).level).toBe('critical');
    // Asked again with nothing changed: the same object, nothing recomputed.
    expect(memo.get(sessions, queued)).toBe(memo.get(sessions, queued));
    a.bees = [bee(0, true), bee(1, false)];
    check('heartbeat: one bee idle');
    expect(memo.get(sessions, queued).level).not.toBe('critical');
    a.beeDone(1, 'exited'); // a task message marks a bee exited in place, between heartbeats
    check('the idle bee exited in place: only the busy one counts');
    expect(memo.get(sessions, queued).level).toBe('critical');
    a.queued = 0;
    check('the hive queue drained');
    queued = 7;
    check('tasks queued at the queen');
    a.freeMemoryBytes = 1e8;
    check('host memory low');
    sessions = [a, b];
    b.bees = [bee(0, false)];
    check('a second hive joined');
    sessions = [b];
    check('the first hive left');
    b.bees = [bee(0, true)];
    b.freeMemoryBytes = 2e9;
    check('its next heartbeat');
  });
});
