/**
 * APIARY_TRACE_START=1: one stderr line per step of a one-shot run's start and stop, in ms since the
 * keeper process began (Node's own start-up included), so the next person sees where the time goes.
 * Off by default: nothing is built or written.
 */
const ON = process.env.APIARY_TRACE_START === '1';

export function traceStart(step: string): void {
  if (ON) process.stderr.write(`keeper trace: +${performance.now().toFixed(0)} ms ${step}\n`);
}
