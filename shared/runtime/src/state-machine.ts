import type { Logger } from './logger.js';

/**
 * A small explicit state machine: the allowed transitions are data, every transition is logged,
 * and an illegal one throws, so lifecycle bugs surface where they happen instead of later.
 */
export class StateMachine<S extends string> {
  #state: S;
  readonly #allowed: Readonly<Record<S, readonly S[]>>;
  readonly #log: Logger;
  readonly #name: string;
  readonly #listeners = new Set<(to: S, from: S) => void>();

  constructor(name: string, initial: S, allowed: Readonly<Record<S, readonly S[]>>, log: Logger) {
    this.#name = name;
    this.#state = initial;
    this.#allowed = allowed;
    this.#log = log;
  }

  get state(): S {
    return this.#state;
  }

  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }

  can(to: S): boolean {
    return this.#allowed[this.#state].includes(to);
  }

  to(next: S, why?: string): void {
    const from = this.#state;
    if (from === next) return;
    this.#state = checkedTransition(this.#name, from, next, this.#allowed, this.#log, why);
    for (const l of this.#listeners) l(next, from);
  }

  onChange(l: (to: S, from: S) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
}

/**
 * One transition of a state kept elsewhere (a record's field, for things too many to give each a
 * StateMachine, like tasks): the same table, the same illegal-transition error and the same debug
 * line, built only when debug is on. Returns `to`.
 */
export function checkedTransition<S extends string>(name: string, from: S, to: S, allowed: Readonly<Record<S, readonly S[]>>, log: Logger, why?: string): S {
  if (from === to) return to;
  if (!allowed[from].includes(to)) throw new Error(`${name}: illegal transition ${from} → ${to}`);
  if (log.pino?.isLevelEnabled('debug') !== false) log.debug(`${name} ${from} → ${to}`, why ? { why } : undefined);
  return to;
}
