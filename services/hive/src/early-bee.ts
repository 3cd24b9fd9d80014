import { fork, type ChildProcess } from 'node:child_process';
import { beeFork, forkDifference, type BeeFork } from './bee-fork.js';

/*
 * A bee forked before its hive exists. A one-shot keeper forks its first bee at the very top of its
 * run (keeper/src/early-start.ts), before it loads zod, its config, the hive or the queen, so the
 * bee's own start-up overlaps all of that. The hive's chamber then adopts it (bee-process.ts
 * forkBee): the same child, IPC channel and pid, but only if the chamber would fork exactly the same
 * bee (module, execArgv with the heap cap, env, process group); otherwise it is killed and the
 * chamber forks its own. States: waiting (forked, no chamber yet) → adopted | discarded.
 * Until adopted, the bee's messages (its `ready`) are kept and replayed to the chamber; its stdout and
 * stderr wait in their pipes. It dies with the keeper as any bee dies with its hive: the hive's pid
 * in its env is the keeper's (the hive runs in the keeper), and the IPC channel is the keeper's.
 */

interface Early {
  spec: BeeFork;
  child: ChildProcess;
  state: 'waiting' | 'adopted' | 'discarded';
  /** Messages that came before a chamber listened (the bee's `ready`). */
  queued: unknown[];
  keep: (m: unknown) => void;
  /** Resolves once the process has exited and been reaped. */
  gone: Promise<void>;
}

let early: Early | null = null;
let note: (what: string) => void = () => undefined;
/** Set when the keeper is going away before its hive took over (an early Ctrl-C): no bee may be forked now. */
let closed = false;

/** Fork bee `id` now, as the chamber would fork it; its pid. `onNote` hears what becomes of it (a start trace). */
export function forkEarlyBee(id: number, budgetBytes: number, scratchDir: string, onNote?: (what: string) => void): number | undefined {
  if (early?.state === 'waiting') throw new Error('forkEarlyBee: an early bee is waiting for its chamber already');
  if (onNote) note = onNote;
  const spec = beeFork(id, budgetBytes, scratchDir);
  const child = fork(spec.modulePath, [], spec.options);
  const queued: unknown[] = [];
  const keep = (m: unknown) => queued.push(m);
  child.on('message', keep);
  // An 'error' with no listener would throw in the keeper; the chamber adds its own on adoption.
  child.on('error', () => undefined);
  const gone = new Promise<void>((resolve) => {
    if (child.pid === undefined) resolve();
    child.once('exit', () => resolve());
  });
  early = { spec, child, state: 'waiting', queued, keep, gone };
  // Whatever way the keeper leaves (process.exit from anywhere), a bee nobody adopted goes too.
  process.once('exit', () => {
    if (early?.state === 'waiting') killGroup(early.child);
  });
  return child.pid;
}

/**
 * The early bee, if it is the bee `want` describes and still alive: the chamber's from now on. A
 * bee forked differently (another budget, env or execArgv) is killed instead: never run with a
 * wrong seal. Synchronous, so the caller's listeners are on before any event of the child fires.
 */
export function adoptEarlyBee(want: BeeFork): ChildProcess | null {
  // Its fork would outlive the keeper, which is exiting without a cascade to stop it.
  if (closed) throw new Error('the keeper is exiting: no bee is forked');
  const e = early;
  if (e?.state !== 'waiting') return null;
  const why = e.child.exitCode !== null || e.child.signalCode !== null ? 'it exited' : forkDifference(e.spec, want);
  if (why) {
    note(`early bee not adopted (${why}), forking another`);
    void discardEarlyBee();
    return null;
  }
  e.state = 'adopted';
  e.child.off('message', e.keep);
  // After the caller's 'message' listener is on (it adds it in this same tick), before any new one.
  process.nextTick(() => {
    for (const m of e.queued.splice(0)) e.child.emit('message', m);
  });
  note(`early bee adopted (pid ${e.child.pid})`);
  return e.child;
}

/**
 * The keeper is going away before any hive could stop its bees (an early Ctrl-C): from now on no
 * chamber in this process forks a bee (forkBee throws), and an early bee nobody adopted is discarded.
 */
export function closeEarlyBees(): Promise<void> {
  closed = true;
  return discardEarlyBee();
}

/** Kill an early bee nobody adopted and wait until it is reaped; a no-op if there is none or it was adopted. */
export async function discardEarlyBee(): Promise<void> {
  const e = early;
  if (!e || e.state === 'adopted') return;
  if (e.state === 'waiting') {
    e.state = 'discarded';
    killGroup(e.child);
  }
  await e.gone;
}

/** The last early bee: its pid, state and how many of its messages wait for a chamber (for traces and tests). */
export function earlyBee(): { pid: number | undefined; state: Early['state']; queued: number } | null {
  return early && { pid: early.child.pid, state: early.state, queued: early.queued.length };
}

/** SIGKILL the bee's process group (it leads its own: detached), or the bee alone if that fails. */
function killGroup(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
