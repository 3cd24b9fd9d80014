import { STEPS, type StepEvent } from './provision.js';

const MARK = { run: '…', ok: '✓', fail: '✗' } as const;

/**
 * Per-host progress of `cluster up`: on a terminal, one line per host redrawn in place; elsewhere
 * (CI, pipes) one line per step change, so logs stay readable.
 */
export class ProgressView {
  readonly #rows = new Map<string, { step: string; state: keyof typeof MARK; detail: string; done: string[] }>();
  readonly #tty: boolean;
  #drawn = 0;

  /** `out`: stdout for cluster commands; stderr when stdout carries a query's result. */
  constructor(
    hosts: string[],
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.#tty = out.isTTY === true;
    for (const h of hosts) this.#rows.set(h, { step: 'waiting', state: 'run', detail: '', done: [] });
    if (this.#tty) this.#draw();
  }

  update(e: StepEvent): void {
    const r = this.#rows.get(e.host);
    if (!r) return;
    r.step = e.step;
    r.state = e.state;
    r.detail = e.detail ?? '';
    if (e.state === 'ok') r.done.push(e.step);
    if (this.#tty) this.#draw();
    else if (e.state !== 'run') this.out.write(`${e.host}: ${e.step} ${MARK[e.state]}${e.detail ? ` ${e.detail}` : ''}\n`);
  }

  #draw(): void {
    const width = Math.max(...[...this.#rows.keys()].map((h) => h.length));
    const lines = [...this.#rows].map(([h, r]) => {
      const steps = STEPS.map((s) => (r.done.includes(s) ? `${s} ✓` : s === r.step ? `${s} ${MARK[r.state]}` : ''))
        .filter(Boolean)
        .join('  ');
      return `${h.padEnd(width)}  ${steps}${r.detail && r.state === 'fail' ? `\n${' '.repeat(width + 2)}${r.detail}` : ''}`;
    });
    const text = lines.join('\n');
    if (this.#drawn > 0) this.out.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.out.write(text + '\n');
    this.#drawn = text.split('\n').length;
  }
}
