import { Counter, Gauge, type Registry } from 'prom-client';
import { BeeState, RESTART_REASONS, type BeeStatus, type RestartReason } from '@apiary/protocol';

/** What the colony gauges read at scrape time: the live registry, the scheduler and the stores. */
export interface ColonySource {
  hives(): Iterable<{ name: string; lastHeartbeatAt: number; bees: readonly BeeStatus[] }>;
  queued(): number;
  running(): number;
  temperature(): number;
  /** Bytes of the ledger database on disk (0 for an in-memory ledger). */
  ledgerBytes(): number;
  frames(): Iterable<{ name: string; bytes: number }>;
}

/**
 * Gauges computed when Prometheus scrapes, from state the queen keeps anyway: nothing on the hot
 * path. Series of a hive that left vanish at the next scrape (each collect starts from reset()),
 * so hive and bee labels stay bounded by what is connected now.
 */
export function colonyMetrics(register: Registry, src: ColonySource): void {
  const registers = [register];
  const simple = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  simple('apiary_tasks_queued', 'Tasks waiting in the queen for a hive.', () => src.queued());
  simple('apiary_tasks_running', 'Tasks assigned to hives and not finished.', () => src.running());
  simple('apiary_colony_temperature', 'Colony temperature T (0 cool … 1 critical) from bee CPU, memory and the queue.', () => src.temperature());
  simple('apiary_ledger_bytes', 'Size of the task ledger database on disk (with its write-ahead log).', () => src.ledgerBytes());

  simple('apiary_hives', 'Hives connected to the queen.', () => [...src.hives()].length);
  new Gauge({
    name: 'apiary_hive_heartbeat_age_seconds',
    help: 'Seconds since each hive was last heard from.',
    labelNames: ['hive'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const h of src.hives()) this.set({ hive: h.name }, Math.max(0, now - h.lastHeartbeatAt) / 1000);
    },
  });
  new Gauge({
    name: 'apiary_bees',
    help: 'Bees per hive and state.',
    labelNames: ['hive', 'state'],
    registers,
    collect() {
      this.reset();
      for (const h of src.hives()) {
        const counts = new Map<string, number>(BeeState.options.map((s) => [s, 0]));
        for (const b of h.bees) counts.set(b.state, (counts.get(b.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ hive: h.name, state }, n);
      }
    },
  });
  const perBee = (name: string, help: string, read: (b: BeeStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['hive', 'bee'],
      registers,
      collect() {
        this.reset();
        for (const h of src.hives()) for (const b of h.bees) this.set({ hive: h.name, bee: String(b.id) }, read(b));
      },
    });
  perBee('apiary_bee_rss_bytes', "RSS of each bee's whole process tree, as its hive last sampled it.", (b) => b.rssBytes);
  perBee('apiary_bee_budget_bytes', "Each bee's memory budget (its tree is killed above it).", (b) => b.budgetBytes);
  new Counter({
    name: 'apiary_bee_restarts_total',
    help: 'Bee replacements since its hive started, by reason (memory, timeout, cancel, crash).',
    labelNames: ['hive', 'bee', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const h of src.hives()) {
        for (const b of h.bees) {
          for (const [reason, n] of Object.entries(restartsByReason(b))) this.inc({ hive: h.name, bee: String(b.id), reason }, n);
        }
      }
    },
  });
  new Gauge({
    name: 'apiary_frame_bytes',
    help: 'Bytes of the current version of each frame.',
    labelNames: ['frame'],
    registers,
    collect() {
      this.reset();
      for (const f of src.frames()) this.set({ frame: f.name }, f.bytes);
    },
  });
}

/**
 * A bee's restarts split by reason. Hives of this version report the split (restartReasons); an
 * older hive reports only the total, which is counted as `crash` (the reason is unknown to us).
 */
export function restartsByReason(b: BeeStatus): Record<RestartReason, number> {
  const out: Record<RestartReason, number> = { memory: 0, timeout: 0, cancel: 0, crash: 0 };
  let explained = 0;
  for (const [reason, n] of Object.entries(b.restartReasons ?? {})) {
    // A reason this queen does not know is a crash to it: label values stay a closed set.
    out[(RESTART_REASONS as readonly string[]).includes(reason) ? (reason as RestartReason) : 'crash'] += n;
    explained += n;
  }
  if (b.restarts > explained) out.crash += b.restarts - explained;
  return out;
}
