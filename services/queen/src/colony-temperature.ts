import { temperatureFromBees } from '@apiary/behaviours';
import type { TemperatureView } from '@apiary/protocol';
import type { HiveSession } from './hives/hive-session.js';

/** What the temperature of a moment was computed from, compared field by field (no allocation). */
interface Inputs {
  sessions: HiveSession[];
  bees: HiveSession['bees'][];
  hiveQueued: number[];
  freeMemoryBytes: number[];
  /** Per bee, in session order: exited or not (task messages change bee states between heartbeats). */
  exited: boolean[];
  queued: number;
}

/**
 * The colony's temperature (T from every bee's CPU and memory, the hosts' memory and the queue:
 * queen's and hives'), recomputed only when one of its inputs changed.
 *
 * Every POST /v1/tasks asks it for admission, and between two heartbeats nothing it depends on
 * changes but the queue length; building it afresh each time (arrays of sessions and bees, the
 * temperature object) was a measurable part of a lone task's queen CPU. A heartbeat replaces a
 * session's `bees` array, so array identity tells a new sample; bee states are compared too, since
 * task messages mark a bee exited in place. The answer is exactly what a fresh computation gives.
 */
export class ColonyTemperature {
  #inputs: Inputs | null = null;
  #value: TemperatureView | null = null;

  get(sessions: Iterable<HiveSession>, schedulerQueued: number): TemperatureView {
    const list = [...sessions];
    if (this.#value && this.#same(list, schedulerQueued)) return this.#value;
    const bees = list.flatMap((s) => s.bees);
    const queued = schedulerQueued + list.reduce((n, s) => n + s.queued, 0);
    const host = Math.max(0, ...list.map((s) => (s.freeMemoryBytes > 0 ? 1 - s.freeMemoryBytes / s.resources.memoryBytes : 0)));
    const t = temperatureFromBees(bees, queued, { hostMemoryPressure: host });
    this.#inputs = {
      sessions: list,
      bees: list.map((s) => s.bees),
      hiveQueued: list.map((s) => s.queued),
      freeMemoryBytes: list.map((s) => s.freeMemoryBytes),
      exited: bees.map((b) => b.state === 'exited'),
      queued: schedulerQueued,
    };
    this.#value = Object.freeze({ ...t, regulation: t.level === 'critical' ? 'refusing new tasks (COLONY_CRITICAL)' : t.level === 'hot' ? 'writes wait' : '' });
    return this.#value;
  }

  #same(list: readonly HiveSession[], schedulerQueued: number): boolean {
    const k = this.#inputs!;
    if (k.queued !== schedulerQueued || k.sessions.length !== list.length) return false;
    let bee = 0;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s !== k.sessions[i] || s.bees !== k.bees[i] || s.queued !== k.hiveQueued[i] || s.freeMemoryBytes !== k.freeMemoryBytes[i]) return false;
      for (const b of s.bees) if ((b.state === 'exited') !== k.exited[bee++]) return false;
    }
    return bee === k.exited.length;
  }
}
