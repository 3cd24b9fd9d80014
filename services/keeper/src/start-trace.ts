/**
 * APIARY_TRACE_START=1: one stderr line per step of a one-shot run's start and stop, in ms since the
 * keeper process began (Node's own start-up included), and the CPU the keeper has used by then (all
 * its threads): on a loaded machine the wall times stretch, the CPU times much less, so the next
 * person sees where the time goes either way. Off by default: nothing is built or written.
 */
const ON = process.env.APIARY_TRACE_START === '1';

export function traceStart(step: string): void {
  if (!ON) return;
  const cpu = process.cpuUsage();
  process.stderr.write(`keeper trace: +${performance.now().toFixed(0)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms) ${step}\n`);
}
